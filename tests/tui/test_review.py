"""Review screen driven by Pilot on a fake clock: every step checked against the store."""

from __future__ import annotations

import asyncio

from textual.widgets import Button, Markdown, SelectionList, Static, TextArea

from mi_prep.core.scheduling import Rating
from mi_prep.tui.screens.home import HomeScreen
from mi_prep.tui.screens.review import ReviewScreen


def log(store, kind=None):
    rows = store.log_rows()
    return [r for r in rows if kind is None or r["kind"] == kind]


def md_text(screen, selector) -> str:
    return screen.query_one(selector, Markdown).source


async def start_review(app, pilot, key="r") -> ReviewScreen:
    await pilot.pause()
    await pilot.press(key)
    await pilot.pause()
    assert isinstance(app.screen, ReviewScreen)
    return app.screen


def test_full_review_reveal_answer_undo_suspend_bury(make_app, clock):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await start_review(app, pilot)
            store = app.store
            assert s.item.item_id == "residual-stream" and s.phase == "front"
            assert "residual stream" in md_text(s, "#question")
            assert "8" in str(s.query_one("#counts", Static).render())
            # reveal: answer shown, math kept as code, buttons carry the intervals
            await pilot.press("space")
            await pilot.pause()
            assert s.phase == "back"
            assert "`x_{l+1} = x_l + \\mathrm{attn}(x_l) + \\mathrm{mlp}(x_l)`" in md_text(s, "#answer")
            labels = [str(s.query_one(f"#rate-{r}", Button).label) for r in range(1, 5)]
            assert labels[0].startswith("1 Again") and labels[2].startswith("3 Good") and labels[2].endswith("1d")
            # each button in turn; the log grows by one review before the next card shows
            seen = []
            for n, key in enumerate(["1", "2", "3", "4"], 1):
                if s.phase == "front":
                    if s.item.card.type == "choice":
                        await pilot.press("1")
                    elif s.item.card.type == "explain":
                        await pilot.press("ctrl+s")
                    else:
                        await pilot.press("enter")
                    await pilot.pause()
                item = s.item
                seen.append(item.item_id)
                await pilot.press(key)
                await pilot.pause()
                reviews = log(store, "review")
                assert len(reviews) == n
                assert reviews[-1]["item_id"] == item.item_id and reviews[-1]["rating"] == int(key)
                assert store.state(item.item_id).phase != "new"
            assert seen[:2] == ["residual-stream", "qk-ov"]
            # undo: the last item comes back at its front, its state restored to new
            last = seen[-1]
            await pilot.press("u")
            await pilot.pause()
            assert s.item.item_id == last and s.phase == "front"
            assert store.state(last).phase == "new"
            assert log(store)[-1]["kind"] == "undo"
            # suspend, then bury
            await pilot.press("s")
            await pilot.pause()
            assert store.state(last).suspended and log(store)[-1]["kind"] == "suspend"
            assert s.item.item_id != last
            buried = s.item.item_id
            await pilot.press("b")
            await pilot.pause()
            assert store.state(buried).buried_until is not None and log(store)[-1]["kind"] == "bury"
            assert s.item is None or s.item.item_id != buried
            # escape goes home
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)

    asyncio.run(body())


