"""SM-2, as P. A. Wozniak described it in 1990 ("Optimization of learning", SuperMemo 2).

The algorithm, per item:

1. Start with E-Factor EF = 2.5.
2. Grade each recall with quality q in 0..5.
3. If q >= 3 the repetition number n goes up by one and the next interval is
   I(1) = 1 day, I(2) = 6 days, I(n) = I(n-1) * EF for n > 2.
4. After each graded repetition EF' = EF + (0.1 - (5 - q) * (0.08 + (5 - q) * 0.02)),
   never below 1.3.
5. If q < 3 the item starts again from I(1) (n = 0) as if new.
6. At the end of a day's session, items that scored below 4 are repeated until they score 4.

Choices this implementation makes where the description leaves room (all tested):

* **EF on failure**: unchanged. Wozniak's step 6 says failed items restart "without changing
  the E-Factor"; so a q < 3 answer resets n and the interval but leaves EF as it was.
* **Which EF sets the interval**: the updated one (step 5 runs before the next interval is
  computed), so a q = 3 answer both lowers EF and uses the lower EF.
* **Rounding**: intervals are whole days, rounded *up* (``ceil(I(n-1) * EF)``), as the 1990
  text asks for fractional intervals. The stored I(n-1) is the rounded value.
* **Same-day repeats (the learning queue)**: an answer with q < 4 puts the item in the
  learning queue: it comes back after a short step (1 minute after Again, 10 minutes after
  Hard) the same day. Those repeats are drills: they change neither EF nor n nor the
  interval. When the item finally scores >= 4 it leaves the queue and is due ``interval``
  days later. A learning item not repeated until a later study day (see
  :func:`mi_prep.core.scheduling.time.study_day`) is graded normally again, because the day's
  session it belonged to is over.
* **Lapses**: a q < 3 answer on an item that had been learned (n > 0, or back in the review phase
  after relearning, where n restarted at 0) counts one lapse.
* **Interval cap**: intervals never exceed ``max_interval`` (the ``max-interval`` setting, 100 years by
  default as in Anki, or the days left to an interview date when fewer); n and EF evolve as usual.
* **Early reviews** (a drill made the item due before its interval ran out): I(n) is computed from
  the time that actually elapsed since the last review (in whole study days, at least 1) when that is
  shorter than the scheduled I(n-1); an item reviewed early cannot multiply an interval it has not
  waited out.
* **Time**: steps are real durations; day intervals are calendar days in the answer's time zone
  (see :mod:`mi_prep.core.scheduling.time`). Returned datetimes are UTC.

Four-button mapping (the UI shows Again/Hard/Good/Easy like Anki):

=======  ===  ======================================================================
button    q   meaning in Wozniak's scale
=======  ===  ======================================================================
Again     1   incorrect response; the correct one remembered (fail: restart, relearn)
Hard      3   correct response recalled with serious difficulty (pass, EF -0.14, repeat today)
Good      4   correct response after a hesitation (pass, EF unchanged)
Easy      5   perfect response (pass, EF +0.10)
=======  ===  ======================================================================
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

from mi_prep.core.scheduling.model import CardState, Rating, interval_cap
from mi_prep.core.scheduling.time import after_days, after_duration, aware, study_day

QUALITY: dict[Rating, int] = {Rating.AGAIN: 1, Rating.HARD: 3, Rating.GOOD: 4, Rating.EASY: 5}
EF_START = 2.5
EF_FLOOR = 1.3
STEP_AGAIN = timedelta(minutes=1)
STEP_HARD = timedelta(minutes=10)


def next_ef(ef: float, q: int) -> float:
    """Wozniak's E-Factor update, floored at 1.3."""
    if not 0 <= q <= 5:
        raise ValueError(f"quality must be 0..5, got {q}")
    return max(EF_FLOOR, ef + (0.1 - (5 - q) * (0.08 + (5 - q) * 0.02)))


def next_interval(n: int, prev_interval: float, ef: float) -> int:
    """I(1)=1, I(2)=6, I(n)=ceil(I(n-1)*EF)."""
    if n <= 1:
        return 1
    if n == 2:
        return 6
    return math.ceil(round(prev_interval * ef, 9))


def elapsed_days(state: CardState, now: datetime) -> int | None:
    """Whole study days since a review-phase item's last review (None for other items). Fewer than its
    interval means an early review, even at or after a due date a drill boost moved forward."""
    if state.phase != "review" or state.last_review is None:
        return None
    return (study_day(now) - study_day(state.last_review, now.tzinfo)).days


def grade(state: CardState, q: int, now: datetime, *, max_interval: float | None = None) -> CardState:
    """Apply one answer of quality ``q`` (0..5) at ``now``. Pure."""
    aware(now)
    if not 0 <= q <= 5:
        raise ValueError(f"quality must be 0..5, got {q}")
    utc_now = after_duration(now, timedelta(0))
    in_learning = state.phase in ("learning", "relearning")
    same_day = state.last_review is not None and study_day(state.last_review, now.tzinfo) == study_day(now)
    if in_learning and same_day:
        # a same-day repeat: leave the queue on q >= 4, else come back soon; no EF/n change
        if q >= 4:
            return state.evolve(phase="review", due=after_days(now, state.interval), last_review=utc_now, step=0)
        step = STEP_AGAIN if q < 3 else STEP_HARD
        return state.evolve(due=after_duration(now, step), last_review=utc_now, step=state.step + 1)

    cap = interval_cap(max_interval)
    if q < 3:
        lapsed = state.reps > 0 or state.phase == "review"  # relearned the same day: n is 0, still learned
        return state.evolve(
            scheduler="sm2",
            phase="relearning" if lapsed else "learning",
            reps=0,
            interval=1,
            lapses=state.lapses + (1 if lapsed else 0),
            due=after_duration(now, STEP_AGAIN),
            last_review=utc_now,
            step=1,
        )
    ef = next_ef(state.ease, q)
    n = state.reps + 1
    early = elapsed_days(state, now)
    prev = state.interval if early is None else max(1, min(state.interval, early))
    interval = min(next_interval(n, prev, ef), cap)
    if q < 4:
        return state.evolve(
            scheduler="sm2",
            phase="learning",
            reps=n,
            ease=ef,
            interval=interval,
            due=after_duration(now, STEP_HARD),
            last_review=utc_now,
            step=1,
        )
    return state.evolve(
        scheduler="sm2",
        phase="review",
        reps=n,
        ease=ef,
        interval=interval,
        due=after_days(now, interval),
        last_review=utc_now,
        step=0,
    )


class SM2:
    name = "sm2"

    def review(
        self, state: CardState, rating: Rating, now: datetime, *, max_interval: float | None = None
    ) -> CardState:
        return grade(state, QUALITY[Rating(rating)], now, max_interval=max_interval)
