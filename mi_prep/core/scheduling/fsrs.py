"""FSRS as an option, through the ``fsrs`` package (py-fsrs), behind the shared Scheduler interface.

* Datetimes are converted to UTC before they reach py-fsrs (it requires UTC).
* Fuzzing is off: py-fsrs fuzzes with the global ``random`` module, and core code must
  not depend on hidden global RNG state; replaying the log must give the same state.
* ``max_interval`` (interview date) maps to py-fsrs's ``maximum_interval``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from functools import lru_cache

import fsrs as _fsrs

from mi_prep.core.scheduling.model import CardState, Rating, interval_cap
from mi_prep.core.scheduling.time import after_days, aware

_STATE_TO_PHASE = {_fsrs.State.Learning: "learning", _fsrs.State.Review: "review", _fsrs.State.Relearning: "relearning"}
_PHASE_TO_STATE = {
    "new": _fsrs.State.Learning,
    "learning": _fsrs.State.Learning,
    "review": _fsrs.State.Review,
    "relearning": _fsrs.State.Relearning,
}


@lru_cache(maxsize=64)
def _scheduler(max_days: int, desired_retention: float) -> _fsrs.Scheduler:
    return _fsrs.Scheduler(desired_retention=desired_retention, maximum_interval=max_days, enable_fuzzing=False)


class FSRSScheduler:
    name = "fsrs"

    def __init__(self, desired_retention: float = 0.9) -> None:
        self.desired_retention = desired_retention

    def review(
        self, state: CardState, rating: Rating, now: datetime, *, max_interval: float | None = None
    ) -> CardState:
        aware(now)
        utc_now = now.astimezone(UTC)
        max_days = interval_cap(max_interval)
        sched = _scheduler(max_days, self.desired_retention)
        fresh = state.phase == "new" or state.stability is None
        card = _fsrs.Card(
            card_id=1,
            state=_PHASE_TO_STATE[state.phase] if not fresh else _fsrs.State.Learning,
            step=(state.step if state.phase in ("learning", "relearning") else None) if not fresh else 0,
            stability=None if fresh else state.stability,
            difficulty=None if fresh else state.difficulty,
            due=(state.due or utc_now).astimezone(UTC),
            last_review=None if fresh or state.last_review is None else state.last_review.astimezone(UTC),
        )
        if card.state == _fsrs.State.Review:
            card.step = None
        new, _log = sched.review_card(card, _fsrs.Rating(int(rating)), utc_now)
        lapsed = state.phase == "review" and Rating(rating) == Rating.AGAIN
        due = new.due
        if new.state == _fsrs.State.Review:  # whole days: calendar days in the answer's zone (DST-safe)
            due = after_days(now, round((new.due - utc_now).total_seconds() / 86400))
        return state.evolve(
            scheduler="fsrs",
            phase=_STATE_TO_PHASE[new.state],
            due=due,
            interval=round((new.due - utc_now).total_seconds() / 86400, 6),  # as py-fsrs scheduled it
            reps=state.reps + (0 if Rating(rating) == Rating.AGAIN else 1),
            lapses=state.lapses + (1 if lapsed else 0),
            last_review=utc_now,
            step=new.step or 0,
            stability=new.stability,
            difficulty=new.difficulty,
        )
