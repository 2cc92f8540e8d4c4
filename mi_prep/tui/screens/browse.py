"""Browse: a searchable table of every review item (a card, a reverse side or a cloze number).

Type in the search box (matches id, front, back, tags); filter by deck, tag and state
(new, learning, review, suspended, buried). Enter opens the card (text + info + history);
``s`` suspends / unsuspends the highlighted card; ``/`` jumps to the search box.
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from mi_prep.core.deck import DeckSet
from mi_prep.core.schedule import CardState, format_interval
from mi_prep.core.session import ReviewItem, items_for

STATES = ("new", "learning", "review", "suspended", "buried")
STATE_STYLES = {"new": "#5fafff", "learning": "#ff5f5f", "review": "#5fd75f", "suspended": "#ffaf00", "buried": "dim"}


def state_label(state: CardState | None, now: datetime) -> str:
    if state is not None and state.suspended:
        return "suspended"
    if state is not None and state.buried_until is not None and state.buried_until > now:
        return "buried"
    if state is None or state.phase == "new":
        return "new"
    return "learning" if state.phase in ("learning", "relearning") else "review"


def _one_line(text: str, width: int = 36) -> str:
    line = " ".join(text.split())
    return line if len(line) <= width else line[: width - 1] + "…"


class BrowseScreen(Screen[None]):
    BINDINGS = [
        Binding("escape", "close", "Home"),
        Binding("slash", "focus_search", "Search"),
        Binding("s", "toggle_suspend", "Suspend/unsuspend"),
        Binding("i", "open", "Card info"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[ReviewItem] = []
        self.states: dict[str, CardState] = {}
        self.shown: list[str] = []
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="browse-filters"):
            yield Input(placeholder="search text, id or tag  (/)", id="browse-search", compact=True)
            yield Select([], prompt="all decks", id="f-deck", compact=True)
            yield Select([], prompt="all tags", id="f-tag", compact=True)
            yield Select([(s, s) for s in STATES], prompt="any state", id="f-state", compact=True)
        yield Static("", id="browse-status")
        yield DataTable(id="browse-table", cursor_type="row", zebra_stripes=True)
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Browse"
        table = self.query_one("#browse-table", DataTable)
        table.add_column("Question", key="q", width=36)
        table.add_column("Deck", key="deck")
        table.add_column("Tags", key="tags")
        table.add_column("State", key="state")
        table.add_column("Due", key="due")
        table.add_column("Ease", key="ease")
        table.add_column("Lapses", key="lapses")
        self.load()
        table.focus()

    def decks_reloaded(self, deckset: DeckSet) -> None:
        self.load()

    # ---- data --------------------------------------------------------------------
    def load(self) -> None:
        deckset = self.app.deckset
        self.items = items_for(deckset)
        self.states = self.app.store.states()
        decks = self.query_one("#f-deck", Select)
        tags = self.query_one("#f-tag", Select)
        deck_value, tag_value = decks.value, tags.value
        decks.set_options([(d.deck.name, d.id) for d in deckset.decks])
        all_tags = sorted({t for i in self.items for t in i.tags})
        tags.set_options([(t, t) for t in all_tags])
        if deck_value in {d.id for d in deckset.decks}:
            decks.value = deck_value
        if tag_value in all_tags:
            tags.value = tag_value
        self.apply_filters()

    def _filters(self) -> tuple[str, str | None, str | None, str | None]:
        def val(sel: str) -> str | None:
            v = self.query_one(sel, Select).value
            return None if v is Select.NULL else str(v)

        return self.query_one("#browse-search", Input).value.strip().lower(), val("#f-deck"), val("#f-tag"), val("#f-state")

    def matches(self, item: ReviewItem, query: str, deck: str | None, tag: str | None, state: str | None,
                now: datetime) -> bool:
        if deck and item.deck.id != deck:
            return False
        if tag and tag not in item.tags:
            return False
        if state and state_label(self.states.get(item.item_id), now) != state:
            return False
        if query:
            card = item.card
            hay = " ".join((item.item_id, card.front, card.back, " ".join(item.tags),
                            " ".join(o.text for o in card.options))).lower()
            return all(word in hay for word in query.split())
        return True

    def _row(self, item: ReviewItem, now: datetime) -> list[object]:
        state = self.states.get(item.item_id)
        label = state_label(state, now)
        due = "-"
        if state is not None and state.due is not None and state.phase != "new":
            due = "now" if state.due <= now else format_interval(state.due - now)
        ease = f"{state.ease:.0%}" if state is not None and state.phase != "new" else "-"
        lapses = str(state.lapses) if state is not None else "0"
        return [
            _one_line(item.question()),
            item.deck.deck.name,
            " ".join(item.tags),
            Text(label, style=STATE_STYLES[label]),
            Text(due, justify="right"),
            Text(ease, justify="right"),
            Text(lapses, justify="right"),
        ]

    def apply_filters(self) -> None:
        now = self.app.now()
        query, deck, tag, state = self._filters()
        table = self.query_one("#browse-table", DataTable)
        table.clear()
        shown = [i for i in self.items if self.matches(i, query, deck, tag, state, now)]
        table.add_rows([self._row(i, now) for i in shown])
        # DataTable.add_rows gives generated keys; keep our own order -> item id map
        self.shown = [i.item_id for i in shown]
        self.query_one("#browse-status", Static).update(
            f"{len(shown)} of {len(self.items)} cards · Enter: open · s: suspend/unsuspend · Esc: Home"
        )

    def current_item_id(self) -> str | None:
        table = self.query_one("#browse-table", DataTable)
        if not self.shown or table.cursor_row < 0 or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row]

    # ---- events ------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.15, self.apply_filters)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.apply_filters()
        self.query_one("#browse-table", DataTable).focus()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.apply_filters()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    # ---- actions -----------------------------------------------------------------
    def action_focus_search(self) -> None:
        self.query_one("#browse-search", Input).focus()

    def action_open(self) -> None:
        item_id = self.current_item_id()
        if item_id is not None:
            from mi_prep.tui.screens.card_info import CardInfoScreen

            self.app.push_screen(CardInfoScreen(item_id))

    def action_toggle_suspend(self) -> None:
        item_id = self.current_item_id()
        if item_id is None:
            return
        now = self.app.now()
        store = self.app.store
        state = self.states.get(item_id)
        if state is not None and state.suspended:
            self.states[item_id] = store.unsuspend(item_id, now)
            self.notify(f"Unsuspended {item_id}", timeout=3)
        else:
            self.states[item_id] = store.suspend(item_id, now)
            self.notify(f"Suspended {item_id}", timeout=3)
        table = self.query_one("#browse-table", DataTable)
        row = table.cursor_row
        item = next(i for i in self.items if i.item_id == item_id)
        row_key = table.coordinate_to_cell_key((row, 0)).row_key
        for col, value in zip(("q", "deck", "tags", "state", "due", "ease", "lapses"), self._row(item, now)):
            table.update_cell(row_key, col, value)

    def action_close(self) -> None:
        if isinstance(self.focused, Input):
            self.query_one("#browse-table", DataTable).focus()
            return
        self.dismiss()
