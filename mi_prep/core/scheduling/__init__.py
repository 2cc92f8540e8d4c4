"""Scheduling: SM-2 and FSRS behind one protocol, and the study-day clock arithmetic they share.

Pure: the caller passes ``now``; nothing here reads a clock or a global RNG.
"""

from mi_prep.core.scheduling.model import CardState, Phase, Rating, Scheduler
from mi_prep.core.scheduling.registry import SCHEDULERS, get_scheduler, preview
from mi_prep.core.scheduling.time import (
    DAY_ROLLOVER_HOUR,
    after_days,
    after_duration,
    aware,
    day_start,
    format_interval,
    next_day_start,
    shown_delta,
    study_day,
)

__all__ = [
    "CardState",
    "Phase",
    "Rating",
    "Scheduler",
    "SCHEDULERS",
    "get_scheduler",
    "preview",
    "DAY_ROLLOVER_HOUR",
    "after_days",
    "after_duration",
    "shown_delta",
    "aware",
    "day_start",
    "format_interval",
    "next_day_start",
    "study_day",
]
