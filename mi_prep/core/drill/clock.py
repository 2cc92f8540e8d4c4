"""A drill's two clocks (:class:`DrillClocks`), both on "active time": wall time minus pauses.

* the drill countdown: ``minutes`` minus active time since the start (grading counts);
* the question clock: active time from showing the question to submitting it.

A question's budget is cut to what is left of the drill. A pause stops both clocks; a pause still
running counts up to ``now``, and once the drill has finished its clocks stay where they stopped.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Literal

from mi_prep.core.drill.plan import DrillPlan, PlannedQuestion
from mi_prep.core.scheduling import aware

Phase = Literal["ready", "answering", "grading", "waiting", "finished"]
"""Where a drill is; the question clock runs only while ``answering``."""


def ms(delta: timedelta) -> int:
    """``delta`` in whole milliseconds (rounded)."""
    return int(round(delta.total_seconds() * 1000))


class DrillClocks:
    """The clocks part of :class:`~mi_prep.core.drill.run.Drill`, which sets ``started``, ``finished``
    and the question clock's start (``_q_start_active``) and frozen value (``_q_elapsed``)."""

    plan: DrillPlan
    phase: Phase

    def __init__(self) -> None:
        self.started: datetime | None = None
        self.finished: datetime | None = None
        self.paused_ms = 0
        self.pause_started: datetime | None = None
        self._q_start_active = 0
        self._q_elapsed = 0

    @property
    def current_question(self) -> PlannedQuestion | None:  # pragma: no cover - the drill defines it
        raise NotImplementedError

    @property
    def total_ms(self) -> int:
        return int(self.plan.minutes * 60_000)

    def paused_total_ms(self, now: datetime) -> int:
        extra = ms(now - self.pause_started) if self.pause_started is not None else 0
        return self.paused_ms + extra

    def active_ms(self, now: datetime) -> int:
        if self.started is None:
            return 0
        end = self.finished or now
        return max(0, ms(end - self.started) - self.paused_total_ms(end))

    def remaining_ms(self, now: datetime) -> int:
        """The drill countdown."""
        return max(0, self.total_ms - self.active_ms(now))

    def question_elapsed_ms(self, now: datetime) -> int:
        if self.phase == "answering":
            return self.active_ms(now) - self._q_start_active
        return self._q_elapsed

    def question_budget_ms(self, now: datetime) -> int:
        """The current question's budget, cut to what is left of the drill."""
        q = self.current_question
        if q is None:
            return 0
        return min(q.budget_ms, self.question_elapsed_ms(now) + self.remaining_ms(now))

    def question_remaining_ms(self, now: datetime) -> int:
        return max(0, self.question_budget_ms(now) - self.question_elapsed_ms(now))

    @property
    def paused(self) -> bool:
        return self.pause_started is not None

    def pause(self, now: datetime) -> None:
        aware(now)
        if self.phase in ("ready", "finished") or self.paused:
            return
        self.pause_started = now

    def resume(self, now: datetime) -> None:
        if self.pause_started is None:
            return
        self.paused_ms += max(0, ms(now - self.pause_started))
        self.pause_started = None
