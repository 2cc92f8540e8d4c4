"""Browse: a searchable, sortable table of every review item (a card, a reverse side or a cloze number).

Type in the search box (matches id, front, back, tags); filter by deck, tag and state
(new, learning, review, suspended, buried). Enter / ``i`` opens the card (text + info + history);
``s`` suspends / unsuspends the highlighted card; ``e`` edits it in ``$EDITOR`` at its line;
``/`` jumps to the search box (Esc there clears it); ``c`` clears every filter.

Sorting (as in Anki's browser): click a column header (again to reverse) or press ``o`` to cycle
the sort column and ``O`` to reverse it. Due and Ease put new cards last in either direction.

Layout: State, Due, Ease and Lapses keep fixed widths; the question takes what is left (cut with
an ellipsis); Deck shrinks and Tags is dropped on narrow terminals. The table is rebuilt to fit
whenever the screen is resized.

All deck and user text is passed to widgets as :class:`rich.text.Text`, never as markup.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from rich.cells import cell_len
from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal
from textual.screen import Screen
from textual.timer import Timer
from textual.widgets import DataTable, Footer, Header, Input, Select, Static

from mi_prep.core.deck import DeckSet
from mi_prep.core.scheduling import CardState, format_interval
from mi_prep.core.session import ReviewItem, items_for
from mi_prep.tui.storage import guarded
from mi_prep.tui.editor import open_in_editor

STATES = ("new", "learning", "review", "suspended", "buried")
STATE_STYLES = {"new": "#5fafff", "learning": "#ff5f5f", "review": "#5fd75f", "suspended": "#ffaf00", "buried": "dim"}

# column key -> header label; the order is the table's column order and the `o` cycle order
COLUMNS = {"q": "Question", "deck": "Deck", "tags": "Tags", "state": "State", "due": "Due",
           "ease": "Ease", "lapses": "Lapses"}
# content widths of the columns that are never cut ("suspended", "10.5mo", "1000%", header "Lapses")
FIXED_WIDTHS = {"state": 9, "due": 6, "ease": 5, "lapses": 6}
RIGHT_ALIGNED = ("due", "ease", "lapses")
SORT_CYCLE = (None, "q", "deck", "tags", "state", "due", "ease", "lapses")
TAGS_MIN_WIDTH = 100  # below this many columns the Tags column is dropped (the tag filter remains)
QUESTION_MIN = 12
ARROWS = {False: "↑", True: "↓"}


def state_label(state: CardState | None, now: datetime) -> str:
    if state is not None and state.suspended:
        return "suspended"
    if state is not None and state.buried_until is not None and state.buried_until > now:
        return "buried"
    if state is None or state.phase == "new":
        return "new"
    return "learning" if state.phase in ("learning", "relearning") else "review"


def _one_line(text: str, limit: int = 300) -> str:
    line = " ".join(text.split())
    return line if len(line) <= limit else line[: limit - 1] + "…"


def _cut(text: str) -> Text:
    """One literal line that the table cuts with an ellipsis instead of wrapping."""
    return Text(_one_line(text), no_wrap=True, overflow="ellipsis", end="")


@dataclass(frozen=True)
class ColumnSpec:
    key: str
    label: str
    width: int


def plan_columns(width: int, deck_names: list[str], tag_texts: list[str], sort_key: str | None,
                 descending: bool, *, padding: int = 1, scrollbar: int = 2) -> list[ColumnSpec]:
    """Column widths for a table ``width`` cells wide: the fixed columns first, then Deck and Tags
    (shrunk, or dropped when there is no room), the question gets the rest."""

    def label(key: str) -> str:
        return COLUMNS[key] + (f" {ARROWS[descending]}" if key == sort_key else "")

    def need(key: str, content: int) -> int:
        return max(content, cell_len(label(key)))

    pad = 2 * padding
    avail = max(0, width - scrollbar)
    fixed = {k: need(k, w) for k, w in FIXED_WIDTHS.items()}
    rest = avail - sum(w + pad for w in fixed.values()) - pad  # what Question, Deck and Tags share
    widths: dict[str, int] = {}
    longest_deck = max((cell_len(n) for n in deck_names), default=4)
    longest_tags = max((cell_len(t) for t in tag_texts), default=4)
    share = rest // 5  # Deck and Tags get up to a fifth each of what is left
    if rest - QUESTION_MIN >= 8 + pad:
        widths["deck"] = max(need("deck", 0), min(longest_deck, max(10, share), rest - QUESTION_MIN - pad))
        rest -= widths["deck"] + pad
    if width >= TAGS_MIN_WIDTH and rest - QUESTION_MIN >= 8 + pad:
        widths["tags"] = max(need("tags", 0), min(longest_tags, max(8, share)))
        rest -= widths["tags"] + pad
    widths["q"] = max(QUESTION_MIN, rest)
    widths.update(fixed)
    return [ColumnSpec(k, label(k), widths[k]) for k in COLUMNS if k in widths]


class BrowseScreen(Screen[None]):
    DEFAULT_CSS = """
    BrowseScreen #browse-filters SelectCurrent { height: 1; }
    BrowseScreen #browse-filters SelectCurrent Static#label {
        height: 1;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    BrowseScreen #browse-filters SelectOverlay {
        width: 40;
        max-width: 90vw;
        text-wrap: nowrap;
        text-overflow: ellipsis;
    }
    BrowseScreen #browse-filters #f-tag > SelectOverlay, BrowseScreen #browse-filters #f-state > SelectOverlay {
        width: 30;
    }
    BrowseScreen #browse-status { text-wrap: nowrap; text-overflow: ellipsis; }
    BrowseScreen #browse-empty {
        display: none;
        height: 1fr;
        padding: 1 2;
        content-align: center middle;
        text-align: center;
        color: $text-muted;
    }
    """

    BINDINGS = [
        Binding("escape", "close", "Home"),
        Binding("slash", "focus_search", "Search"),
        Binding("s", "toggle_suspend", "Suspend"),
        Binding("i", "open", "Info"),
        Binding("e", "edit", "Edit"),
        Binding("o", "cycle_sort", "Sort"),
        Binding("O", "reverse_sort", "Reverse sort", show=False),
        Binding("c", "clear_filters", "Clear"),
    ]

    def __init__(self) -> None:
        super().__init__()
        self.items: list[ReviewItem] = []
        self.by_id: dict[str, ReviewItem] = {}
        self.states: dict[str, CardState] = {}
        self.shown: list[str] = []
        self.sort_key: str | None = None
        self.sort_desc = False
        self.columns: list[ColumnSpec] = []
        self._debounce: Timer | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with Horizontal(id="browse-filters"):
            yield Input(placeholder="search text, id or tag  (/)", id="browse-search", compact=True)
            yield Select([], prompt="all decks", id="f-deck", compact=True)
            yield Select([], prompt="all tags", id="f-tag", compact=True)
            yield Select([(Text(s), s) for s in STATES], prompt="any state", id="f-state", compact=True)
        yield Static("", id="browse-status")
        yield DataTable(id="browse-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="browse-empty")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Browse"
        self.load()
        self.query_one("#browse-table", DataTable).focus()

    def decks_reloaded(self, deckset: DeckSet) -> None:
        self.load()

    def on_resize(self, event: events.Resize) -> None:
        self.call_after_refresh(self.refresh_table)

    # ---- data --------------------------------------------------------------------
    def load(self) -> None:
        deckset = self.app.deckset
        self.items = items_for(deckset)
        self.by_id = {i.item_id: i for i in self.items}
        self.states = self.app.store.states()
        decks = self.query_one("#f-deck", Select)
        tags = self.query_one("#f-tag", Select)
        deck_value, tag_value = decks.value, tags.value
        with self.prevent(Select.Changed):
            decks.set_options([(Text(d.deck.name), d.id) for d in deckset.decks])
            all_tags = sorted({t for i in self.items for t in i.tags})
            tags.set_options([(Text(t), t) for t in all_tags])
            if deck_value in {d.id for d in deckset.decks}:
                decks.value = deck_value
            if tag_value in all_tags:
                tags.value = tag_value
        self.refresh_table()

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

    def sort_value(self, item: ReviewItem, key: str | None, now: datetime) -> object | None:
        """The value ``item`` sorts by in column ``key``; None sorts last in either direction."""
        state = self.states.get(item.item_id)
        started = state is not None and state.phase != "new"
        if key == "q":
            return _one_line(item.question()).casefold()
        if key == "deck":
            return item.deck.deck.name.casefold()
        if key == "tags":
            return " ".join(item.tags).casefold() or None
        if key == "state":
            return STATES.index(state_label(state, now))
        if key == "due":
            return state.due if started and state.due is not None else None
        if key == "ease":
            return state.ease if started else None
        if key == "lapses":
            return state.lapses if state is not None else 0
        return None

    def sorted_items(self, items: list[ReviewItem], now: datetime) -> list[ReviewItem]:
        if self.sort_key is None:
            return list(reversed(items)) if self.sort_desc else list(items)
        keyed = [(self.sort_value(i, self.sort_key, now), i) for i in items]
        have = [(v, i) for v, i in keyed if v is not None]
        have.sort(key=lambda vi: vi[0], reverse=self.sort_desc)  # stable: ties keep the file order
        return [i for _, i in have] + [i for v, i in keyed if v is None]

    def _cells(self, item: ReviewItem, now: datetime) -> dict[str, object]:
        state = self.states.get(item.item_id)
        label = state_label(state, now)
        due = "-"
        if state is not None and state.due is not None and state.phase != "new":
            due = "now" if state.due <= now else format_interval(state.due - now)
        ease = f"{state.ease:.0%}" if state is not None and state.phase != "new" else "-"
        lapses = str(state.lapses) if state is not None else "0"
        return {
            "q": _cut(item.question()),
            "deck": _cut(item.deck.deck.name),
            "tags": _cut(" ".join(item.tags)),
            "state": Text(label, style=STATE_STYLES[label], end=""),
            "due": Text(due, justify="right", end=""),
            "ease": Text(ease, justify="right", end=""),
            "lapses": Text(lapses, justify="right", end=""),
        }

    def _row(self, item: ReviewItem, now: datetime) -> list[object]:
        cells = self._cells(item, now)
        return [cells[c.key] for c in self.columns]

    def _fit_columns(self, table: DataTable) -> None:
        # a hidden table (empty state) keeps a stale size: the table spans the screen, so use that
        width = (table.size.width if table.display else 0) or self.size.width or self.app.size.width
        plan = plan_columns(
            width,
            [d.deck.name for d in self.app.deckset.decks],
            [" ".join(i.tags) for i in self.items],
            self.sort_key, self.sort_desc,
            padding=table.cell_padding,
            scrollbar=table.styles.scrollbar_size_vertical,
        )
        if plan == self.columns and len(table.columns) == len(plan):
            return
        table.clear(columns=True)
        self.columns = plan
        for c in plan:
            label = Text(c.label, justify="right" if c.key in RIGHT_ALIGNED else "left", end="")
            table.add_column(label, key=c.key, width=c.width)

    def refresh_table(self) -> None:
        """Fit the columns to the width, then show the filtered, sorted items; the cursor stays on
        the same card when it is still shown."""
        now = self.app.now()
        query, deck, tag, state = self._filters()
        table = self.query_one("#browse-table", DataTable)
        keep, keep_row = self.current_item_id(), table.cursor_row
        self._fit_columns(table)
        table.clear()
        shown = self.sorted_items([i for i in self.items if self.matches(i, query, deck, tag, state, now)], now)
        for item in shown:
            table.add_row(*self._row(item, now), key=item.item_id)
        self.shown = [i.item_id for i in shown]
        if shown:
            row = self.shown.index(keep) if keep in self.shown else min(max(keep_row, 0), len(shown) - 1)
            table.move_cursor(row=row, animate=False)
        self._show_empty(not shown, query, deck, tag, state)
        self._update_status()
        self.refresh_bindings()

    # kept under the old name: other code and tests call it after changing a filter
    apply_filters = refresh_table

    def _show_empty(self, empty: bool, query: str, deck: str | None, tag: str | None, state: str | None) -> None:
        table = self.query_one("#browse-table", DataTable)
        box = self.query_one("#browse-empty", Static)
        if empty:
            box.update(self.empty_message(query, deck, tag, state))
            if self.focused is table:
                self.set_focus(None)
        elif not table.display and self.focused is None:
            self.call_after_refresh(table.focus)
        table.display = not empty
        box.display = empty

    def empty_message(self, query: str, deck: str | None, tag: str | None, state: str | None) -> Text:
        if not self.items:
            return Text("No cards yet: add a deck file (YAML) to your decks folder and it shows up here.")
        parts: list[tuple[str, str]] = []
        if query:
            parts.append(("search", self.query_one("#browse-search", Input).value.strip()))
        if deck:
            name = next((d.deck.name for d in self.app.deckset.decks if d.id == deck), deck)
            parts.append(("deck", name))
        if tag:
            parts.append(("tag", tag))
        if state:
            parts.append(("state", state))
        msg = Text("No cards match ", style="bold")
        for n, (what, value) in enumerate(parts):
            if n:
                msg.append(" + ", style="bold")
            msg.append(f"{what} ", style="bold")
            msg.append(f"“{value}”", style="bold")
        msg.append(".\n\n")
        hints = []
        if query:
            hints.append("Esc or ctrl+u in the search box clears the search")
        if deck or tag or state:
            hints.append("Pick “all decks” / “all tags” / “any state” to drop a filter")
        hints.append("Press c (outside the search box) to clear every filter")
        msg.append(".\n".join(hints) + ".")
        return msg

    def _update_status(self) -> None:
        status = Text(f"{len(self.shown)} of {len(self.items)} cards · ", end="")
        if self.sort_key is None:
            status.append("file order" + (" (reversed)" if self.sort_desc else ""))
        else:
            status.append(f"sorted by {COLUMNS[self.sort_key]} {ARROWS[self.sort_desc]}")
        status.append(" (o: next column, O: reverse) · Enter: open")
        self.query_one("#browse-status", Static).update(status)

    def current_item_id(self) -> str | None:
        table = self.query_one("#browse-table", DataTable)
        if not self.shown or table.cursor_row < 0 or table.cursor_row >= len(self.shown):
            return None
        return self.shown[table.cursor_row]

    # ---- events ------------------------------------------------------------------
    def on_input_changed(self, event: Input.Changed) -> None:
        if self._debounce is not None:
            self._debounce.stop()
        self._debounce = self.set_timer(0.15, self.refresh_table)

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.refresh_table()
        if self.shown:  # with nothing shown stay in the search box, where Esc / ctrl+u clear it
            self._focus_table()

    def on_select_changed(self, event: Select.Changed) -> None:
        self.refresh_table()

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        self.action_open()

    def on_data_table_header_selected(self, event: DataTable.HeaderSelected) -> None:
        event.stop()
        key = event.column_key.value
        if key == self.sort_key:
            self.sort_desc = not self.sort_desc
        else:
            self.sort_key, self.sort_desc = key, False
        self.refresh_table()

    # ---- actions -----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action in ("toggle_suspend", "open", "edit") and not self.shown:
            return None  # shown dimmed in the footer: no card to act on
        return True

    def _focus_table(self) -> None:
        table = self.query_one("#browse-table", DataTable)
        if table.display:
            table.focus()
        else:
            self.set_focus(None)

    def action_focus_search(self) -> None:
        self.query_one("#browse-search", Input).focus()

    def action_open(self) -> None:
        item_id = self.current_item_id()
        if item_id is not None:
            from mi_prep.tui.screens.card_info import CardInfoScreen

            self.app.push_screen(CardInfoScreen(item_id))

    def action_edit(self) -> None:
        item = self.by_id.get(self.current_item_id() or "")
        if item is None:
            self.notify("No card is highlighted", timeout=3)
            return
        # the helper suspends the app, runs $EDITOR +line and polls the decks; the reload that
        # follows calls decks_reloaded, which keeps the cursor on this card
        open_in_editor(self, item.deck.path, item.line)

    def action_cycle_sort(self) -> None:
        visible = [k for k in SORT_CYCLE if k is None or any(c.key == k for c in self.columns)]
        at = visible.index(self.sort_key) if self.sort_key in visible else 0
        self.sort_key, self.sort_desc = visible[(at + 1) % len(visible)], False
        self.refresh_table()

    def action_reverse_sort(self) -> None:
        self.sort_desc = not self.sort_desc
        self.refresh_table()

    def action_clear_filters(self) -> None:
        with self.prevent(Input.Changed, Select.Changed):
            self.query_one("#browse-search", Input).value = ""
            for sel in ("#f-deck", "#f-tag", "#f-state"):
                self.query_one(sel, Select).clear()
        self.refresh_table()
        self._focus_table()

    def action_toggle_suspend(self) -> None:
        item_id = self.current_item_id()
        if item_id is None:
            return
        now = self.app.now()
        store = self.app.store
        state = self.states.get(item_id)
        if state is not None and state.suspended:
            saved, new_state = guarded(self.app, store.unsuspend, item_id, now)
            done = "Unsuspended"
        else:
            saved, new_state = guarded(self.app, store.suspend, item_id, now)
            done = "Suspended"
        if not saved:
            return
        self.states[item_id] = new_state
        self.notify(f"{done} {item_id}", timeout=3, markup=False)
        table = self.query_one("#browse-table", DataTable)
        cells = self._cells(self.by_id[item_id], now)
        for c in self.columns:
            table.update_cell(item_id, c.key, cells[c.key])

    def action_close(self) -> None:
        search = self.query_one("#browse-search", Input)
        if self.focused is search:
            if search.value:  # Esc in the search box clears the search
                with self.prevent(Input.Changed):
                    search.value = ""
                self.refresh_table()
            self._focus_table()
            return
        self.dismiss()
