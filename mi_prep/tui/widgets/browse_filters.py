"""Browse's filter bar: the search box and the deck, tag and state pickers, and what to say when
they match nothing. Deck and tag names are shown literally (``Text``, never markup)."""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Input, Select

from mi_prep.core.browse import STATES, BrowseFilter
from mi_prep.core.deck import DeckSet


class BrowseFilters(Horizontal):
    def compose(self) -> ComposeResult:
        yield Input(placeholder="search text, id or tag  (/)", id="browse-search", compact=True)
        yield Select([], prompt="all decks", id="f-deck", compact=True)
        yield Select([], prompt="all tags", id="f-tag", compact=True)
        yield Select([(Text(s), s) for s in STATES], prompt="any state", id="f-state", compact=True)

    @property
    def search(self) -> Input:
        return self.query_one("#browse-search", Input)

    def current(self) -> BrowseFilter:
        def val(sel: str) -> str | None:
            v = self.query_one(sel, Select).value
            return None if v is Select.NULL else str(v)

        return BrowseFilter(self.search.value.strip().lower(), val("#f-deck"), val("#f-tag"), val("#f-state"))

    def set_choices(self, deckset: DeckSet, tags: list[str]) -> None:
        """Offer these decks and tags, keeping the picked ones that are still there (no Changed events)."""
        decks = self.query_one("#f-deck", Select)
        tag_select = self.query_one("#f-tag", Select)
        deck_value, tag_value = decks.value, tag_select.value
        with self.prevent(Select.Changed):
            decks.set_options([(Text(d.deck.name), d.id) for d in deckset.decks])
            tag_select.set_options([(Text(t), t) for t in tags])
            if deck_value in {d.id for d in deckset.decks}:
                decks.value = deck_value
            if tag_value in tags:
                tag_select.value = tag_value

    def clear(self) -> None:
        """Empty the search and drop every filter (no Changed events)."""
        with self.prevent(Input.Changed, Select.Changed):
            self.search.value = ""
            for sel in ("#f-deck", "#f-tag", "#f-state"):
                self.query_one(sel, Select).clear()


def no_match_message(f: BrowseFilter, search_text: str, deck_name: str | None, have_items: bool) -> Text:
    """The text shown instead of an empty table."""
    if not have_items:
        return Text("No cards yet: add a deck file (YAML) to your decks folder and it shows up here.")
    parts: list[tuple[str, str]] = []
    if f.query:
        parts.append(("search", search_text))
    if f.deck:
        parts.append(("deck", deck_name or f.deck))
    if f.tag:
        parts.append(("tag", f.tag))
    if f.state:
        parts.append(("state", f.state))
    msg = Text("No cards match ", style="bold")
    for n, (what, value) in enumerate(parts):
        if n:
            msg.append(" + ", style="bold")
        msg.append(f"{what} ", style="bold")
        msg.append(f"“{value}”", style="bold")
    msg.append(".\n\n")
    hints = []
    if f.query:
        hints.append("Esc or ctrl+u in the search box clears the search")
    if f.deck or f.tag or f.state:
        hints.append("Pick “all decks” / “all tags” / “any state” to drop a filter")
    hints.append("Press c (outside the search box) to clear every filter")
    msg.append(".\n".join(hints) + ".")
    return msg
