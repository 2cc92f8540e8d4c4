"""Statistics over the review log: reviews per day, due forecast, true retention, topic mastery, heatmap data.

**Mastery** (per topic) measures long-term retention, not coverage or recent pass rate: each of the
topic's review items scores ``min(1, interval / target)`` if it is in the review phase and not
suspended, and 0 if it is new, still in learning, relearning after a lapse, or suspended; mastery is
the mean score. ``target`` is :data:`MATURE_DAYS` (21, Anki's "mature"), or the days left until the
interview date when that is sooner (the scheduler caps intervals there, so 21 days is unreachable).
A lapse needs no separate discount: it resets the interval (SM-2: to 1 day), so the item starts
again from 0. With SM-2 a first Good answer gives a 1-day interval (5%), a second one 6 days (29%);
only items spaced out to 21+ days count fully. :data:`MASTERY_HELP` says this in one sentence.

**Retention** (per topic) is the share of the topic's reviews answered Hard, Good or Easy.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mi_prep.core.deck import DeckSet
from mi_prep.core.scheduling import CardState, study_day
from mi_prep.core.session import interval_limit, items_for
from mi_prep.core.store import ReviewRecord, Store

MATURE_DAYS = 21
"""Anki's threshold: a card whose interval is at least 21 days is "mature"."""


def interview_cap_note(mastery_days: float) -> str | None:
    """The sentence both frontends add under the mastery help while an interview date (or a low
    ``max-interval``) caps intervals below 21 days."""
    if mastery_days >= MATURE_DAYS:
        return None
    return (
        f"The scheduler caps intervals at {mastery_days:g} day(s) now (your interview date or max-interval), "
        f"so a card counts fully at {mastery_days:g} day(s) ('mature' counts those cards)."
    )


MASTERY_HELP = (
    "Mastery measures long-term retention: a card counts fully once its review interval reaches "
    '21 days (Anki\'s "mature", or the days left to your interview if fewer) and partly before that, '
    "in proportion to its interval; new, learning and lapsed cards count 0."
)
"""The mastery definition in one sentence, for users (README, Home, Stats, ``mi-prep stats``)."""

RETENTION_HELP = "Retention is the share of a topic's reviews answered Hard, Good or Easy."


def mastery_target(store: Store, now: datetime) -> float:
    """The interval (days) at which an item counts fully: 21, or the interval cap (days left to the
    interview, ``max-interval``) if lower."""
    return min(float(MATURE_DAYS), interval_limit(store, now))


def item_mastery(state: CardState | None, target: float = MATURE_DAYS) -> float:
    """0..1: how far ``state``'s interval has grown toward ``target`` days (0 unless in review, not suspended)."""
    if state is None or state.phase != "review" or state.suspended or target <= 0:
        return 0.0
    return max(0.0, min(1.0, state.interval / target))


@dataclass
class TopicStat:
    topic: str
    cards: int
    """Review items in the topic (a reverse card is 2, a cloze card one per deletion number)."""
    seen: int
    reviews: int
    passed: int
    mean_ease: float | None
    lapses: int
    mastery: float = 0.0
    """0..1, long-term retention: the mean of :func:`item_mastery` over the topic's items (see the module
    doc)."""
    mature: int = 0
    """Items counting fully toward mastery (review phase, interval >= the mastery target)."""

    @property
    def retention(self) -> float | None:
        """Share of the topic's reviews that passed (Hard/Good/Easy); None before any review."""
        return self.passed / self.reviews if self.reviews else None


@dataclass
class Stats:
    total_reviews: int
    reviews_per_day: list[tuple[date, int]]
    """Last ``days`` study days, oldest first (zeros included)."""
    forecast: list[tuple[date, int]]
    """Items falling due on each of the next ``forecast_days`` days (today includes overdue)."""
    true_retention: float | None
    mature_reviews: int
    young_retention: float | None
    topics: list[TopicStat]
    heatmap: dict[date, int]
    """Reviews per study day over the last year, for the calendar heatmap."""
    seen_items: int
    total_items: int
    mastery_days: float = float(MATURE_DAYS)
    """The interval (days) at which an item counts fully toward mastery (see :func:`mastery_target`)."""
    leeches: int = 0
    """Items tagged leech (lapsed ``leech-threshold`` times) that are still suspended."""


def compute(store: Store, deckset: DeckSet, now: datetime, days: int = 30, forecast_days: int = 30) -> Stats:
    today = study_day(now)
    rows = store.reviews()  # answers not undone, oldest first
    per_day: Counter[date] = Counter(study_day(r.ts, now.tzinfo) for r in rows)
    reviews_per_day = [
        (today - timedelta(days=i), per_day.get(today - timedelta(days=i), 0)) for i in range(days - 1, -1, -1)
    ]
    year_ago = today - timedelta(days=365)
    heatmap = {d: n for d, n in per_day.items() if d > year_ago}

    mature = [r for r in rows if r.phase_before == "review" and (r.interval_before or 0) >= MATURE_DAYS]
    young = [r for r in rows if r.phase_before == "review" and (r.interval_before or 0) < MATURE_DAYS]
    true_ret = sum(r.passed for r in mature) / len(mature) if mature else None
    young_ret = sum(r.passed for r in young) / len(young) if young else None

    states = store.states()
    items = items_for(deckset)
    item_ids = {i.item_id for i in items}
    forecast_counter: Counter[date] = Counter()
    horizon = today + timedelta(days=forecast_days - 1)
    for item_id, s in states.items():
        if item_id not in item_ids or s.phase == "new" or s.due is None or s.suspended:
            continue
        d = max(study_day(s.due, now.tzinfo), today)
        if s.buried_until is not None and s.buried_until > now:  # buried: back on the day the bury ends
            d = max(d, study_day(s.buried_until, now.tzinfo))
        if d <= horizon:
            forecast_counter[d] += 1
    forecast = [
        (today + timedelta(days=i), forecast_counter.get(today + timedelta(days=i), 0)) for i in range(forecast_days)
    ]

    by_item_reviews: dict[str, list[ReviewRecord]] = defaultdict(list)
    for r in rows:
        by_item_reviews[r.item_id].append(r)
    topic_items: dict[str, list[str]] = defaultdict(list)
    for item in items:
        for tag in item.deck.deck.tags or (item.deck.id,):
            topic_items[tag].append(item.item_id)
    target = mastery_target(store, now)
    score = {i: item_mastery(states.get(i), target) for i in item_ids}
    topics = []
    for topic, ids in sorted(topic_items.items()):
        revs = [r for i in ids for r in by_item_reviews.get(i, [])]
        seen = [states[i] for i in ids if i in states and states[i].phase != "new"]
        topics.append(
            TopicStat(
                topic=topic,
                cards=len(ids),
                seen=len(seen),
                reviews=len(revs),
                passed=sum(r.passed for r in revs),
                mean_ease=round(sum(s.ease for s in seen) / len(seen), 3) if seen else None,
                lapses=sum(s.lapses for s in seen),
                mastery=round(sum(score[i] for i in ids) / len(ids), 3) if ids else 0.0,
                mature=sum(score[i] >= 1.0 for i in ids),
            )
        )
    seen_items = sum(1 for i in item_ids if i in states and states[i].phase != "new")
    leeches = sum(1 for i in item_ids if i in states and states[i].leech and states[i].suspended)
    return Stats(
        len(rows),
        reviews_per_day,
        forecast,
        true_ret,
        len(mature),
        young_ret,
        topics,
        heatmap,
        seen_items,
        len(item_ids),
        target,
        leeches,
    )
