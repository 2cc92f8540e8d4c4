"""What today looks like outside a review session: per-deck due counts, the states Browse and card info
show (siblings held back today appear buried), labs due for review, and the study streak.

Built on :mod:`mi_prep.core.session` (the queue rules live there; this module applies the same ones).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime, timedelta

from mi_prep.core.deck import DeckSet
from mi_prep.core.scheduling import CardState, next_day_start, study_day
from mi_prep.core.session import Counts, ReviewItem, answered_by_card, classify, has_answered_sibling, items_for
from mi_prep.core.store import Store


def sibling_buried_ids(
    store: Store, items: Iterable[ReviewItem], states: dict[str, CardState], now: datetime
) -> set[str]:
    """New or due review items held back today because a sibling was answered (see the module doc)."""
    answered = answered_by_card(store, now)
    day_end = next_day_start(now)
    return {
        i.item_id
        for i in items
        if has_answered_sibling(answered, i) and classify(states.get(i.item_id), now, day_end) in ("new", "review")
    }


def states_as_shown(
    store: Store, items: Iterable[ReviewItem], states: dict[str, CardState], now: datetime
) -> dict[str, CardState]:
    """``states`` with the items whose sibling was answered today shown buried until the next study day
    (for Browse and card info; nothing is stored: the burial is read from today's log)."""
    items = list(items)
    held = sibling_buried_ids(store, items, states, now)
    if not held:
        return states
    until = next_day_start(now)
    shown = dict(states)
    for item_id in held:
        base = states.get(item_id) or CardState(item_id, scheduler=store.scheduler_name)
        shown[item_id] = base.evolve(buried_until=until)
    return shown


def due_by_deck(store: Store, deckset: DeckSet, now: datetime) -> dict[str, Counts]:
    """Per-deck counts of new (uncapped), learning and review items due today (siblings held back today
    left out, as the review queue leaves them out)."""
    states = store.states()
    day_end = next_day_start(now)
    out: dict[str, Counts] = {d.id: Counts() for d in deckset.decks}
    items = items_for(deckset)
    held = sibling_buried_ids(store, items, states, now)
    for item in items:
        kind = None if item.item_id in held else classify(states.get(item.item_id), now, day_end)
        if kind:
            c = out[item.deck.id]
            setattr(c, kind, getattr(c, kind) + 1)
    return out


LAB_PREFIX = "lab:"


def lab_item_id(lab_name: str) -> str:
    """The review item a lab is scheduled as (its score rates it like a card)."""
    return LAB_PREFIX + lab_name


def due_labs(store: Store, now: datetime) -> list[str]:
    """Labs (items ``lab:NAME``, scheduled from lab scores) due by the end of today, most overdue first."""
    day_end = next_day_start(now)
    due = [
        (s.due, item_id.removeprefix(LAB_PREFIX))
        for item_id, s in store.states(LAB_PREFIX).items()
        if s.available(now) and s.due is not None and s.due < day_end
    ]
    return [name for _, name in sorted(due)]


def review_days(store: Store, now: datetime) -> Counter[date]:
    """Answers (not undone) per study day, in ``now``'s zone."""
    tz = now.tzinfo
    return Counter(study_day(ts, tz) for ts in store.review_times())


def streak(store: Store, now: datetime, days: Iterable[date] | None = None) -> int:
    """Consecutive study days with at least one review, ending today (or yesterday if none yet today).
    ``days``: the study days with reviews when already read (:func:`review_days`)."""
    studied = set(review_days(store, now) if days is None else days)
    today = study_day(now)
    day = today if today in studied else today - timedelta(days=1)
    n = 0
    while day in studied:
        n += 1
        day -= timedelta(days=1)
    return n


def year_of_reviews(per_day: Counter[date], now: datetime) -> dict[date, int]:
    """The last 365 study days of :func:`review_days` (the heatmap's data)."""
    year_ago = study_day(now) - timedelta(days=365)
    return {d: n for d, n in per_day.items() if d > year_ago}
