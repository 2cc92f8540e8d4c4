"""Feedback from a drill to scheduling: missed topics come round again within a day.

When a drill ends, for every topic scoring below 60% (:data:`BOOST_BELOW`), every already-seen, not
suspended item of that topic (all decks, not only the drilled cards; ``lab:NAME`` too when a lab's
topic missed) gets ``store.boost(item, now, due=now + 1 day)``, which makes it due no later than
tomorrow (an item already due sooner keeps its date). Boosts are log events, so replaying the log
still rebuilds the same state.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from mi_prep.core.deck import DeckSet
from mi_prep.core.drill.topics import item_topics
from mi_prep.core.session import items_for
from mi_prep.core.store import Store

BOOST_BELOW = 0.6
"""Topics scoring below this in a drill have their seen items made due within a day."""
BOOST_WITHIN = timedelta(days=1)


def apply_boosts(
    store: Store,
    deckset: DeckSet,
    topics: dict[str, float | None],
    now: datetime,
    lab_name: str | None = None,
    lab_topics: Sequence[str] = (),
) -> dict[str, int]:
    """The boost rule (module docstring). Returns, per missed topic, how many items moved earlier."""
    missed = {t for t, s in topics.items() if s is not None and s < BOOST_BELOW}
    if not missed:
        return {}
    due = now + BOOST_WITHIN
    states = store.states()
    out: dict[str, int] = {t: 0 for t in sorted(missed)}
    targets: dict[str, str] = {}
    for item in items_for(deckset):
        hit = [t for t in item_topics(item) if t in missed]
        if hit:
            targets.setdefault(item.item_id, hit[0])
    if lab_name and (missed & set(lab_topics) or f"lab:{lab_name}" in missed):
        targets[f"lab:{lab_name}"] = next(iter(sorted(missed & set(lab_topics))), f"lab:{lab_name}")
    for item_id, topic in sorted(targets.items()):
        s = states.get(item_id)
        if s is None or s.phase == "new" or s.suspended:
            continue
        before = s.due
        store.boost(item_id, now, due)
        if before is None or before > due:
            out[topic] = out.get(topic, 0) + 1
    return out
