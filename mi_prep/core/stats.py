"""Statistics over the review log: reviews per day, due forecast, true retention, topic mastery, heatmap data."""

from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from mi_prep.core.deck import DeckSet
from mi_prep.core.schedule import study_day
from mi_prep.core.session import items_for
from mi_prep.core.store import Store

MATURE_DAYS = 21
"""Anki's threshold: a card whose interval is at least 21 days is "mature"."""


@dataclass
class TopicStat:
    topic: str
    cards: int
    seen: int
    reviews: int
    passed: int
    mean_ease: float | None
    lapses: int

    @property
    def retention(self) -> float | None:
        return self.passed / self.reviews if self.reviews else None

    @property
    def mastery(self) -> float:
        """0..1: share of the topic's items seen, weighted by how well they are retained."""
        if not self.cards:
            return 0.0
        ret = self.retention if self.retention is not None else 0.0
        return round((self.seen / self.cards) * ret, 3)


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


def _undone_ids(store: Store) -> set[int]:
    return {r[0] for r in store.db.execute("SELECT ref_id FROM review_log WHERE kind='undo' AND ref_id IS NOT NULL")}


def compute(store: Store, deckset: DeckSet, now: datetime, days: int = 30, forecast_days: int = 30) -> Stats:
    today = study_day(now)
    undone = _undone_ids(store)
    rows = [r for r in store.db.query(
        "SELECT id, item_id, ts, rating, interval_before, phase_before FROM review_log WHERE kind='review' ORDER BY id")
        if r["id"] not in undone]
    per_day: Counter[date] = Counter(study_day(datetime.fromisoformat(r["ts"]), now.tzinfo) for r in rows)
    reviews_per_day = [(today - timedelta(days=i), per_day.get(today - timedelta(days=i), 0)) for i in range(days - 1, -1, -1)]
    year_ago = today - timedelta(days=365)
    heatmap = {d: n for d, n in per_day.items() if d > year_ago}

    mature = [r for r in rows if r["phase_before"] == "review" and (r["interval_before"] or 0) >= MATURE_DAYS]
    young = [r for r in rows if r["phase_before"] == "review" and (r["interval_before"] or 0) < MATURE_DAYS]
    true_ret = sum(r["rating"] > 1 for r in mature) / len(mature) if mature else None
    young_ret = sum(r["rating"] > 1 for r in young) / len(young) if young else None

    states = store.states()
    items = items_for(deckset)
    item_ids = {i.item_id for i in items}
    forecast_counter: Counter[date] = Counter()
    horizon = today + timedelta(days=forecast_days - 1)
    for item_id, s in states.items():
        if item_id not in item_ids or s.phase == "new" or s.due is None or s.suspended:
            continue
        d = max(study_day(s.due, now.tzinfo), today)
        if d <= horizon:
            forecast_counter[d] += 1
    forecast = [(today + timedelta(days=i), forecast_counter.get(today + timedelta(days=i), 0)) for i in range(forecast_days)]

    by_item_reviews: dict[str, list[dict]] = defaultdict(list)
    for r in rows:
        by_item_reviews[r["item_id"]].append(r)
    topic_items: dict[str, list[str]] = defaultdict(list)
    for item in items:
        for tag in (item.deck.deck.tags or (item.deck.id,)):
            topic_items[tag].append(item.item_id)
    topics = []
    for topic, ids in sorted(topic_items.items()):
        revs = [r for i in ids for r in by_item_reviews.get(i, [])]
        seen = [states[i] for i in ids if i in states and states[i].phase != "new"]
        topics.append(TopicStat(
            topic=topic, cards=len(ids), seen=len(seen), reviews=len(revs),
            passed=sum(r["rating"] > 1 for r in revs),
            mean_ease=round(sum(s.ease for s in seen) / len(seen), 3) if seen else None,
            lapses=sum(s.lapses for s in seen),
        ))
    seen_items = sum(1 for i in item_ids if i in states and states[i].phase != "new")
    return Stats(len(rows), reviews_per_day, forecast, true_ret, len(mature), young_ret, topics, heatmap,
                 seen_items, len(item_ids))
