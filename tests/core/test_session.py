"""Review session: queue order, daily limits, learning steps, undo/suspend/bury, edits keep history."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from mi_prep.core.deck import load_decks
from mi_prep.core.scheduling import Rating
from mi_prep.core.session import ReviewSession, interview_cap, items_for
from mi_prep.core.store import open_store
from mi_prep.core.today import due_by_deck, streak

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)


def make_deck(tmp_path: Path, n: int = 5, deck_id: str = "d", extra: str = "") -> Path:
    lines = [f"id: {deck_id}", f"name: Deck {deck_id}", "tags: [topic-" + deck_id + "]", "cards:"]
    for i in range(n):
        lines += [f"  - id: {deck_id}-c{i}", f"    front: question {i}", f"    back: answer {i}", "    source: s"]
    path = tmp_path / f"{deck_id}.yaml"
    path.write_text("\n".join(lines) + "\n" + extra)
    return path


def session(tmp_path, **kw):
    ds = load_decks(tmp_path)
    return ReviewSession(open_store(tmp_path / "data"), ds, T0, **kw)


def test_new_cards_in_file_order_and_answer_persists(tmp_path):
    make_deck(tmp_path, 3)
    s = session(tmp_path)
    item = s.next_item(T0)
    assert item.item_id == "d-c0"
    s.answer(item, Rating.GOOD, T0, elapsed_ms=500)
    assert s.store.state("d-c0").phase == "review"
    assert s.next_item(T0).item_id == "d-c1"
    c = s.counts(T0)
    assert (c.new, c.learning, c.review) == (2, 0, 0)


def test_daily_new_limit_counts_todays_answers(tmp_path):
    make_deck(tmp_path, 6)
    s = session(tmp_path, new_limit=2)
    for _ in range(2):
        s.answer(s.next_item(T0), Rating.GOOD, T0)
    assert s.next_item(T0) is None
    # a fresh session the same day (app restarted) still respects the limit
    s2 = session(tmp_path, new_limit=2)
    assert s2.next_item(T0 + timedelta(hours=1)) is None
    tomorrow = T0 + timedelta(days=1)
    # next day: the two reviews come first, then new cards again
    assert s2.next_item(tomorrow).item_id in ("d-c0", "d-c1")
    assert s2.counts(tomorrow).review == 2 and s2.counts(tomorrow).new == 2


def test_limits_from_config(tmp_path):
    make_deck(tmp_path, 30)
    store = open_store(tmp_path / "data")
    store.set_config("new-per-day", 3)
    s = ReviewSession(store, load_decks(tmp_path), T0)
    assert s.counts(T0).new == 3
    assert ReviewSession(open_store(tmp_path / "data2"), load_decks(tmp_path), T0).counts(T0).new == 20


def test_learning_card_comes_back_after_its_step(tmp_path):
    make_deck(tmp_path, 1)
    s = session(tmp_path)
    item = s.next_item(T0)
    s.answer(item, Rating.AGAIN, T0)
    # nothing else left: learn-ahead shows it early (like Anki's 20 minute window)
    assert s.next_item(T0).item_id == "d-c0"
    assert s.next_learning_due(T0) == T0 + timedelta(minutes=1)
    s2 = session(tmp_path, learn_ahead=timedelta(0))
    assert s2.next_item(T0) is None
    assert s2.next_item(T0 + timedelta(minutes=1)).item_id == "d-c0"


def test_learning_due_before_new(tmp_path):
    make_deck(tmp_path, 3)
    s = session(tmp_path)
    s.answer(s.next_item(T0), Rating.AGAIN, T0)
    assert s.next_item(T0).item_id == "d-c1"  # learning step not due yet: new card
    assert s.next_item(T0 + timedelta(minutes=2)).item_id == "d-c0"  # step due: it comes first


def test_suspend_bury_undo(tmp_path):
    make_deck(tmp_path, 3)
    s = session(tmp_path)
    first = s.next_item(T0)
    s.suspend(first, T0)
    assert s.next_item(T0).item_id == "d-c1"
    second = s.next_item(T0)
    s.bury(second, T0)
    assert s.next_item(T0).item_id == "d-c2"
    back = s.undo(T0)
    assert back.item_id == "d-c1" and s.next_item(T0).item_id == "d-c1"
    # buried cards return the next study day
    s.bury(second, T0)
    assert s.next_item(T0 + timedelta(days=1)).item_id == "d-c1"
    assert s.store.state("d-c0").suspended
    s.unsuspend(first, T0)
    assert not s.store.state("d-c0").suspended


def test_undo_answer_returns_card(tmp_path):
    make_deck(tmp_path, 2)
    s = session(tmp_path)
    item = s.next_item(T0)
    s.answer(item, Rating.EASY, T0)
    assert s.undo(T0).item_id == item.item_id
    assert s.next_item(T0).item_id == item.item_id
    assert s.store.today_counts(T0)["new"] == 0


def test_deck_and_tag_filters(tmp_path):
    make_deck(tmp_path, 2, "a")
    make_deck(tmp_path, 2, "b")
    s = session(tmp_path, deck_ids=["b"])
    assert s.next_item(T0).item_id == "b-c0"
    s = session(tmp_path, tags=["topic-a"])
    assert {i.deck.id for i in s.items} == {"a"}
    per = due_by_deck(s.store, s.deckset, T0)
    assert per["a"].new == 2 and per["b"].new == 2


def test_card_types_make_items(tmp_path):
    (tmp_path / "t.yaml").write_text(
        "id: t\nname: T\ncards:\n"
        "  - id: r\n    type: reverse\n    front: term\n    back: definition\n    source: s\n"
        "  - id: z\n    type: cloze\n    front: 'a {{c1::b}} c {{c2::d}}'\n    back: extra\n    source: s\n"
    )
    items = items_for(load_decks(tmp_path))
    assert [i.item_id for i in items] == ["r", "r#rev", "z#c1", "z#c2"]
    assert items[1].question() == "definition" and items[1].answer() == "term"
    assert items[3].question() == "a b c [...]"
    assert items[3].answer() == "a b c [d]\n\nextra"


def test_edited_and_removed_cards_keep_history(tmp_path):
    path = make_deck(tmp_path, 2)
    s = session(tmp_path)
    s.answer(s.next_item(T0), Rating.GOOD, T0)
    # edit the card's text and drop the other card
    path.write_text(
        "id: d\nname: Deck d\ncards:\n  - id: d-c0\n    front: reworded question\n    back: new answer\n    source: s\n"
    )
    s.reload(load_decks(tmp_path))
    assert s.store.state("d-c0").reps == 1
    assert s.next_item(T0) is None  # d-c0 not due yet; d-c1 is gone
    # put the removed card back: its (empty) history and the kept one are intact
    make_deck(tmp_path, 2)
    s.reload(load_decks(tmp_path))
    assert s.next_item(T0).item_id == "d-c1"
    assert len(s.store.log_rows("d-c0")) == 1


def test_interview_cap_limits_intervals(tmp_path):
    make_deck(tmp_path, 1)
    s = session(tmp_path)
    s.store.set_config("interview-date", "2026-06-05")
    assert interview_cap(s.store, T0) == 4
    now = T0
    for _ in range(3):
        item = s.next_item(now)
        cap = interview_cap(s.store, now)
        st = s.answer(item, Rating.EASY, now)
        assert cap is not None and st.interval <= cap
        now = st.due
    assert interview_cap(s.store, datetime(2026, 6, 5, 12, 0, tzinfo=T0.tzinfo)) == 1  # the day itself
    assert interview_cap(s.store, T0 + timedelta(days=30)) is None  # over: intervals grow again


def test_streak(tmp_path):
    make_deck(tmp_path, 5)
    s = session(tmp_path)
    for d in (0, 1, 2, 4):
        day = T0 + timedelta(days=d)
        s.store.answer(f"d-c{d}", Rating.GOOD, day)
    assert streak(s.store, T0 + timedelta(days=4)) == 1
    assert streak(s.store, T0 + timedelta(days=2)) == 3
    assert streak(s.store, T0 + timedelta(days=3, hours=1)) == 3  # nothing yet today: yesterday's streak stands
