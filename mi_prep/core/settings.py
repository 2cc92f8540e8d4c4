"""Every user setting in one place: its name, how typed text is parsed, its default, what a stored value
must look like, and a line of documentation. ``mi-prep config``, the store and the UIs all read this table.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date
from typing import Any

from mi_prep.core.scheduling.model import MAX_INTERVAL_DAYS
from mi_prep.core.scheduling.registry import SCHEDULERS

MAX_PER_DAY = 100_000
"""The largest daily limit accepted (a typo like 1e9 is refused rather than stored)."""


@dataclass(frozen=True)
class Setting:
    name: str
    default: Any
    doc: str
    parse: Callable[[str], Any]
    """Typed text -> value; raises ValueError with a message that says what to type."""
    valid: Callable[[Any], bool]
    """Whether a decoded stored value is usable."""
    problem: str
    """What is wrong with a value that is not valid (completes "... which is <problem>")."""


def _scheduler_name(text: str) -> str:
    if text not in SCHEDULERS:
        raise ValueError(f"choose {' or '.join(SCHEDULERS)}")
    return text


def _per_day_text(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        raise ValueError(f"{text!r} is not a whole number (e.g. 20 new or 200 reviews)") from None
    if not 0 <= n <= MAX_PER_DAY:
        raise ValueError(f"must be between 0 and {MAX_PER_DAY}")
    return n


def _per_day(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool) and 0 <= v <= MAX_PER_DAY


def _iso_date_text(text: str) -> str:
    t = text.strip()
    try:
        if not re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", t):
            raise ValueError
        return date.fromisoformat(t).isoformat()
    except ValueError:
        raise ValueError(f"{text!r} is not a valid date like 2026-12-15 (YYYY-MM-DD; none clears it)") from None


def _iso_day(v: Any) -> bool:
    if v is None:
        return True
    if not (isinstance(v, str) and re.fullmatch(r"[0-9]{4}-[0-9]{2}-[0-9]{2}", v)):
        return False
    try:
        date.fromisoformat(v)
    except ValueError:
        return False
    return True


MAX_LAB_THREADS = 64
MAX_LEECH_THRESHOLD = 99


def _whole_text(low: int, high: int, example: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            n = int(text.strip())
        except ValueError:
            raise ValueError(f"{text!r} is not a whole number (e.g. {example})") from None
        if not low <= n <= high:
            raise ValueError(f"must be between {low} and {high}")
        return n

    return parse


def _whole(low: int, high: int) -> Callable[[Any], bool]:
    return lambda v: isinstance(v, int) and not isinstance(v, bool) and low <= v <= high


def _zone_text(text: str) -> str:
    t = text.strip()
    if t.lower() == "auto":
        return "auto"
    if zone_exists(t):
        return t
    from zoneinfo import available_timezones

    same = [z for z in available_timezones() if z.lower() == t.lower()]
    if same:  # europe/berlin -> Europe/Berlin
        return same[0]
    raise ValueError(f"{t!r} is not an IANA time zone (e.g. Europe/Berlin, America/New_York) or auto")


def zone_exists(name: Any) -> bool:
    """Whether ``name`` is an IANA time zone this machine knows (``Europe/Berlin``)."""
    from zoneinfo import ZoneInfo

    if not isinstance(name, str) or not name or name.startswith("/") or ".." in name:
        return False
    try:
        ZoneInfo(name)
    except (ValueError, OSError, KeyError):  # ZoneInfoNotFoundError is a KeyError
        return False
    return True


def _lab_threads_text(text: str) -> str | int:
    t = text.strip().lower()
    if t == "auto":
        return "auto"
    try:
        n = int(t)
    except ValueError:
        raise ValueError(f"{text!r} is neither auto nor a whole number (e.g. 1)") from None
    if not 1 <= n <= MAX_LAB_THREADS:
        raise ValueError(f"must be auto or between 1 and {MAX_LAB_THREADS}")
    return n


def _lab_threads(v: Any) -> bool:
    return v == "auto" or (isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= MAX_LAB_THREADS)


_ALL = (
    Setting(
        "scheduler",
        "sm2",
        "sm2 or fsrs; switching replays every card's history with the new one",
        _scheduler_name,
        lambda v: v in SCHEDULERS,
        f"not one of {', '.join(SCHEDULERS)}",
    ),
    Setting(
        "new-per-day",
        20,
        "new cards introduced per study day",
        _per_day_text,
        _per_day,
        f"not a whole number from 0 to {MAX_PER_DAY}",
    ),
    Setting(
        "reviews-per-day",
        200,
        "reviews shown per study day",
        _per_day_text,
        _per_day,
        f"not a whole number from 0 to {MAX_PER_DAY}",
    ),
    Setting(
        "interview-date",
        None,
        "your interview day (YYYY-MM-DD); intervals are capped to reach it",
        _iso_date_text,
        _iso_day,
        "not a date like 2026-12-15",
    ),
    Setting(
        "max-interval",
        MAX_INTERVAL_DAYS,
        f"the longest interval in days a card can get (1 to {MAX_INTERVAL_DAYS}, as Anki's maximum interval)",
        _whole_text(1, MAX_INTERVAL_DAYS, 365),
        _whole(1, MAX_INTERVAL_DAYS),
        f"not a whole number of days from 1 to {MAX_INTERVAL_DAYS}",
    ),
    Setting(
        "leech-threshold",
        8,
        "lapses after which a card is tagged a leech and suspended (0 turns leeches off; Anki: 8)",
        _whole_text(0, MAX_LEECH_THRESHOLD, 8),
        _whole(0, MAX_LEECH_THRESHOLD),
        f"not a whole number from 0 to {MAX_LEECH_THRESHOLD}",
    ),
    Setting(
        "timezone",
        "auto",
        "your IANA time zone (e.g. Europe/Berlin) for study days, which start at 04:00; auto uses the system's zone",
        _zone_text,
        lambda v: v == "auto" or zone_exists(v),
        "not auto or an IANA time zone like Europe/Berlin",
    ),
    Setting(
        "lab-threads",
        "auto",
        "CPU threads a lab's torch uses: auto (1, safest when other work shares the cores; bench/labs.py) or a number",
        _lab_threads_text,
        _lab_threads,
        f"not auto or a whole number from 1 to {MAX_LAB_THREADS}",
    ),
    Setting(
        "theme",
        "textual-dark",
        "the terminal UI's colour theme (Settings, o on Home; ctrl+t toggles dark/light)",
        str,
        lambda v: isinstance(v, str),
        "not a string",
    ),
)

SETTINGS: dict[str, Setting] = {s.name: s for s in _ALL}


def default(name: str) -> Any:
    return SETTINGS[name].default


def value_problem(key: str, value: Any) -> str | None:
    """Why ``value`` (already decoded) cannot be used for ``key``, or None (unknown keys: anything goes)."""
    setting = SETTINGS.get(key)
    if setting is None:
        return None
    try:
        ok = setting.valid(value)
    except TypeError:  # e.g. an unhashable value tested against the scheduler names
        ok = False
    return None if ok else setting.problem


def stored_problem(key: str, text: Any) -> str | None:
    """Why the stored text of ``key`` is unusable (not JSON, or a wrong value for a known key), or None."""
    try:
        value = json.loads(text)
    except (TypeError, ValueError):
        return "not JSON"
    return value_problem(key, value)


def saved_note(key: str, value: Any, today: date) -> str | None:
    """A warning worth showing after ``key`` was set to ``value`` (both frontends), or None."""
    if key == "interview-date" and isinstance(value, str) and _iso_day(value) and date.fromisoformat(value) < today:
        return "that date has passed, so it caps no interval (set your next interview date)"
    if key == "max-interval" and isinstance(value, int) and value < 21:
        return "below 21 days no card can become mature (Stats counts mastery at this cap instead)"
    return None
