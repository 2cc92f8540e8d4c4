"""Cram ("study more"): which items, in which order, answers that change no schedule, undo, filters, the CLI."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mi_prep.cli import main
from mi_prep.context import AppContext
from mi_prep.core import stats
from mi_prep.core.cram import AGAIN_GAP, CramSession, crammable, predicted_recall
from mi_prep.core.deck import load_decks
from mi_prep.core.scheduling import CardState, Rating, next_day_start
from mi_prep.core.session import ReviewSession, items_for
from mi_prep.core.store import open_store

T0 = datetime(2026, 6, 1, 9, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)
DAY = timedelta(days=1)


def make_deck(tmp_path: Path, n: int = 5, deck_id: str = "d") -> Path:
    lines = [f"id: {deck_id}", f"name: Deck {deck_id}", f"tags: [topic-{deck_id}]", "cards:"]
    for i in range(n):
        lines += [f"  - id: {deck_id}-c{i}", f"    front: question {i}", f"    back: answer {i}", "    source: s"]
    path = tmp_path / "decks" / f"{deck_id}.yaml"
    path.parent.mkdir(exist_ok=True)
    path.write_text("\n".join(lines) + "\n")
    return path


@pytest.fixture
def store(tmp_path):
    return open_store(tmp_path / "data")


def decks(tmp_path):
    return load_decks(tmp_path / "decks")


def good_an_hour_ago(store, *item_ids: str) -> None:
    """Answer Good an hour before T0: SM-2 makes them due tomorrow, so not due today."""
    for item_id in item_ids:
        store.answer(item_id, Rating.GOOD, T0 - HOUR)


def snapshot(store, item_ids):
    return {i: (store.state(i), store.replay_item(i), store.review_count(i)) for i in item_ids}


# ---- which items ---------------------------------------------------------------------------------


def test_queue_has_only_seen_available_items_not_due_today(tmp_path, store):
    make_deck(tmp_path, 6)
    good_an_hour_ago(store, "d-c1", "d-c3", "d-c4")
    store.answer("d-c2", Rating.GOOD, T0 - 2 * DAY)  # due yesterday: belongs to review
    store.suspend("d-c3", T0 - HOUR)
    store.bury("d-c4", T0 - HOUR, next_day_start(T0))
    store.answer("d-c5", Rating.AGAIN, T0 - HOUR)  # a learning step due today
    # d-c0 is new (never answered)
    s = CramSession(store, decks(tmp_path), T0)
    assert s.queue == ["d-c1"]
    assert s.next_item(T0).item_id == "d-c1"
    assert s.counts(T0).left == 1
    # the normal review queue has exactly the due ones: cram and review do not overlap
    review = ReviewSession(store, decks(tmp_path), T0)
    assert review.next_item(T0).item_id in ("d-c5", "d-c2")
    # the next day d-c1 is due: it leaves the cram queue (review takes it)
    assert s.next_item(T0 + DAY) is None
    assert s.why_empty(T0 + DAY) == "all-due"


def test_why_empty_names_the_reason(tmp_path, store):
    make_deck(tmp_path, 2)
    assert CramSession(store, decks(tmp_path), T0).why_empty(T0) == "nothing-seen"
    assert CramSession(store, decks(tmp_path), T0, deck_ids=["elsewhere"]).why_empty(T0) == "no-items"
    store.answer("d-c0", Rating.GOOD, T0 - 2 * DAY)
    assert CramSession(store, decks(tmp_path), T0).why_empty(T0) == "all-due"
    good_an_hour_ago(store, "d-c1")
    store.suspend("d-c1", T0 - HOUR)
    store.suspend("d-c0", T0 - HOUR)
    assert CramSession(store, decks(tmp_path), T0).why_empty(T0) == "unavailable"
    store.unsuspend("d-c1", T0)
    s = CramSession(store, decks(tmp_path), T0)
    s.answer(s.next_item(T0), Rating.GOOD, T0)
    assert s.next_item(T0) is None and s.why_empty(T0) == "finished"


# ---- order ---------------------------------------------------------------------------------------


def test_predicted_recall_is_the_fsrs_curve():
    last = T0 - 4 * DAY
    sm2 = CardState("x", scheduler="sm2", phase="review", interval=4, last_review=last, due=T0)
    assert predicted_recall(sm2, T0) == pytest.approx(0.9)
    assert predicted_recall(sm2, last) == pytest.approx(1.0)
    assert predicted_recall(sm2, T0 + 4 * DAY) == pytest.approx((1 + 19 / 81 * 2) ** -0.5)
    fsrs = CardState("y", scheduler="fsrs", phase="review", interval=30, stability=10.0, last_review=T0 - 10 * DAY)
    assert predicted_recall(fsrs, T0) == pytest.approx(0.9)  # stability, not the interval
    learning = CardState("z", phase="learning", interval=0, last_review=T0 - HOUR)
    # a 0-day interval counts as one minute (no division by 0): an hour later t/S = 60
    assert predicted_recall(learning, T0) == pytest.approx((1 + 19 / 81 * 60) ** -0.5)
    assert predicted_recall(CardState("w", phase="review", interval=3), T0) == 0.0


def test_weakest_first_and_soonest_due_by_default(tmp_path, store):
    make_deck(tmp_path, 3)
    store.answer("d-c0", Rating.GOOD, T0 - 5 * HOUR)  # S=1, t=5h: R 0.976, due at the next day's start
    store.answer("d-c1", Rating.GOOD, T0 - HOUR)  # S=1, t=1h: R 0.995, due in 23h
    store.answer("d-c2", Rating.EASY, T0 - 3 * DAY)
    store.answer("d-c2", Rating.EASY, T0 - 2 * DAY)  # S=6, t=2d: R 0.963, due in 4 days
    states = store.states()
    recall = {i: predicted_recall(states[i], T0) for i in states}
    assert recall["d-c2"] < recall["d-c0"] < recall["d-c1"]
    assert CramSession(store, decks(tmp_path), T0, weakest=True).queue == ["d-c2", "d-c0", "d-c1"]
    assert CramSession(store, decks(tmp_path), T0).queue == ["d-c0", "d-c1", "d-c2"]


def test_weakest_ties_more_lapses_then_lower_ease(tmp_path):
    make_deck(tmp_path, 4)
    items = items_for(decks(tmp_path))
    base = CardState("", phase="review", interval=5, last_review=T0 - DAY, due=T0 + 4 * DAY)
    states = {
        "d-c0": base.evolve(item_id="d-c0", lapses=0, ease=2.0),
        "d-c1": base.evolve(item_id="d-c1", lapses=2, ease=2.5),
        "d-c2": base.evolve(item_id="d-c2", lapses=0, ease=1.5),
        "d-c3": base.evolve(item_id="d-c3", lapses=2, ease=2.0),
    }
    assert [i.item_id for i in crammable(items, states, T0, weakest=True)] == ["d-c3", "d-c1", "d-c2", "d-c0"]


def test_weakest_puts_cards_failed_while_learning_first(tmp_path, store):
    """Answered minutes apart with the same interval, predicted recall ties; the card failed five
    times (no lapse yet: it was still learning) comes first."""
    make_deck(tmp_path, 3)
    store.answer("d-c0", Rating.GOOD, T0 - 2 * HOUR)
    for k in range(5):
        store.answer("d-c1", Rating.AGAIN, T0 - 2 * HOUR + timedelta(minutes=1 + k))
    store.answer("d-c1", Rating.GOOD, T0 - 2 * HOUR + timedelta(minutes=7))
    store.answer("d-c2", Rating.GOOD, T0 - 2 * HOUR + timedelta(minutes=8))
    assert store.state("d-c1").lapses == 0  # type: ignore[union-attr]
    assert store.again_counts() == {"d-c1": 5}
    assert CramSession(store, decks(tmp_path), T0, weakest=True).queue[0] == "d-c1"


# ---- answers -------------------------------------------------------------------------------------


def test_answers_log_cram_events_and_change_no_state_or_statistic(tmp_path, store):
    make_deck(tmp_path, 3)
    store.answer("d-c0", Rating.GOOD, T0 - 30 * DAY)
    store.answer("d-c0", Rating.AGAIN, T0 - 20 * DAY)  # a lapse in review: retention has something to count
    good_an_hour_ago(store, "d-c0", "d-c1", "d-c2")
    ds = decks(tmp_path)
    ids = ["d-c0", "d-c1", "d-c2"]
    before = snapshot(store, ids)
    reviews, today = store.reviews(), store.today_counts(T0)
    st = stats.compute(store, ds, T0)
    s = CramSession(store, ds, T0)
    for rating in (Rating.GOOD, Rating.HARD, Rating.EASY):
        item = s.next_item(T0)
        assert s.answer(item, rating, T0 + timedelta(minutes=1), elapsed_ms=1500) == before[item.item_id][0]
    assert snapshot(store, ids) == before
    crams = [r for r in store.log_rows() if r["kind"] == "cram"]
    assert [(r["source"], r["rating"], r["elapsed_ms"]) for r in crams] == [
        ("cram", 3, 1500),
        ("cram", 2, 1500),
        ("cram", 4, 1500),
    ]
    assert store.reviews() == reviews and store.today_counts(T0 + HOUR) == today
    after = stats.compute(store, ds, T0 + timedelta(minutes=2))
    assert (after.total_reviews, after.true_retention, after.young_retention) == (
        st.total_reviews,
        st.true_retention,
        st.young_retention,
    )
    assert [(t.reviews, t.passed) for t in after.topics] == [(t.reviews, t.passed) for t in st.topics]
    assert s.next_item(T0) is None and s.counts(T0).crammed == 3


def test_again_comes_back_a_few_cards_later_others_once(tmp_path, store):
    make_deck(tmp_path, 5)
    good_an_hour_ago(store, *(f"d-c{i}" for i in range(5)))
    s = CramSession(store, decks(tmp_path), T0)
    shown = []
    first = True
    while (item := s.next_item(T0)) is not None:
        shown.append(item.item_id)
        s.answer(item, Rating.AGAIN if first else Rating.GOOD, T0)
        first = False
    assert AGAIN_GAP == 3
    assert shown == ["d-c0", "d-c1", "d-c2", "d-c3", "d-c0", "d-c4"]
    c = s.counts(T0)
    assert (c.left, c.crammed, c.answers) == (0, 5, 6)


def test_undo_brings_the_item_back_and_only_undoes_this_session(tmp_path, store):
    make_deck(tmp_path, 3)
    good_an_hour_ago(store, "d-c0", "d-c1", "d-c2")
    earlier = CramSession(store, decks(tmp_path), T0)
    earlier.answer(earlier.next_item(T0), Rating.GOOD, T0)
    s = CramSession(store, decks(tmp_path), T0 + HOUR)
    assert s.undo(T0 + HOUR) is None  # nothing of this session: the earlier session's answer stays
    assert [r["kind"] for r in store.log_rows()][-1] == "cram"
    a = s.next_item(T0 + HOUR)
    s.answer(a, Rating.AGAIN, T0 + HOUR)
    b = s.next_item(T0 + HOUR)
    s.answer(b, Rating.GOOD, T0 + HOUR)
    assert s.undo(T0 + 2 * HOUR) == b
    assert s.next_item(T0 + 2 * HOUR) == b
    rows = store.log_rows()
    assert rows[-1]["kind"] == "undo" and rows[-1]["source"] == "cram" and rows[-1]["ref_id"] == rows[-2]["id"]
    assert s.counts(T0 + 2 * HOUR).crammed == 1
    assert s.undo(T0 + 2 * HOUR) == a  # the Again is undone too: a is next again, not a few cards later
    assert s.queue[0] == a.item_id and s.queue.count(a.item_id) == 1
    assert s.counts(T0 + 2 * HOUR).answers == 0
    assert s.undo(T0 + 2 * HOUR) is None
    assert store.state("d-c0") == store.replay_item("d-c0")
    assert len([r for r in store.log_rows() if r["kind"] == "undo"]) == 2


def test_choice_options_reshuffle_per_answer_and_return_after_undo(tmp_path, store):
    (tmp_path / "decks").mkdir()
    options = "\n".join(f"      - text: option {k}" + ("\n        correct: true" if k == 0 else "") for k in range(6))
    (tmp_path / "decks" / "c.yaml").write_text(
        f"id: c\nname: C\ncards:\n  - id: ch\n    type: choice\n    front: pick\n    options:\n{options}\n"
    )
    good_an_hour_ago(store, "ch")
    s = CramSession(store, decks(tmp_path), T0)
    item = s.next_item(T0)
    first = s.option_order(item)
    assert sorted(first) == list(range(6))
    s.answer(item, Rating.AGAIN, T0)
    assert s.option_order(item) != first
    s.undo(T0)
    assert s.option_order(item) == first


def test_deck_and_tag_filters(tmp_path, store):
    make_deck(tmp_path, 2, "d")
    make_deck(tmp_path, 2, "e")
    good_an_hour_ago(store, "d-c0", "d-c1", "e-c0", "e-c1")
    ds = decks(tmp_path)
    assert CramSession(store, ds, T0, deck_ids=["e"]).queue == ["e-c0", "e-c1"]
    assert CramSession(store, ds, T0, tags=["topic-d"]).queue == ["d-c0", "d-c1"]
    assert CramSession(store, ds, T0, deck_ids=["d"], tags=["topic-e"]).queue == []
    assert len(CramSession(store, ds, T0).queue) == 4


# ---- CLI -----------------------------------------------------------------------------------------

DECK = """\
id: demo
name: Demo
tags: [demo]
cards:
  - id: demo-a
    front: What does an induction head do?
    back: Finds an earlier copy of the current token and predicts what followed it.
  - id: demo-b
    type: choice
    front: Which layer holds the previous-token head?
    options:
      - text: An earlier layer
        correct: true
      - text: A later layer
