"""Property tests of scheduling through the Store: random mixed histories of every event kind, both
schedulers (and a switch between them mid-history), in real IANA zones across daylight-saving changes.

After every event: each item's stored state equals its replayed log, no exception escapes (no
OverflowError, no StorageError), due dates come after the last review, intervals stay within the cap,
and the streak and today's counts equal an independent model of the answers not undone (study days
start at 04:00 local time in the user's zone).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from mi_prep.core.scheduling import CardState, Rating, next_day_start
from mi_prep.core.scheduling.model import MAX_INTERVAL_DAYS
from mi_prep.core.store import Store
from mi_prep.core.today import streak

DST_CHANGES = {
    "Europe/Berlin": (date(2026, 3, 29), date(2026, 10, 25)),
    "America/New_York": (date(2026, 3, 8), date(2026, 11, 1)),
}
TRANSITIONS_UTC = {
    "Europe/Berlin": (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 10, 25, 1, tzinfo=UTC)),
    "America/New_York": (datetime(2026, 3, 8, 7, tzinfo=UTC), datetime(2026, 11, 1, 6, tzinfo=UTC)),
}
"""The instants the clocks change (02:00 -> 03:00 in spring, 03:00 -> 02:00 / 02:00 -> 01:00 in autumn)."""
ITEMS = ("a", "b", "r#rev", "z#c2")
OTHER = {"sm2": "fsrs", "fsrs": "sm2"}
KINDS = (
    ["answer"] * 6
    + ["undo"] * 2
    + ["suspend", "unsuspend", "bury", "boost", "undo_drill", "cram", "undo_cram", "boost_good", "switch"]
)


def local_day(dt: datetime, zone: ZoneInfo) -> date:
    """The study day (starting 04:00 local) ``dt`` falls on in ``zone``: the model's own definition."""
    return (dt.astimezone(zone) - timedelta(hours=4)).date()


@dataclass
class Ev:
    kind: str
    item: str
    source: str
    ts: datetime
    phase_before: str | None = None
    undone: bool = False


@dataclass
class Model:
    """What the test itself knows about the history: every event, which are undone, when answers were."""

    zone: ZoneInfo
    events: list[Ev] = field(default_factory=list)

    def live_answers(self, item: str | None = None) -> list[Ev]:
        return [e for e in self.events if e.kind == "answer" and not e.undone and item in (None, e.item)]

    def undo(self, source: str) -> Ev | None:
        for e in reversed(self.events):
            if e.source == source and not e.undone:
                e.undone = True
                return e
        return None

    def streak(self, now: datetime) -> int:
        days = {local_day(e.ts, self.zone) for e in self.live_answers()}
        day = local_day(now, self.zone)
        if day not in days:
            day -= timedelta(days=1)
        n = 0
        while day in days:
            n += 1
            day -= timedelta(days=1)
        return n

    def today(self, now: datetime) -> dict[str, int]:
        today = [e for e in self.live_answers() if local_day(e.ts, self.zone) == local_day(now, self.zone)]
        return {
            "new": sum(e.phase_before == "new" for e in today),
            "review": sum(e.phase_before == "review" for e in today),
            "total": len(today),
        }


