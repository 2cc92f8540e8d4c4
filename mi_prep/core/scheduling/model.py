"""What every scheduler works on: the answer buttons, one item's card state, and the Scheduler protocol.

All datetimes are timezone-aware; nothing here reads a clock.
"""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import asdict, dataclass, replace
from datetime import UTC, datetime
from typing import Any, Literal, Protocol

Phase = Literal["new", "learning", "review", "relearning"]

MAX_INTERVAL_DAYS = 36_500
"""The longest interval any scheduler gives (100 years, Anki's maximum); the ``max-interval`` setting and an
interview date lower it. Without it SM-2's multiplying intervals overflow the calendar (year 9999)."""


def interval_cap(max_interval: float | None) -> int:
    """The whole-day cap a scheduler applies: ``max_interval`` (at least 1), never above MAX_INTERVAL_DAYS."""
    if max_interval is None:
        return MAX_INTERVAL_DAYS
    return int(max(1, min(MAX_INTERVAL_DAYS, max_interval // 1)))


class Rating(enum.IntEnum):
    """The four answer buttons (same numbers as Anki and FSRS)."""

    AGAIN = 1
    HARD = 2
    GOOD = 3
    EASY = 4

    @property
    def label(self) -> str:
        return self.name.capitalize()


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
    leech: bool = False
    """Lapsed ``leech-threshold`` times (Anki tags such cards "leech" and suspends them)."""

    def is_due(self, now: datetime) -> bool:
        return self.phase != "new" and self.due is not None and self.due <= now

    def available(self, now: datetime) -> bool:
        return not self.suspended and (self.buried_until is None or self.buried_until <= now)

    def to_row(self) -> dict[str, Any]:
        d = asdict(self)
        for key in ("due", "last_review", "buried_until"):
            d[key] = d[key].astimezone(UTC).isoformat() if d[key] is not None else None
        d["suspended"] = int(d["suspended"])
        d["leech"] = int(d["leech"])
        return d

    @classmethod
    def from_row(cls, row: Mapping[str, Any]) -> CardState:
        fields = {k: row[k] for k in cls.__dataclass_fields__ if k in row}
        for key in ("due", "last_review", "buried_until"):
            if fields.get(key):
                fields[key] = datetime.fromisoformat(fields[key])
        fields["suspended"] = bool(fields.get("suspended", 0))
        fields["leech"] = bool(fields.get("leech") or 0)
        return cls(**fields)

    def evolve(self, **changes: Any) -> CardState:
        return replace(self, **changes)


class Scheduler(Protocol):
    name: str

    def review(
        self, state: CardState, rating: Rating, now: datetime, *, max_interval: float | None = None
    ) -> CardState:
        """Return the state after answering ``rating`` at ``now``. Pure."""
        ...