"""


def run(tmp_path: Path, argv: list[str], stdin: str = "", now: datetime = T0) -> tuple[int, str]:
    out = io.StringIO()
    app = AppContext(tmp_path / "data", [tmp_path / "decks"], stdin=io.StringIO(stdin), stdout=out, clock=lambda: now)
    code = main(argv, app=app)
    return code, out.getvalue()


@pytest.fixture
def cli_decks(tmp_path):
    d = tmp_path / "decks"
    d.mkdir()
    (d / "demo.yaml").write_text(DECK)
    return d


def test_cli_cram_again_undo_and_nothing_rescheduled(tmp_path, cli_decks):
    code, out = run(tmp_path, ["cram"])
    assert code == 0 and "You have not reviewed any of these cards yet" in out and "Run `mi-prep review`" in out
    run(tmp_path, ["review"], stdin="\n3\n1\n\n")  # both answered Good: due tomorrow
    store = open_store(tmp_path / "data")
    before = store.states()
    later = T0 + HOUR
    preview = CramSession(store, decks(tmp_path), later)
    right = preview.option_order(preview.by_id["demo-b"]).index(0) + 1  # the right option's shown number
    store.close()
    # demo-a: Again; demo-b: pick 1, Enter takes the suggestion; demo-a comes back (after the only
    # other card), u undoes demo-b's answer: demo-b again, answered Easy; then demo-a: Good
    code, out = run(tmp_path, ["cram"], stdin=f"\n1\n{right}\n\nu\n{right}\n4\n\n3\n", now=later)
    assert code == 0, out
    assert "Cram: studying ahead: nothing here changes when cards are due." in out
    assert "1 Again (again soon)  2 Hard (done)  3 Good (done)  4 Easy (done)" in out
    assert "[cram · 2 left · 0 crammed]  Demo  (demo-a)" in out
    assert "logged: Again; it comes back a few cards later" in out
    assert "undone: demo-b" in out and f"Correct: {right}. An earlier layer" in out
    assert out.count("(demo-a)") == 3 and out.count("(demo-b)") == 2  # demo-a's second showing was undone
    assert "You have gone through every card here that is not due." in out
    assert "2 cards crammed; no card's schedule changed." in out
    store = open_store(tmp_path / "data")
    assert store.states() == before
    rows = store.log_rows()
    crams = [(r["item_id"], r["rating"]) for r in rows if r["kind"] == "cram"]
    assert crams == [("demo-a", 1), ("demo-b", 3), ("demo-b", 4), ("demo-a", 3)]
    assert [r["kind"] for r in rows].count("undo") == 1
    assert store.today_counts(later)["total"] == 2  # the two reviews only
    # tomorrow both are due: cram says review first
    code, out = run(tmp_path, ["cram", "--weakest"], now=T0 + DAY)
    assert code == 0 and "is due today: review those first" in out


def test_cli_cram_quit_and_unknown_scope(tmp_path, cli_decks):
    run(tmp_path, ["review"], stdin="\n3\n1\n\n")
    code, out = run(tmp_path, ["cram", "--deck", "nope"], now=T0 + HOUR)
    assert code == 2 and "unknown deck id(s): nope; known: demo" in out
    code, out = run(tmp_path, ["cram", "--tag", "zzz"], now=T0 + HOUR)
    assert code == 2 and "no card has the tag(s) zzz; tags in use: demo" in out
    code, out = run(tmp_path, ["cram", "--tag", "demo"], stdin="\n3\nq\n", now=T0 + HOUR)
    assert code == 0 and "1 card crammed" in out
