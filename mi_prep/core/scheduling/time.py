"""Study days: when a day starts (04:00 local, as in Anki), interval labels, and the aware-datetime check.

Time zones: pass datetimes in the user's IANA zone (``ZoneInfo("Europe/Berlin")``), not a fixed UTC
offset, and day arithmetic follows daylight saving. Two kinds of time are added:

* **steps** (learning: 1 minute, 10 minutes) are real durations: :func:`after_duration` adds them in
  UTC, so a 1-minute step across the autumn change lasts 1 minute, not 61;
* **day intervals** are calendar days in the user's zone: :func:`after_days` keeps the wall-clock
  time, so a card answered at 03:30 with a 1-day interval comes back on the next study day, whether
  that day is 23, 24 or 25 hours long.

Both return UTC (what the store keeps). A datetime with a fixed offset (``timezone.utc``) keeps
working: its "zone" never changes offset.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

DAY_ROLLOVER_HOUR = 4
"""A study day starts at 04:00 local time, as in Anki, so a late-night session counts as one day."""


def aware(dt: datetime) -> datetime:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"naive datetime {dt!r}: pass timezone-aware datetimes (e.g. datetime.now(timezone.utc))")
    return dt


def after_duration(now: datetime, delta: timedelta) -> datetime:
    """``now + delta`` as a real duration (e.g. a learning step), in UTC."""
    aware(now)
    return now.astimezone(UTC) + delta


def after_days(now: datetime, days: float) -> datetime:
    """``days`` calendar days after ``now`` at the same local time in ``now``'s zone, in UTC.

    (Python adds a timedelta to a zone-aware datetime on the wall clock; the result is then
    resolved in the zone, so a wall time skipped by a spring-forward change lands an hour later.)"""
    aware(now)
    local = now + timedelta(days=days)
    return local.astimezone(UTC)


def shown_delta(due: datetime, now: datetime) -> timedelta:
    """How far ``due`` is from ``now`` for a label: real time under a day, calendar time (in ``now``'s
    zone) beyond, so a 1-day interval across a daylight-saving change still reads "1d", not "23h"."""
    real = due - now
    if real < timedelta(hours=20):
        return real
    return due.astimezone(now.tzinfo).replace(tzinfo=None) - now.replace(tzinfo=None)


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