class History:
    """Drives a Store and the Model side by side and checks them after every event."""

    def __init__(self, store: Store, model: Model, items: tuple[str, ...], cap: int) -> None:
        self.store, self.model, self.items, self.cap = store, model, items, cap

    def answer(self, item: str, rating: int, now: datetime) -> None:
        before = self.store.state(item)
        phase = before.phase if before is not None else "new"
        # independent: an item is new exactly when it has no answer that is not undone
        assert (phase == "new") == (not self.model.live_answers(item)), (item, before)
        after = self.store.answer(item, rating, now)
        self.model.events.append(Ev("answer", item, "review", now, phase))
        assert after.due is not None
        if after.scheduler == "sm2" and rating == Rating.AGAIN:  # a learning step is real time, DST or not
            assert after.due.astimezone(UTC) - now.astimezone(UTC) == timedelta(minutes=1), (now, after)
        if after.phase == "review":  # day intervals are calendar days in the zone
            zone = self.model.zone
            assert (local_day(after.due, zone) - local_day(now, zone)).days == round(after.interval), (now, after)

    def boost(self, item: str, now: datetime) -> None:
        self.store.boost(item, now, now + timedelta(days=1), source="drill")
        self.model.events.append(Ev("boost", item, "drill", now))

    def undo(self, source: str, now: datetime) -> None:
        expected = self.model.undo(source)
        undone = self.store.undo_last_event(now, source=source)
        if expected is None:
            assert undone is None
        else:
            assert undone is not None and undone.item_id == expected.item, (undone, expected)

    def check(self, now: datetime) -> None:
        for item in self.items:
            state = self.store.state(item)
            if state is None:  # never answered, or only crammed (cram changes no state)
                assert self.store.replay_item(item) == CardState(item, scheduler=self.store.scheduler_name)
                continue
            assert state == self.store.replay_item(item), item
            if state.due is not None and state.last_review is not None:
                assert state.due > state.last_review, state
            assert state.interval <= min(self.cap, MAX_INTERVAL_DAYS), state
            assert state.due is None or state.due.year < 9000, state
        assert streak(self.store, now) == self.model.streak(now)
        assert self.store.today_counts(now) == self.model.today(now)


@st.composite
def starts(draw) -> datetime:
    """A local time a few days before a DST change, often between 00:00 and 05:00, or minutes before it."""
    zone_name = draw(st.sampled_from(sorted(DST_CHANGES)))
    if draw(st.integers(0, 3)) == 0:
        instant = draw(st.sampled_from(TRANSITIONS_UTC[zone_name])) - timedelta(seconds=draw(st.integers(1, 900)))
        return instant.astimezone(ZoneInfo(zone_name))
    change = draw(st.sampled_from(DST_CHANGES[zone_name]))
    day = change - timedelta(days=draw(st.integers(0, 4)))
    hour = draw(st.sampled_from([0, 1, 2, 3, 3, 3, 4, 4, 5, 9, 14, 22, 23]))
    wall = datetime(day.year, day.month, day.day, hour, draw(st.integers(0, 59)), draw(st.integers(0, 59)))
    return wall.replace(tzinfo=ZoneInfo(zone_name)).astimezone(UTC).astimezone(ZoneInfo(zone_name))


steps = st.one_of(
    st.integers(30, 20 * 60),  # learning steps and same-session repeats
    st.integers(30, 20 * 60),
    st.integers(20 * 60, 8 * 3600),  # later the same day / across the night
    st.integers(8 * 3600, 3 * 86400),
    st.integers(3 * 86400, 40 * 86400),
    st.integers(1, 8).map(lambda d: d * 86400),  # the same time of day (in UTC) some days later
)
events = st.lists(
    st.tuples(st.sampled_from(KINDS), st.integers(0, 3), st.integers(1, 4), steps, st.integers(1, 20)),
    min_size=1,
    max_size=40,
)


