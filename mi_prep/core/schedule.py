"""What every scheduler shares: ratings, card state, day boundaries, and the registry.

All datetimes are timezone-aware. The caller passes ``now``; nothing here reads a clock.
"""

from __future__ import annotations

import enum
from dataclasses import asdict, dataclass, replace
from datetime import datetime, timedelta, timezone
from typing import Any, Literal, Mapping, Protocol

Phase = Literal["new", "learning", "review", "relearning"]

DAY_ROLLOVER_HOUR = 4
"""A study day starts at 04:00 local time, as in Anki, so a late-night session counts as one day."""


class Rating(enum.IntEnum):
    """The four answer buttons (same numbers as Anki and FSRS)."""

    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


def _aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: pass timezone-aware datetimes (e.g. datetime.now(timezone.utc))")
    return dt


def study_day(dt: datetime, tz: Any = None, rollover_hour: int = DAY_ROLLOVER_HOUR):
    """The study date ``dt`` falls on, in ``tz`` (default: ``dt``'s own zone)."""
    _aware(dt)
    local = dt.astimezone(tz) if tz is not None else dt
    return (local - timedelta(hours=rollover_hour)).date()


def next_day_start(now: datetime, rollover_hour: int = DAY_ROLLOVER_HOUR) -> datetime:
    """The first instant of the next study day in ``now``'s time zone."""
    _aware(now)
    day = study_day(now, rollover_hour=rollover_hour)
    start = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
    return start + timedelta(hours=rollover_hour)


def day_start(now: datetime, rollover_hour: int = DAY_ROLLOVER_HOUR) -> datetime:
    return next_day_start(now, rollover_hour) - timedelta(days=1)


@dataclass(frozen=True)
class CardState:
    """Scheduling state of one review item (a card, a reverse side, a cloze number, or a lab)."""

    item_id: str
    scheduler: str = "sm2"
    phase: Phase = "new"
    due: datetime | None = None
    interval: float = 0.0
    """Scheduled interval in days (for SM-2 a whole number)."""
    ease: float = 2.5
    """SM-2 E-Factor (FSRS: unused, kept at 2.5)."""
    reps: int = 0
    """SM-2 repetition number n (successful recalls in a row)."""
    lapses: int = 0
    last_review: datetime | None = None
    step: int = 0
    stability: float | None = None
    difficulty: float | None = None
    suspended: bool = False
    buried_until: datetime | None = None

    def is_due(self, now: datetime) -> bool:
        return self.phase != "new" and self.due is not None and self.due <= now

    def available(self, now: datetime) -> bool:
        return not self.suspended and (self.buried_until is None or self.buried_until <= now)

    def to_row(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("due", "last_review", "buried_until"):
            d[key] = d[key].astimezone(timezone.utc).isoformat() if d[key] is not None else None
        d["suspended"] = int(d["suspended"])
        return d

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> "CardState":
        fields = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        for key in ("due", "last_review", "buried_until"):
            if fields.get(key):
                fields[key] = datetime.fromisoformat(fields[key])
        fields["suspended"] = bool(fields.get("suspended", 0))
        return cls(**fields)

    def evolve(self, **changes: Any) -> "CardState":
        return replace(self, **changes)


class Scheduler(Protocol):
    name: str

    def review(self, state: CardState, rating: Rating, now: datetime, *, max_interval: float | None = None) -> CardState:
        """Return the state after answering ``rating`` at ``now``. Pure."""
        ...


def preview(scheduler: Scheduler, state: CardState, now: datetime, *, max_interval: float | None = None) -> dict[Rating, timedelta]:
    """Time until the card would be due again for each button (for labels like "Good 6d")."""
    out = {}
    for rating in Rating:
        nxt = scheduler.review(state, rating, now, max_interval=max_interval)
        out[rating] = (nxt.due - now) if nxt.due else timedelta(0)
    return out


def format_interval(delta: timedelta) -> str:
    """Anki-style short interval: <1m, 10m, 3h, 6d, 1.5mo, 2.1y."""
    secs = delta.total_seconds()
    if secs < 60:
        return "<1m"
    if round(secs / 60) < 60:
        return f"{round(secs / 60)}m"
    if round(secs / 3600) < 24:  # 23.99 hours is "1d", not "24h"
        return f"{round(secs / 3600)}h"
    days = secs / 86400
    if days < 30:
        return f"{round(days)}d"
    if days < 365:
        months = days / 30.4
        return f"{months:.1f}mo".replace(".0mo", "mo")
    return f"{days / 365:.1f}y"


def get_scheduler(name: str) -> Scheduler:
    if name == "sm2":
        from mi_prep.core.sm2 import SM2

        return SM2()
    if name == "fsrs":
        from mi_prep.core.fsrs import FSRSScheduler

        return FSRSScheduler()
    raise ValueError(f"unknown scheduler {name!r}; choose 'sm2' or 'fsrs'")


SCHEDULERS = ("sm2", "fsrs")
