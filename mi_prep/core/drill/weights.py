"""Topic weights: how strongly a drill draws each deck item (weak topics and due cards first).

::

    for each topic t (a deck's tags; the deck id when it has none):
        R_t = (passed_t + 1) / (reviews_t + 2)     smoothed retention over all (not undone)
                                                   reviews of the topic's items; pass = rating > 1
        L_t = min(1, again_14d_t / 3)              recent lapses: Again answers in the last 14 days
        D_t = mean drill score of t over its last 3 drills (unanswered questions excluded);
              0.5 when t was never drilled
        weakness_t = ((1 - R_t) + L_t + (1 - D_t)) / 3          in [0, 1]
        W_t = 1 + 4 * weakness_t                                  in [1, 5]
    for each item i (suspended items are excluded):
        S_i = 2 if i is due (seen and due <= now), 1 if seen and not yet due, 0.5 if never seen
        w_i = max(W_t for t in topics(i)) * S_i

:func:`weighted_sample` draws by these weights (Efraimidis-Spirakis, see :mod:`.plan`).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from random import Random
from typing import Any

from mi_prep.core.deck import DeckSet
from mi_prep.core.drill.topics import item_topics
from mi_prep.core.scheduling import aware
from mi_prep.core.session import ReviewItem, items_for
from mi_prep.core.store import Store
from mi_prep.core.store import drills as drill_rows

RECENT_LAPSE_DAYS = 14
LAPSES_FOR_MAX = 3
DRILLS_FOR_SCORE = 3
NEUTRAL_DRILL_SCORE = 0.5
DUE_FACTOR, SEEN_FACTOR, NEW_FACTOR = 2.0, 1.0, 0.5


@dataclass(frozen=True)
class TopicWeight:
    topic: str
    retention: float
    """Smoothed retention R_t."""
    recent_lapses: float
    """L_t in [0, 1]."""
    drill_score: float
    """D_t (0.5 when never drilled)."""

    @property
    def weakness(self) -> float:
        return ((1 - self.retention) + self.recent_lapses + (1 - self.drill_score)) / 3

    @property
    def weight(self) -> float:
        return 1 + 4 * self.weakness


def topic_weight(
    passed: int, reviews: int, again_recent: int, drill_scores: Sequence[float], topic: str = ""
) -> TopicWeight:
    """W_t from raw counts (see the module docstring)."""
    r = (passed + 1) / (reviews + 2)
    lapse = min(1.0, again_recent / LAPSES_FOR_MAX)
    d = sum(drill_scores) / len(drill_scores) if drill_scores else NEUTRAL_DRILL_SCORE
    return TopicWeight(topic, r, lapse, d)


def item_factor(state: Any, now: datetime) -> float | None:
    """S_i: 2 due, 1 seen, 0.5 new; None for suspended items (never drawn)."""
    if state is None or state.phase == "new":
        return None if (state is not None and state.suspended) else NEW_FACTOR
    if state.suspended:
        return None
    return DUE_FACTOR if state.due is not None and state.due <= now else SEEN_FACTOR


def recent_drill_scores(store: Store, topic: str, last: int = DRILLS_FOR_SCORE) -> list[float]:
    """The topic's score in each of its ``last`` latest drills, newest first."""
    return drill_rows.recent_topic_scores(store, topic, last)


def topic_weights(
    store: Store, deckset: DeckSet, now: datetime, items: Iterable[ReviewItem] | None = None
) -> dict[str, TopicWeight]:
    """W_t of every topic of ``items`` (default: every deck item), from the log and past drills at ``now``."""
    aware(now)
    items = list(items if items is not None else items_for(deckset))
    since = now - timedelta(days=RECENT_LAPSE_DAYS)
    per_item: dict[str, list[tuple[int, datetime]]] = defaultdict(list)
    for answer in store.reviews():  # answers not undone
        per_item[answer.item_id].append((answer.rating, answer.ts))
    by_topic: dict[str, list[str]] = defaultdict(list)
    for it in items:
        for t in item_topics(it):
            by_topic[t].append(it.item_id)
    out = {}
    for topic in sorted(by_topic):
        revs = [x for i in by_topic[topic] for x in per_item.get(i, [])]
        passed = sum(1 for rating, _ in revs if rating > 1)
        again = sum(1 for rating, ts in revs if rating == 1 and since <= ts <= now)
        out[topic] = topic_weight(passed, len(revs), again, recent_drill_scores(store, topic), topic)
    return out


def weighted_sample(rng: Random, weighted: Sequence[tuple[str, float]], k: int) -> list[str]:
    """Efraimidis-Spirakis: k keys drawn without replacement, P proportional to weight. Deterministic given rng."""
    keyed = []
    for key, w in sorted(weighted):
        u = rng.random()
        keyed.append((u ** (1.0 / w) if w > 0 else 0.0, key))
    keyed.sort(key=lambda t: (-t[0], t[1]))
    return [key for _, key in keyed[:k]]
