"""One test per scheduling bug of issue #15 ("Scheduling you can trust"), through the real API (Store and
ReviewSession), in real IANA zones. Each test is named after the bug it pins down."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from mi_prep.core.deck import load_decks
from mi_prep.core.scheduling import Rating, study_day
from mi_prep.core.scheduling.model import MAX_INTERVAL_DAYS
from mi_prep.core.session import ReviewSession
from mi_prep.core.store import Store, open_store
from mi_prep.core.today import streak

BERLIN = ZoneInfo("Europe/Berlin")
NEW_YORK = ZoneInfo("America/New_York")
JUNE = datetime(2026, 6, 1, 10, 0, tzinfo=BERLIN)  # far from any DST change


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


def write_deck(tmp_path: Path, deck_id: str, n: int) -> None:
    lines = [f"id: {deck_id}", f"name: Deck {deck_id}", "cards:"]
    for i in range(n):
        lines += [f"  - id: {deck_id}-c{i}", f"    front: question {i}", f"    back: answer {i}", "    source: s"]
    (tmp_path / f"{deck_id}.yaml").write_text("\n".join(lines) + "\n")


def write_sibling_deck(tmp_path: Path) -> None:
    """A reverse card (items r, r#rev) and a cloze card (items z#c1, z#c2)."""
    (tmp_path / "s.yaml").write_text(
        "id: s\nname: Siblings\ncards:\n"
        "  - id: r\n    type: reverse\n    front: term\n    back: definition\n    source: s\n"
        "  - id: z\n    type: cloze\n    front: 'a {{c1::b}} c {{c2::d}}'\n    back: extra\n    source: s\n"
    )


def session(tmp_path: Path, now: datetime, **kw) -> ReviewSession:
    return ReviewSession(open_store(tmp_path / "data"), load_decks(tmp_path), now, **kw)


def graduate(store: Store, item: str, now: datetime, answers: int) -> datetime:
    """Answer Good ``answers`` times, each at the moment the item is due; returns the last answer's time."""
    for k in range(answers):
        if k:
            state = store.state(item)
            assert state is not None and state.due is not None
            now = state.due.astimezone(now.tzinfo)
        store.answer(item, Rating.GOOD, now)
    return now


# ---- SM-2 max interval and early reviews -------------------------------------------------------------


def test_sm2_boost_then_good_rounds_do_not_overflow():
    """16+ rounds of drill boost then Good raised OverflowError (the interval multiplied every round)."""
    store = Store(":memory:")
    now = JUNE
    store.answer("a", Rating.GOOD, now)
    for _ in range(30):
        store.boost("a", now, due=now + timedelta(days=1))
        now = now + timedelta(days=1)
        state = store.answer("a", Rating.GOOD, now)
        assert state.interval <= MAX_INTERVAL_DAYS
    assert store.state("a") == store.replay_item("a")


@pytest.mark.parametrize("scheduler", ["sm2", "fsrs"])
def test_max_interval_setting_caps_intervals(scheduler):
    store = Store(":memory:")
    store.set_config("scheduler", scheduler)
    store.set_config("max-interval", 30)
    graduate(store, "a", JUNE, 12)
    intervals = [r["interval_after"] for r in store.log_rows("a")]
    assert max(intervals) <= 30
    assert store.state("a").interval == 30
    assert store.state("a") == store.replay_item("a")


@pytest.mark.parametrize(
    ("boost_after", "answer_after", "elapsed_days"),
    [
        (timedelta(hours=12), timedelta(days=1), 1),  # answered before the boosted due date
        (timedelta(days=1), timedelta(days=2, hours=1), 2),  # answered just after the boosted due date
    ],
)
def test_early_review_after_boost_uses_elapsed_time(boost_after, answer_after, elapsed_days):
    """A boosted item answered Good 2 days after its last review gets about 2 * EF days, not 95 * EF."""
    store = Store(":memory:")
    last = graduate(store, "a", JUNE, 5)
    before = store.state("a")
    assert (before.phase, before.interval) == ("review", 95)
    store.boost("a", last + boost_after, due=last + boost_after + timedelta(days=1))
    after = store.answer("a", Rating.GOOD, last + answer_after)
    assert after.interval == math.ceil(elapsed_days * after.ease)
    assert after.interval < before.interval
    assert store.state("a") == store.replay_item("a")


# ---- undo after a drill boost; scheduler round trip --------------------------------------------------


def test_undo_after_drill_boost_rebuilds_from_log():
    store = Store(":memory:")
    graduate(store, "b", JUNE, 3)  # another card, untouched by the undo
    t = graduate(store, "a", JUNE, 2)  # interval 6, due t + 6 days
    early = t + timedelta(days=1)
    store.answer("a", Rating.GOOD, early)  # early review
    boosted = early + timedelta(hours=1, days=1)
    store.boost("a", early + timedelta(hours=1), due=boosted, source="drill")
    assert store.undo_last(early + timedelta(hours=2), source="review") == "a"
    state = store.state("a")
    assert state == store.replay_item("a")
    # without the undone answer the drill's boost still applies: due at the boosted time, not t + 6 days
    assert (state.interval, utc(state.due)) == (6, utc(boosted))
    before = store.states()
    store.set_scheduler("fsrs")
    store.set_scheduler("sm2")
    assert store.states() == before


# ---- streak and today's counts -----------------------------------------------------------------------


def test_streak_counts_undone_reviews():
    store = Store(":memory:")
    store.answer("a", Rating.GOOD, JUNE)
    store.undo_last(JUNE + timedelta(seconds=5))
    assert streak(store, JUNE + timedelta(seconds=10)) == 0
    assert store.today_counts(JUNE + timedelta(seconds=10))["total"] == 0
    # an answer kept yesterday still counts; today's undone one does not
    store.answer("b", Rating.GOOD, JUNE - timedelta(days=1))
    assert streak(store, JUNE + timedelta(seconds=10)) == 1


# ---- daylight saving time ----------------------------------------------------------------------------


def test_dst_bury_before_fall_back_lasts_until_4am(tmp_path):
    write_deck(tmp_path, "d", 1)
    now = datetime(2026, 10, 24, 23, 0, tzinfo=BERLIN)
    s = session(tmp_path, now)
    item = s.next_item(now)
    state = s.bury(item, now)
    assert utc(state.buried_until) == utc(datetime(2026, 10, 25, 4, 0, tzinfo=BERLIN))
    assert state.buried_until.astimezone(BERLIN).hour == 4
    assert s.next_item(datetime(2026, 10, 25, 3, 59, tzinfo=BERLIN)) is None
    assert s.next_item(datetime(2026, 10, 25, 4, 0, tzinfo=BERLIN)) == item


@pytest.mark.parametrize(
    "answered",
    [datetime(2026, 3, 28, 3, 30, tzinfo=BERLIN), datetime(2026, 10, 24, 3, 30, tzinfo=BERLIN)],
    ids=["spring-forward", "fall-back"],
)
@pytest.mark.parametrize(("scheduler", "rating"), [("sm2", Rating.GOOD), ("fsrs", Rating.EASY)])
def test_dst_day_interval_lands_on_the_right_study_day(answered, scheduler, rating):
    """A 1-day card answered at 03:30 the night before a change comes back the next study day (not the
    same one, not two later): day intervals are calendar days in the user's zone."""
    store = Store(":memory:")
    store.set_config("scheduler", scheduler)
    state = store.answer("a", rating, answered)
    assert state.phase == "review"
    days = round(state.interval)
    assert study_day(state.due, BERLIN) == study_day(answered) + timedelta(days=days)
    if scheduler == "sm2":
        assert days == 1
        assert state.due.astimezone(BERLIN).time() == answered.time()  # 03:30 exists on both nights
    assert store.state("a") == store.replay_item("a")


@pytest.mark.parametrize(
    ("zone", "first"), [(BERLIN, date(2026, 10, 22)), (NEW_YORK, date(2026, 10, 29))], ids=["Berlin", "New_York"]
)
def test_dst_streak_six_mornings_across_fall_back(zone, first):
    store = Store(":memory:")
    mornings = [datetime.combine(first + timedelta(days=k), datetime.min.time(), zone) for k in range(6)]
    mornings = [m.replace(hour=4, minute=30) for m in mornings]
    for k, morning in enumerate(mornings):
        store.answer(f"c{k}", Rating.GOOD, morning)
    last = mornings[-1]
    assert streak(store, last + timedelta(minutes=1)) == 6
    assert streak(store, last.replace(hour=23)) == 6
    assert store.today_counts(last + timedelta(minutes=1))["total"] == 1


@pytest.mark.parametrize("scheduler", ["sm2", "fsrs"])
def test_dst_again_step_at_fall_back_lasts_one_minute(tmp_path, scheduler):
    now = datetime(2026, 10, 25, 2, 59, 30, tzinfo=BERLIN, fold=0)  # CEST, 30 s before clocks go back
    assert now.utcoffset() == timedelta(hours=2)
    write_deck(tmp_path, "d", 1)
    s = session(tmp_path, now, learn_ahead=timedelta(0))
    s.store.set_config("scheduler", scheduler)
    item = s.next_item(now)
    state = s.answer(item, Rating.AGAIN, now)
    assert utc(state.due) - utc(now) == timedelta(seconds=60)
    assert s.store.state(item.item_id) == s.store.replay_item(item.item_id)
    later = (utc(now) + timedelta(seconds=59)).astimezone(BERLIN)  # 02:00:29 CET, after the change
    assert later.utcoffset() == timedelta(hours=1)
    assert s.next_item(later) is None
    assert s.next_item((utc(now) + timedelta(seconds=60)).astimezone(BERLIN)) == item


# ---- learn-ahead across the day boundary -------------------------------------------------------------


def test_learn_ahead_across_the_day_boundary(tmp_path):
    write_deck(tmp_path, "d", 1)
    now = datetime(2026, 6, 2, 3, 59, 30, tzinfo=BERLIN)
    s = session(tmp_path, now)
    item = s.next_item(now)
    state = s.answer(item, Rating.AGAIN, now)
    assert utc(state.due) == utc(datetime(2026, 6, 2, 4, 0, 30, tzinfo=BERLIN))
    assert s.next_item(datetime(2026, 6, 2, 3, 59, 45, tzinfo=BERLIN)) == item
    fresh = session(tmp_path, now)  # the app restarted: same answer
    assert fresh.next_item(datetime(2026, 6, 2, 3, 59, 45, tzinfo=BERLIN)) == item


# ---- review limit also stops new cards ---------------------------------------------------------------


@pytest.mark.parametrize("limit", [0, 2])
def test_review_limit_reached_stops_new_cards(tmp_path, limit):
    write_deck(tmp_path, "d", 6)
    s = session(tmp_path, JUNE)
    for _ in range(2):
        s.answer(s.next_item(JUNE), Rating.GOOD, JUNE)
    s.store.set_config("reviews-per-day", limit)
    day2 = JUNE + timedelta(days=1)
    s2 = session(tmp_path, day2)
    for _ in range(limit):
        item = s2.next_item(day2)
        assert item is not None and s2.state(item).phase == "review"
        s2.answer(item, Rating.GOOD, day2)
    assert s2.next_item(day2) is None  # 4 new cards left, but the day's review limit is reached
    assert s2.counts(day2).new == 0


# ---- siblings are not shown back to back -------------------------------------------------------------

PAIRS = ({"r", "r#rev"}, {"z#c1", "z#c2"})


def offered_today(s: ReviewSession, now: datetime, rating: Rating) -> list[str]:
    """Answer everything the session offers at ``now``; the item ids in order."""
    out: list[str] = []
    while (item := s.next_item(now)) is not None and len(out) < 10:
        out.append(item.item_id)
        s.answer(item, rating, now)
    return out


def test_siblings_new_cards_not_back_to_back(tmp_path):
    write_sibling_deck(tmp_path)
    s = session(tmp_path, JUNE)
    s.store.set_config("scheduler", "fsrs")  # Easy on a new card: due in days, so day 2 shows only the others
    day1 = offered_today(s, JUNE, Rating.EASY)
    assert [len(pair & set(day1)) for pair in PAIRS] == [1, 1], day1
    day2 = JUNE + timedelta(days=1)
    assert set(offered_today(session(tmp_path, day2), day2, Rating.EASY)) == set().union(*PAIRS) - set(day1)


def test_siblings_review_cards_not_back_to_back(tmp_path):
    write_sibling_deck(tmp_path)
    store = open_store(tmp_path / "data")
    for item in ("r", "r#rev", "z#c1", "z#c2"):  # all four review cards due on day 1
        store.answer(item, Rating.GOOD, JUNE - timedelta(days=1), card_id=item.split("#")[0])
    day1 = offered_today(session(tmp_path, JUNE), JUNE, Rating.GOOD)
    assert [len(pair & set(day1)) for pair in PAIRS] == [1, 1], day1
    day2 = JUNE + timedelta(days=1)
    assert set(offered_today(session(tmp_path, day2), day2, Rating.GOOD)) == set().union(*PAIRS) - set(day1)


def test_sibling_stays_hidden_after_restart(tmp_path):
    write_sibling_deck(tmp_path)
    s = session(tmp_path, JUNE)
    first = s.next_item(JUNE)
    s.answer(first, Rating.GOOD, JUNE)
    sibling = {"r": "r#rev", "r#rev": "r", "z#c1": "z#c2", "z#c2": "z#c1"}[first.item_id]
    later = JUNE + timedelta(hours=1)
    assert sibling not in offered_today(session(tmp_path, later), later, Rating.GOOD)


# ---- leeches -----------------------------------------------------------------------------------------


def lapse_cycles(store: Store, start: datetime, n: int, *, relearn_same_day: bool) -> list[tuple[int, bool]]:
    """From a review card: ``n`` times Again on the review card, then Good (1 minute later, or the next
    day); the next Again a day after that. Returns (lapses, leech) after each Again."""
    out = []
    now = start
    for _ in range(n):
        state = store.state("a")
        assert state is not None and state.phase == "review", state
        after = store.answer("a", Rating.AGAIN, now)
        assert after == store.state("a")
        out.append((after.lapses, after.leech))
        now = now + (timedelta(minutes=2) if relearn_same_day else timedelta(days=1))
        store.answer("a", Rating.GOOD, now)
        now = now + timedelta(days=1)
    return out


@pytest.mark.parametrize("scheduler", ["sm2", "fsrs"])
def test_leech_after_8_lapses_is_suspended(scheduler):
    store = Store(":memory:")
    store.set_config("scheduler", scheduler)
    store.answer("a", Rating.EASY, JUNE)
    history = lapse_cycles(store, JUNE + timedelta(days=2), 8, relearn_same_day=False)
    assert history == [(k, k == 8) for k in range(1, 9)]
    state = store.state("a")
    assert state.leech and state.suspended
    assert state == store.replay_item("a")


@pytest.mark.parametrize("scheduler", ["sm2", "fsrs"])
def test_leech_counts_lapses_relearned_the_same_day(scheduler):
    """The usual way: Again on a review card, relearned Good a minute later, forgotten again the next
    day. Every Again on a review-phase card is a lapse, so the 8th makes it a leech."""
    store = Store(":memory:")
    store.set_config("scheduler", scheduler)
    store.answer("a", Rating.EASY, JUNE)
    history = lapse_cycles(store, JUNE + timedelta(days=2), 8, relearn_same_day=True)
    assert [lapses for lapses, _ in history] == list(range(1, 9))
    assert store.state("a").leech and store.state("a").suspended
    assert store.state("a") == store.replay_item("a")


def test_leech_threshold_zero_disables():
    store = Store(":memory:")
    store.set_config("leech-threshold", 0)
    store.answer("a", Rating.GOOD, JUNE)
    history = lapse_cycles(store, JUNE + timedelta(days=2), 10, relearn_same_day=False)
    assert history[-1] == (10, False)
    assert not store.state("a").suspended
    assert store.state("a") == store.replay_item("a")


def test_leech_threshold_setting_is_respected():
    store = Store(":memory:")
    store.set_config("leech-threshold", 3)
    store.answer("a", Rating.GOOD, JUNE)
    history = lapse_cycles(store, JUNE + timedelta(days=2), 3, relearn_same_day=False)
    assert history == [(1, False), (2, False), (3, True)]
    assert store.state("a").suspended
    assert store.state("a") == store.replay_item("a")


# ---- undo across sessions ----------------------------------------------------------------------------


def test_undo_across_sessions_says_what_was_undone(tmp_path):
    write_deck(tmp_path, "a", 1)
    write_deck(tmp_path, "b", 1)
    sa = session(tmp_path, JUNE, deck_ids=["a"])
    sa.answer(sa.next_item(JUNE), Rating.GOOD, JUNE)
    sb = session(tmp_path, JUNE, deck_ids=["b"])
    undone = sb.undo(JUNE + timedelta(seconds=5))
    assert undone is not None
    assert undone.item_id == "a-c0"
    assert undone.item is None  # not in deck b's session
    assert "a-c0" in undone.description
    assert sb.store.review_count("a-c0") == 0


def test_undo_in_the_same_session_returns_the_item(tmp_path):
    write_deck(tmp_path, "a", 1)
    s = session(tmp_path, JUNE)
    item = s.next_item(JUNE)
    s.answer(item, Rating.GOOD, JUNE)
    undone = s.undo(JUNE + timedelta(seconds=5))
    assert undone is not None and undone.item == item and undone.item_id == "a-c0"
    assert "a-c0" in undone.description
    assert s.next_item(JUNE + timedelta(seconds=6)) == item


# ---- what the frontends say ----------------------------------------------------------------------------


def test_confirmation_repeats_the_button_even_when_the_clock_moves(tmp_path):
    """The CLI used to read the clock again after saving: "next in ..." must be the button's words."""
    import io

    from mi_prep.cli import main
    from mi_prep.context import AppContext

    write_deck(tmp_path, "a", 2)
    ticks = iter(range(10_000))

    def clock() -> datetime:  # 7 minutes pass between any two readings
        return JUNE + timedelta(minutes=7 * next(ticks))

    out = io.StringIO()
    app = AppContext(tmp_path / "data", [tmp_path], stdin=io.StringIO("\n2\n\n3\n"), stdout=out, clock=clock)
    assert main(["review"], app=app) == 0
    text = out.getvalue()
    assert "2 Hard (10m)" in text and "saved: Hard; next in 10m" in text
    assert "3 Good (1d)" in text and "saved: Good; next in 1d" in text


def test_cli_undo_names_an_answer_given_in_another_deck(tmp_path):
    import io

    from mi_prep.cli import main
    from mi_prep.context import AppContext

    write_deck(tmp_path, "a", 1)
    write_deck(tmp_path, "b", 1)

    def run(argv: list[str], stdin: str) -> str:
        out = io.StringIO()
        app = AppContext(tmp_path / "data", [tmp_path], stdin=io.StringIO(stdin), stdout=out, clock=lambda: JUNE)
        assert main(argv, app=app) == 0
        return out.getvalue()

    run(["review", "--deck", "a"], "\n3\n")
    out = run(["review", "--deck", "b"], "u\nq\n")
    assert "nothing to undo" not in out
    assert "Undid the answer (Good) to card a-c0 (deck Deck a) (not in this session's decks)" in out
    assert open_store(tmp_path / "data").state("a-c0").phase == "new"  # type: ignore[union-attr]


def test_interview_days_count_study_days_before_4am(tmp_path):
    """At 03:00 it is still yesterday's study day: the cap and Home agree on the days left."""
    from mi_prep.core.session import interview_cap

    store = open_store(tmp_path / "data")
    store.set_config("interview-date", "2026-06-10")
    assert interview_cap(store, datetime(2026, 6, 5, 3, 0, tzinfo=BERLIN)) == 6.0  # study day 06-04
    assert interview_cap(store, datetime(2026, 6, 5, 5, 0, tzinfo=BERLIN)) == 5.0


def test_a_leech_shows_in_browse_and_stats(tmp_path):
    from mi_prep.core.browse import BrowseFilter, state_label
    from mi_prep.core.session import items_for
    from mi_prep.core.stats import compute

    write_deck(tmp_path, "a", 2)
    store = open_store(tmp_path / "data")
    store.set_config("leech-threshold", 2)
    now = graduate(store, "a-c0", JUNE, 2)
    for _ in range(2):  # lapse, relearn, come back due, lapse again
        now = now + timedelta(days=10)
        store.answer("a-c0", Rating.AGAIN, now)
        now += timedelta(minutes=2)
        store.answer("a-c0", Rating.GOOD, now)
    state = store.state("a-c0")
    assert state is not None and state.leech and state.suspended and state.lapses == 2
    assert state_label(state, now) == "leech"
    decks = load_decks(tmp_path)
    [item] = [i for i in items_for(decks) if i.item_id == "a-c0"]
    assert BrowseFilter(query="leech").matches(item, state, now)
    assert BrowseFilter(state="leech").matches(item, state, now)
    assert compute(store, decks, now).leeches == 1
    store.unsuspend("a-c0", now)
    assert compute(store, decks, now).leeches == 0 and BrowseFilter(query="leech").matches(
        item, store.state("a-c0"), now
    )


def test_a_lab_failed_many_times_is_not_a_leech():
    """Labs are rated from a fresh run's score; failing one 8 times must not suspend it."""
    store = Store(":memory:")
    store.apply_rating("lab:x", Rating.GOOD, JUNE)
    for k in range(10):
        when = JUNE + timedelta(days=3 * (k + 1))
        store.apply_rating("lab:x", Rating.AGAIN, when)
        store.apply_rating("lab:x", Rating.GOOD, when + timedelta(days=1, hours=1))
    state = store.state("lab:x")
    assert state is not None and state.lapses >= 8 and not state.leech and not state.suspended
    assert store.replay_item("lab:x") == state


def test_buttons_show_the_interval_the_max_interval_setting_allows(tmp_path):
    """The preview used to ignore max-interval: 'Good 15d' was shown and 10 days saved."""
    write_deck(tmp_path, "a", 1)
    s = session(tmp_path, JUNE)
    s.store.set_config("max-interval", 10)
    now = graduate(s.store, "a-c0", JUNE, 2)  # interval 6
    s = session(tmp_path, now + timedelta(days=6))
    [item] = s.items
    when = now + timedelta(days=6)
    shown = s.preview(item, when)
    saved = s.answer(item, Rating.GOOD, when)
    assert shown[Rating.GOOD] == timedelta(days=10) and saved.interval == 10


def test_a_past_interview_date_caps_nothing(tmp_path):
    from mi_prep.core.session import interval_limit, interview_cap
    from mi_prep.core.settings import saved_note

    store = open_store(tmp_path / "data")
    store.set_config("interview-date", "2026-05-01")
    assert interview_cap(store, JUNE) is None and interval_limit(store, JUNE) == MAX_INTERVAL_DAYS
    assert saved_note("interview-date", "2026-05-01", study_day(JUNE)) is not None
    assert saved_note("interview-date", "2026-07-01", study_day(JUNE)) is None


def test_siblings_held_back_today_show_as_buried_and_leave_the_deck_counts(tmp_path):
    from mi_prep.core.browse import state_label
    from mi_prep.core.today import due_by_deck, states_as_shown

    write_sibling_deck(tmp_path)
    s = session(tmp_path, JUNE)
    first = s.next_item(JUNE)
    assert first is not None
    s.answer(first, Rating.GOOD, JUNE)
    decks = load_decks(tmp_path)
    shown = states_as_shown(s.store, s.items, s.store.states(), JUNE)
    sibling = next(i for i in s.items if i.card.id == first.card.id and i.item_id != first.item_id)
    assert state_label(shown[sibling.item_id], JUNE) == "buried"
    assert due_by_deck(s.store, decks, JUNE)["s"].new == s.counts(JUNE).new