def test_choice_card_shuffled_numbers_pick_letters_are_commands(make_app, clock):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await start_review(app, pilot)
            await pilot.press("space", "3")  # residual-stream: Good
            await pilot.pause()
            assert s.item.item_id == "qk-ov" and s.phase == "front"
            assert sorted(s.order) == [0, 1, 2]
            shown = md_text(s, "#options")
            assert "**1** — " in shown and "/ **a**" not in shown
            assert "`W_Q^T W_K`" in shown
            # options are shown in the shuffled order
            texts = [o.text for o in s.item.card.options]
            positions = [shown.index(t.split(",")[0]) for t in texts]
            assert sorted(range(3), key=lambda i: positions[i]) == s.order
            wrong_pos = next(p for p, i in enumerate(s.order, 1) if i != 0)
            await pilot.press(str(wrong_pos))
            await pilot.pause()
            assert s.phase == "back" and s.picked == s.order[wrong_pos - 1]
            verdict = str(s.query_one("#verdict", Static).render())
            assert f"Wrong: you chose {wrong_pos}" in verdict
            assert f"The answer is {s.order.index(0) + 1}" in verdict
            assert "OV decides what is moved" in verdict
            assert s.suggested == Rating.AGAIN
            assert str(s.query_one("#rate-1", Button).label).startswith("★ 1 Again")
            assert app.store.state("qk-ov") is None  # nothing written before the rating
            await pilot.press("enter")  # takes the suggestion
            await pilot.pause()
            row = log(app.store, "review")[-1]
            assert row["item_id"] == "qk-ov" and row["rating"] == 1

    asyncio.run(body())


