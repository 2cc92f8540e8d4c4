"""Which topics a deck item belongs to (drills weigh, score and boost by topic)."""

from __future__ import annotations

from mi_prep.core.deck import DeckSet
from mi_prep.core.session import ReviewItem


def item_topics(item: ReviewItem) -> tuple[str, ...]:
    """An item's topics: its deck's tags, else the deck id (as in :mod:`mi_prep.core.stats`)."""
    return tuple(item.deck.deck.tags) or (item.deck.id,)


def known_topics(deckset: DeckSet) -> list[str]:
    """Every topic of the decks, sorted (what ``--topics`` can name)."""
    return sorted({t for d in deckset.decks for t in (d.deck.tags or (d.id,))})
