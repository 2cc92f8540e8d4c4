"""Study days: when a day starts (04:00 local, as in Anki), interval labels, and the aware-datetime check."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

DAY_ROLLOVER_HOUR = 4
"""A study day starts at 04:00 local time, as in Anki, so a late-night session counts as one day."""


def aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: pass timezone-aware datetimes (e.g. datetime.now(timezone.utc))")
    return dt


def study_day(dt: datetime, tz: Any = None, rollover_hour: int = DAY_ROLLOVER_HOUR):
    """The study date ``dt`` falls on, in ``tz`` (default: ``dt``'s own zone)."""
    aware(dt)
    local = dt.astimezone(tz) if tz is not None else dt
    return (local - timedelta(hours=rollover_hour)).date()


def next_day_start(now: datetime, rollover_hour: int = DAY_ROLLOVER_HOUR) -> datetime:
    """The first instant of the next study day in ``now``'s time zone."""
    aware(now)
    day = study_day(now, rollover_hour=rollover_hour)
    start = datetime.combine(day + timedelta(days=1), datetime.min.time(), tzinfo=now.tzinfo)
    return start + timedelta(hours=rollover_hour)


def day_start(now: datetime, rollover_hour: int = DAY_ROLLOVER_HOUR) -> datetime:
    return next_day_start(now, rollover_hour) - timedelta(days=1)


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
