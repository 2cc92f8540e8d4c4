"""The drill plan: which questions, in which order, with how much time each (:func:`make_plan`).

A drill asks ``n`` deck questions (about 30% ``explain`` cards, the rest recall: basic, reverse,
cloze and choice items), then one lab section (the interpretation questions of one lab run) when a
lab provider is given. Items are drawn without replacement, weighted toward weak topics and due
cards (the weights: :mod:`mi_prep.core.drill.weights`).

The draw is Efraimidis-Spirakis weighted sampling without replacement: each item gets the key
``u ** (1 / w_i)`` with ``u = rng.random()`` (items visited in item-id order) and the largest keys
win. So the plan depends only on the seed, the decks and the store state at ``now``: same seed +
same store state -> same plan (tested). The seed and the plan (item ids, budgets, weights) are
stored in the ``drills`` row. ``--topics`` keeps only items whose deck or card tags match.

``minutes`` is the whole drill. 85% of it is split into per-question budgets in proportion to units
(recall/choice 1, explain 2.5, the lab section 4 shared by its questions); the other 15% is slack
for reading the model answer and grading yourself.
"""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from datetime import datetime
from random import Random
from typing import Any, Literal

from mi_prep.core.deck import DeckSet
from mi_prep.core.drill.topics import item_topics
from mi_prep.core.drill.weights import item_factor, topic_weights, weighted_sample
from mi_prep.core.scheduling import aware
from mi_prep.core.session import ReviewItem, items_for
from mi_prep.core.store import Store

DEFAULT_MINUTES = 30.0
DEFAULT_QUESTIONS = 8
EXPLAIN_SHARE = 0.3
ANSWER_SHARE = 0.85
"""Share of the drill's minutes split into per-question budgets; the rest is for grading."""
UNITS = {"recall": 1.0, "choice": 1.0, "explain": 2.5}
LAB_UNITS = 4.0

Kind = Literal["recall", "choice", "explain", "lab"]


def item_kind(item: ReviewItem) -> Kind:
    if item.card.type == "explain":
        return "explain"
    if item.card.type == "choice":
        return "choice"
    return "recall"


def new_seed() -> int:
    """A fresh random drill seed (shown and stored, so the drill can be replayed)."""
    return random.SystemRandom().randrange(2**31)


@dataclass(frozen=True)
class PlannedQuestion:
    idx: int
    kind: Kind
    item_id: str
    """Deck item id, or ``lab:NAME:QUESTION_ID`` for a lab question."""
    topic: str
    budget_ms: int
    weight: float = 0.0
    lab_question: dict[str, Any] | None = None


@dataclass
class DrillPlan:
    seed: int
    minutes: float
    topics: tuple[str, ...]
    n_questions: int
    questions: list[PlannedQuestion]
    topic_weights: dict[str, float]
    lab_topics: tuple[str, ...] = ()
    """Topics the lab should exercise, weakest first (passed to the lab provider)."""
    lab_budget_ms: int = 0
    """Reserved for the lab section (0: no lab)."""
    lab: dict[str, Any] | None = None
    """``{"name", "topics", "note"}`` once the lab section is known."""

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["topics"] = list(self.topics)
        d["lab_topics"] = list(self.lab_topics)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DrillPlan:
        d = dict(d)
        d["questions"] = [PlannedQuestion(**q) for q in d["questions"]]
        d["topics"] = tuple(d.get("topics") or ())
        d["lab_topics"] = tuple(d.get("lab_topics") or ())
        return cls(**d)


def make_plan(
    store: Store,
    deckset: DeckSet,
    now: datetime,
    rng: Random,
    *,
    seed: int = 0,
    minutes: float = DEFAULT_MINUTES,
    topics: Sequence[str] | None = None,
    n_questions: int = DEFAULT_QUESTIONS,
    with_lab: bool = True,
) -> DrillPlan:
    """Draw a drill (see the module docstring). ``rng`` should be ``Random(seed)``."""
    aware(now)
    if minutes <= 0 or n_questions < 0:
        raise ValueError("minutes must be > 0 and questions >= 0")
    wanted = set(topics or ())
    all_items = items_for(deckset)
    items = [i for i in all_items if not wanted or wanted & (set(i.tags) | set(item_topics(i)))]
    weights = topic_weights(store, deckset, now, all_items)
    states = store.states()
    pools: dict[str, list[tuple[str, float]]] = {"explain": [], "recall": []}
    by_id = {}
    for it in items:
        if it.card.type == "explain" and it.variant != "front":
            continue
        s = item_factor(states.get(it.item_id), now)
        if s is None:
            continue
        w = max(weights[t].weight for t in item_topics(it)) * s
        pools["explain" if it.card.type == "explain" else "recall"].append((it.item_id, round(w, 6)))
        by_id[it.item_id] = (it, w)
    n_explain = min(len(pools["explain"]), max(1, round(n_questions * EXPLAIN_SHARE))) if n_questions else 0
    n_recall = min(len(pools["recall"]), n_questions - n_explain)
    n_explain = min(len(pools["explain"]), n_questions - n_recall)
    chosen = weighted_sample(rng, pools["recall"], n_recall) + weighted_sample(rng, pools["explain"], n_explain)
    chosen_topics = {t for i in chosen for t in item_topics(by_id[i][0])}
    lab_topics = tuple(
        sorted(
            (t for t in weights if not wanted or t in wanted or t in chosen_topics),
            key=lambda t: (-weights[t].weight, t),
        )
    )
    kinds = [item_kind(by_id[i][0]) for i in chosen]
    units = sum(UNITS[k] for k in kinds) + (LAB_UNITS if with_lab else 0.0)
    unit_ms = (minutes * 60_000 * ANSWER_SHARE / units) if units else 0.0
    questions = [
        PlannedQuestion(
            idx, kind, iid, item_topics(by_id[iid][0])[0], int(unit_ms * UNITS[kind]), round(by_id[iid][1], 4)
        )
        for idx, (iid, kind) in enumerate(zip(chosen, kinds))
    ]
    return DrillPlan(
        seed,
        float(minutes),
        tuple(sorted(wanted)),
        n_questions,
        questions,
        {t: round(w.weight, 4) for t, w in weights.items()},
        lab_topics,
        int(unit_ms * LAB_UNITS) if with_lab else 0,
    )


def seeded_plan(store: Store, deckset: DeckSet, now: datetime, seed: int | None = None, **options: Any) -> DrillPlan:
    """:func:`make_plan` with ``Random(seed)``; a fresh seed (:func:`new_seed`) when ``seed`` is None."""
    seed = seed if seed is not None else new_seed()
    return make_plan(store, deckset, now, Random(seed), seed=seed, **options)
