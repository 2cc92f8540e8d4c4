"""Browsing review items: the state each item is in, which items a search and the filters match, and
the order a column sorts them in (the rules the Browse screen shows; pure).

* A search matches when every word of it is in the item's id, front, back, tags or choice options
  (case-insensitive).
* Sorting is stable (ties keep the file order); Due and Ease put new cards last in either direction,
  as in Anki's browser; no sort column means file order (reversed when descending).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from mi_prep.core.due_text import due_cell
from mi_prep.core.scheduling import CardState
from mi_prep.core.session import ReviewItem

STATES = ("new", "learning", "review", "suspended", "leech", "buried")
SORT_KEYS = ("q", "deck", "tags", "state", "due", "ease", "lapses")


def state_label(state: CardState | None, now: datetime) -> str:
    """One of :data:`STATES` (suspended and buried first: they hide the phase; a suspended leech is "leech")."""
    if state is not None and state.suspended:
        return "leech" if state.leech else "suspended"
    if state is not None and state.buried_until is not None and state.buried_until > now:
        return "buried"
    if state is None or state.phase == "new":
        return "new"
    return "learning" if state.phase in ("learning", "relearning") else "review"


def one_line(text: str, limit: int = 300) -> str:
    """``text`` on one line (white space folded), cut with an ellipsis past ``limit`` characters."""
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


@dataclass(frozen=True)
class BrowseFilter:
    """The search words and the deck / tag / state filters (None: any)."""

    query: str = ""
    deck: str | None = None
    tag: str | None = None
    state: str | None = None

    def matches(self, item: ReviewItem, state: CardState | None, now: datetime) -> bool:
        if self.deck and item.deck.id != self.deck:
            return False
        if self.tag and self.tag not in item.tags:
            return False
        if self.state and state_label(state, now) != self.state:
            return False
        if self.query:
            card = item.card
            hay = " ".join(
                (item.item_id, card.front, card.back, " ".join(item.tags), " ".join(o.text for o in card.options))
                + (("leech",) if state is not None and state.leech else ())
            ).lower()
            return all(word in hay for word in self.query.lower().split())
        return True


SortValue = str | int | float | datetime
"""What a column sorts by (one type per column)."""


def sort_value(item: ReviewItem, state: CardState | None, key: str | None, now: datetime) -> SortValue | None:
    """The value ``item`` sorts by in column ``key``; None sorts last in either direction."""
    started = state if state is not None and state.phase != "new" else None
    if key == "q":
        return one_line(item.question()).casefold()
    if key == "deck":
        return item.deck.deck.name.casefold()
    if key == "tags":
        return " ".join(item.tags).casefold() or None
    if key == "state":
        return STATES.index(state_label(state, now))
    if key == "due":
        return started.due if started is not None else None
    if key == "ease":
        return started.ease if started is not None else None
    if key == "lapses":
        return state.lapses if state is not None else 0
    return None


def sort_items(
    items: Sequence[ReviewItem], states: Mapping[str, CardState], key: str | None, descending: bool, now: datetime
) -> list[ReviewItem]:
    if key is None:
        return list(reversed(items)) if descending else list(items)
    keyed = [(sort_value(i, states.get(i.item_id), key, now), i) for i in items]
    have = [(v, i) for v, i in keyed if v is not None]
    have.sort(key=lambda vi: vi[0], reverse=descending)  # stable: ties keep the file order
    return [i for _, i in have] + [i for v, i in keyed if v is None]


@dataclass(frozen=True)
class ScheduleCells:
    """An item's schedule as the table shows it."""

    state: str
    due: str
    ease: str
    lapses: str


def schedule_cells(state: CardState | None, now: datetime) -> ScheduleCells:
    started = state if state is not None and state.phase != "new" else None
    return ScheduleCells(
        state_label(state, now),
        due_cell(state, now),
        f"{started.ease:.0%}" if started is not None else "-",
        str(state.lapses) if state is not None else "0",
    )
