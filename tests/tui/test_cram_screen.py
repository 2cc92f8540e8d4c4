"""Cram screen driven by Pilot on a fake clock: cards not due, weakest first, answers that reschedule nothing."""

from __future__ import annotations

import asyncio
from datetime import timedelta

from textual.widgets import Button, Static

from mi_prep.tui.screens.cram import CramScreen
from mi_prep.tui.screens.home import HomeScreen


def seed(store, clock) -> None:
    """Seen and not due: four answered Good an hour ago, sup-def#c1 three hours ago (the weakest).
    Not crammable: attn-code (due today), sae-def (a learning step), sup-def#c2 (new)."""
    hour = timedelta(hours=1)
    store.answer("attn-code", 3, clock.t - timedelta(days=3))
    store.answer("sup-def#c1", 3, clock.t - 3 * hour, card_id="sup-def")
    for item_id in ("residual-stream", "qk-ov", "induction-explain", "sae-def#rev"):
        store.answer(item_id, 3, clock.t - hour, card_id=item_id.split("#")[0])
    store.answer("sae-def", 1, clock.t - hour)


async def reveal(s: CramScreen, pilot) -> None:
    assert s.phase == "front"
    card_type = s.item.card.type
    if card_type == "choice":
        await pilot.press(str(s.order.index(s.item.card.correct_index) + 1))  # the right option
    elif card_type == "explain" and s.item.variant == "front":
        await pilot.press("ctrl+s")
    else:
        await pilot.press("space")
    await pilot.pause()
    assert s.phase == "back"


def labels(s: CramScreen) -> list[str]:
    return [str(s.query_one(f"#rate-{r}", Button).label) for r in range(1, 5)]


def test_cram_journey_weakest_first_again_undo_done_nothing_rescheduled(make_app, clock, screen_text):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            store = app.store
            seed(store, clock)
            before, reviews = store.states(), store.reviews()
            await pilot.pause()
            app.push_screen(CramScreen())
            await pilot.pause()
            s = app.screen
            assert isinstance(s, CramScreen)
            assert s.item.item_id == "sup-def#c1" and s.phase == "front"
            counts = str(s.query_one("#counts", Static).render())
            assert "Cram" in counts and "5 left" in counts and "weakest first" in counts
            # the weakest card: Again; the buttons say what an answer does here, no intervals
            clock.advance(seconds=20)
            await reveal(s, pilot)
            assert labels(s) == ["1 Again  again soon", "2 Hard  done", "3 Good  done", "4 Easy  done"]
            await pilot.press("1")
            await pilot.pause()
            assert s.item.item_id == "residual-stream"
            assert "back in a few cards" in str(s.query_one("#last-answer", Static).render())
            # Good, then undo: the card comes back at its front and the cram event is cancelled
            await reveal(s, pilot)
            await pilot.press("3")
            await pilot.pause()
            assert s.item.item_id == "qk-ov"
            await pilot.press("u")
            await pilot.pause()
            assert s.item.item_id == "residual-stream" and s.phase == "front"
            rows = store.log_rows()
            assert rows[-1]["kind"] == "undo" and rows[-1]["source"] == "cram"
            # every other card once; the Again card after three others
            shown = []
            while s.phase == "front":
                shown.append(s.item.item_id)
                await reveal(s, pilot)
                await pilot.press("enter" if s.item.card.type == "choice" else "3")  # choice: the suggestion
                await pilot.pause()
            assert shown == ["residual-stream", "qk-ov", "induction-explain", "sup-def#c1", "sae-def#rev"]
            assert s.phase == "done"
            done = str(s.query_one("#done-text", Static).render())
            assert "You crammed 5 cards." in done and "Schedules are unchanged" in done
            assert "0 left" in str(s.query_one("#counts", Static).render())
            assert "You crammed 5 cards." in screen_text(app)
            # nothing was rescheduled, nothing counts as a review
            assert store.states() == before and store.reviews() == reviews
            crams = [r for r in store.log_rows() if r["kind"] == "cram"]
            assert len(crams) == 7 and {r["rating"] for r in crams} == {1, 3}
            assert all(store.state(i) == store.replay_item(i) for i in before)
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)

    asyncio.run(body())


def test_cram_screen_explains_an_empty_queue_and_filters_by_deck(make_app, clock):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            app.push_screen(CramScreen(deck_ids=["circuits"], weakest=False))
            await pilot.pause()
            s = app.screen
            assert s.phase == "done"
            done = str(s.query_one("#done-text", Static).render())
            assert "Nothing to cram" in done and "You have not reviewed any of these cards yet" in done
            await pilot.press("u")  # nothing to undo: stays on the panel
            await pilot.pause()
            assert s.phase == "done"
            await pilot.press("escape")
            await pilot.pause()
            seed(app.store, clock)
            app.push_screen(CramScreen(deck_ids=["superposition"], weakest=False))
            await pilot.pause()
            s = app.screen
            # soonest due first: sae-def#rev (due in 23h) comes after sup-def#c1 (due in 21h)
            assert s.session.queue == ["sup-def#c1", "sae-def#rev"]
            assert "soonest due first" in str(s.query_one("#counts", Static).render())

    asyncio.run(body())
