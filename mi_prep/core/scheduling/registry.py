"""The schedulers by name, and the per-button preview every frontend shows."""

from __future__ import annotations

from datetime import datetime, timedelta

from mi_prep.core.scheduling.model import CardState, Rating, Scheduler
from mi_prep.core.scheduling.time import shown_delta

SCHEDULERS = ("sm2", "fsrs")


def preview(
    scheduler: Scheduler, state: CardState, now: datetime, *, max_interval: float | None = None
) -> dict[Rating, timedelta]:
    """Time until the card would be due again for each button (for labels like "Good 6d"; calendar days
    beyond a day, see :func:`~mi_prep.core.scheduling.time.shown_delta`)."""
    out = {}
    for rating in Rating:
        nxt = scheduler.review(state, rating, now, max_interval=max_interval)
        out[rating] = shown_delta(nxt.due, now) if nxt.due else timedelta(0)
    return out


def get_scheduler(name: str) -> Scheduler:
    if name == "sm2":
        from mi_prep.core.scheduling.sm2 import SM2

        return SM2()
    if name == "fsrs":
        from mi_prep.core.scheduling.fsrs import FSRSScheduler

        return FSRSScheduler()
    raise ValueError(f"unknown scheduler {name!r}; choose 'sm2' or 'fsrs'")
