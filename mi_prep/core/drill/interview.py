"""The interview date: days left and per-topic coverage.

``mi-prep config set interview-date 2026-12-15`` caps every new interval at the days left
(:func:`mi_prep.core.session.interview_cap`), so everything comes round again before the interview.
:func:`interview_status` gives the countdown and per-topic coverage for the home screen.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from mi_prep.core.deck import DeckSet
from mi_prep.core.drill.topics import item_topics
from mi_prep.core.scheduling import aware
from mi_prep.core.session import items_for
from mi_prep.core.store import Store


@dataclass
class InterviewStatus:
    days_left: int | None
    """Days from today to the interview (``config set interview-date``); negative once past; None if unset."""
    topics: list[tuple[str, float]]
    """(topic, coverage 0..1) sorted by topic: the share of the topic's items that have graduated
    to the review phase (learned at least once and not currently lapsed)."""
    date: date | None = None


def interview_status(store: Store, deckset: DeckSet, now: datetime) -> InterviewStatus:
    aware(now)
    raw = store.get_config("interview-date")
    day = date.fromisoformat(raw) if raw else None
    states = store.states()
    by: dict[str, list[bool]] = defaultdict(list)
    for item in items_for(deckset):
        s = states.get(item.item_id)
        for t in item_topics(item):
            by[t].append(s is not None and s.phase == "review")
    topics = [(t, round(sum(v) / len(v), 4) if v else 0.0) for t, v in sorted(by.items())]
    return InterviewStatus((day - now.date()).days if day else None, topics, day)