def test_choice_b_buries_and_undo_reshows_the_same_order(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await start_review(app, pilot)
            await pilot.press("space", "3")
            await pilot.pause()
            assert s.item.item_id == "qk-ov"
            first = list(s.order)
            await pilot.press(str(first.index(0) + 1), "3")  # right, Good
            await pilot.pause()
            assert s.item.item_id == "induction-explain"  # its text box has the focus:
            await pilot.press("escape", "u")  # Esc leaves the box, u undoes: same review, same order
            await pilot.pause()
            assert s.item.item_id == "qk-ov" and s.order == first
            await pilot.press("b")  # b is Bury, as the footer says, not option B
            await pilot.pause()
            assert app.store.state("qk-ov").buried_until is not None
            assert log(app.store)[-1]["kind"] == "bury"

    asyncio.run(body())


def test_choice_order_changes_between_reviews():
    from mi_prep.core.session import option_order

    orders = {tuple(option_order("qk-ov", 4, n)) for n in range(12)}
    assert len(orders) > 3
    assert option_order("qk-ov", 4, 5) == option_order("qk-ov", 4, 5)
    firsts = [option_order(f"card-{i}", 4, 0)[0] for i in range(400)]
    assert all(60 < firsts.count(k) < 140 for k in range(4))  # the correct (deck-first) option moves


def test_choice_card_right_answer_by_number(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await start_review(app, pilot)
            await pilot.press("space", "3")
            await pilot.pause()
            await pilot.press(str(s.order.index(0) + 1))
            await pilot.pause()
            assert s.picked == 0 and "Correct" in str(s.query_one("#verdict", Static).render())
            assert s.suggested == Rating.GOOD

    asyncio.run(body())


def test_explain_card_typed_answer_key_points_and_grade(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await start_review(app, pilot)
            await pilot.press("space", "3")  # residual-stream
            await pilot.pause()
            await pilot.press(str(s.order.index(0) + 1), "3")  # qk-ov, right
            await pilot.pause()
            assert s.item.item_id == "induction-explain"
            area = s.query_one("#typed", TextArea)
            assert area.has_focus
            await pilot.press(*"a previous token head writes to the bus; the next one copies it")  # 'b', 's', 'u' too
            await pilot.pause()
            assert s.phase == "front" and len(app.store.log_rows()) == 2
            await pilot.press("ctrl+s")
            await pilot.pause()
            assert s.phase == "back"
            assert "Model answer" in md_text(s, "#answer")
            points = s.query_one("#points", SelectionList)
            assert sorted(points.selected) == [0, 2]  # previous-token and copy covered, K-composition not
            assert s.suggested == Rating.GOOD  # 2/3 covered
            points.select(1)  # the user ticks the third point
            await pilot.pause()
            assert s.suggested == Rating.EASY
            points.deselect_all()
            await pilot.pause()
            assert s.suggested == Rating.AGAIN
            await pilot.press("2")
            await pilot.pause()
            row = log(app.store, "review")[-1]
            assert row["item_id"] == "induction-explain" and row["rating"] == 2

    asyncio.run(body())


def test_cloze_front_hides_deletion_and_reverse(make_app, clock):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            home = app.screen
            table = home.query_one("#decks")
            table.move_cursor(row=1)  # Superposition
            await pilot.press("enter")
            await pilot.pause()
            s = app.screen
            assert isinstance(s, ReviewScreen) and s.deck_ids == ["superposition"]
            assert s.item.item_id == "sup-def#c1"
            q = md_text(s, "#question")
            assert "[...]" in q and "more features" not in q and "dimensions" in q
            await pilot.press("space")
            await pilot.pause()
            assert "[more features]" in md_text(s, "#answer")
            await pilot.press("3", "space")
            await pilot.pause()
            # its sibling c2 is buried for the day (it would give c1 away)
            assert s.item is None or s.item.card.id != "sup-def", s.item
            await pilot.press("escape")
            await pilot.pause()
            # c2 on its own: the c1 text is shown, its own deletion hidden
            clock.advance(days=1)
            app.store.suspend("sup-def#c1", clock())
            home.query_one("#decks").move_cursor(row=1)
            await pilot.press("enter")
            await pilot.pause()
            s = app.screen
            assert isinstance(s, ReviewScreen) and s.item.item_id == "sup-def#c2"
            assert "[...]" in md_text(s, "#question") and "more features" in md_text(s, "#question")

    asyncio.run(body())


def test_congratulations_with_next_learning_due(make_app, clock):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await start_review(app, pilot)
            from datetime import timedelta

            s.session.learn_ahead = timedelta(0)  # so the Again card is not shown early
            # answer everything: Again on the first card, Easy on the rest
            first = True
            while s.phase != "done":
                if s.phase == "front":
                    await pilot.press("ctrl+s" if s._is_explain() else "space")
                    await pilot.pause()
                await pilot.press("1" if first else "4")
                await pilot.pause()
                first = False
            text = str(s.query_one("#done-text", Static).render())
            assert "Congratulations" in text
            assert "next learning card is due in" in text
            assert s.query_one("#done").display and not s.query_one("#card-scroll").display
            # the learning card comes due: the panel gives way to it
            clock.advance(minutes=2)
            await s.poll_due()
            await pilot.pause()
            assert s.phase == "front" and s.item.item_id == "residual-stream"

    asyncio.run(body())


def test_edit_without_editor_notifies(make_app, monkeypatch):
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await start_review(app, pilot)
            await pilot.press("e")
            await pilot.pause()
            notes = [n.message for n in app._notifications]
            assert any("Set $EDITOR" in m and "circuits.yaml:" in m for m in notes)

    asyncio.run(body())


def test_edit_runs_editor_at_card_line(make_app, monkeypatch, tmp_path):
    calls = []
    monkeypatch.setenv("EDITOR", "myeditor --wait")
    monkeypatch.setattr("mi_prep.tui.editor.subprocess.run", lambda cmd, check: calls.append(cmd))

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await start_review(app, pilot)
            from contextlib import nullcontext

            monkeypatch.setattr(app, "suspend", lambda: nullcontext())
            await pilot.press("e")
            await pilot.pause()
            line = s.item.line
            assert calls == [["myeditor", "--wait", f"+{line}", str(s.item.deck.path)]]
            assert line == 6

    asyncio.run(body())


def test_card_info_shows_history(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await start_review(app, pilot)
            await pilot.press("space", "1")
            await pilot.pause()
            await pilot.press("i")  # residual-stream is shown again (learning) or another card
            await pilot.pause()
            from mi_prep.tui.screens.card_info import CardInfoScreen

            info = app.screen
            assert isinstance(info, CardInfoScreen)
            table = info.query_one("#info-history")
            item_id = info.item_id
            assert table.row_count == max(1, len(app.store.log_rows(item_id)))
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is s

    asyncio.run(body())