def advance(now: datetime, seconds: int) -> datetime:
    """``seconds`` of real time later, in the same zone."""
    return (now.astimezone(UTC) + timedelta(seconds=seconds)).astimezone(now.tzinfo)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    start=starts(),
    scheduler=st.sampled_from(["sm2", "fsrs"]),
    n_items=st.integers(2, 4),
    cap=st.sampled_from([None, 1, 30, 3650]),
    leech=st.sampled_from([None, 0, 2]),
    evts=events,
)
def test_mixed_histories_replay_and_counts(start, scheduler, n_items, cap, leech, evts):
    store = Store(":memory:")
    store.set_config("scheduler", scheduler)
    if cap is not None:
        store.set_config("max-interval", cap)
    if leech is not None:
        store.set_config("leech-threshold", leech)
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    items = ITEMS[:n_items]
    h = History(store, Model(zone), items, cap if cap is not None else MAX_INTERVAL_DAYS)
    now = start
    for kind, idx, rating, step, rounds in evts:
        item = items[idx % n_items]
        if kind == "answer":
            h.answer(item, rating, now)
        elif kind == "undo":
            h.undo("review", now)
        elif kind == "suspend":
            store.suspend(item, now)
            h.model.events.append(Ev("suspend", item, "review", now))
        elif kind == "unsuspend":
            store.unsuspend(item, now)
            h.model.events.append(Ev("unsuspend", item, "review", now))
        elif kind == "bury":
            store.bury(item, now, next_day_start(now))
            h.model.events.append(Ev("bury", item, "review", now))
        elif kind == "boost":
            h.boost(item, now)
        elif kind == "undo_drill":
            h.undo("drill", now)
        elif kind == "cram":
            store.cram(item, rating, now)
            h.model.events.append(Ev("cram", item, "cram", now))
        elif kind == "undo_cram":
            h.undo("cram", now)
        elif kind == "boost_good":  # a drill boosts the item, the next day it is answered Good
            for _ in range(rounds):
                h.boost(item, now)
                now = advance(now, 86400)
                h.answer(item, Rating.GOOD, now)
                h.check(now)
        else:
            store.set_scheduler(OTHER[store.scheduler_name])
        h.check(now)
        now = advance(now, step)
        h.check(now)  # the same history seen later (streak and today's counts move with the clock)


@settings(max_examples=100, deadline=None)
@given(
    start=starts(),
    scheduler=st.sampled_from(["sm2", "fsrs"]),
    rounds=st.integers(16, 40),
    gaps=st.lists(st.integers(60, 2 * 86400), min_size=1, max_size=5),
    first=st.sampled_from([Rating.GOOD, Rating.EASY]),
)
def test_boost_then_good_rounds_never_overflow(start, scheduler, rounds, gaps, first):
    """The issue's report: 16 rounds of drill boost + Good raised OverflowError (SM-2 multiplied the
    interval every round until the due date passed the year 9999)."""
    store = Store(":memory:")
    store.set_config("scheduler", scheduler)
    now = start
    store.answer("a", first, now)
    for k in range(rounds):
        now = advance(now, gaps[k % len(gaps)])
        store.boost("a", now, now + timedelta(days=1), source="drill")
        now = advance(now, gaps[(k + 1) % len(gaps)])
        state = store.answer("a", Rating.GOOD, now)
        assert state.interval <= MAX_INTERVAL_DAYS
        assert state.due is not None and state.due > now
    assert store.state("a") == store.replay_item("a")
    store.set_scheduler(OTHER[scheduler])
    assert store.state("a") == store.replay_item("a")
    assert store.state("a").interval <= MAX_INTERVAL_DAYS


@settings(max_examples=100, deadline=None)
@given(
    start=starts(),
    evts=st.lists(st.tuples(st.sampled_from(["answer", "answer", "boost"]), st.integers(1, 4), steps), max_size=40),
)
def test_sm2_interval_grows_only_with_elapsed_time(start, evts):
    """SM-2 multiplies the time actually waited, not an interval cut short by a boost: an answer on a
    review card gives at most max(6, ceil(max(1, study days since the last review) * EF)) days."""
    store = Store(":memory:")
    zone = start.tzinfo
    assert isinstance(zone, ZoneInfo)
    now = start
    for kind, rating, step in evts:
        if kind == "boost":
            store.boost("a", now, now + timedelta(days=1), source="drill")
        else:
            before = store.state("a")
            after = store.answer("a", rating, now)
            if before is not None and before.phase == "review" and rating != Rating.AGAIN:
                assert before.last_review is not None
                waited = max(1, (local_day(now, zone) - local_day(before.last_review, zone)).days)
                assert after.interval <= max(6, math.ceil(round(waited * after.ease, 9))), (now, before, after)
        now = advance(now, step)
