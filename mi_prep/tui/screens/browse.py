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

from datetime import datetime

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.timer import Timer
from textual.widgets import DataTable, Header, Input, Select, Static

from mi_prep.core.browse import BrowseFilter, schedule_cells, sort_items
from mi_prep.core.deck import DeckSet
from mi_prep.core.scheduling import CardState
from mi_prep.core.session import ReviewItem, items_for
from mi_prep.core.today import states_as_shown
from mi_prep.tui.editor import open_in_editor
from mi_prep.tui.screens.base import MiPrepScreen
from mi_prep.tui.storage import guarded
from mi_prep.tui.widgets.browse_columns import ARROWS, COLUMNS, SORT_CYCLE, ColumnSpec, header, item_cells, plan_columns
from mi_prep.tui.widgets.browse_filters import BrowseFilters, no_match_message
from mi_prep.tui.widgets.footer import AppFooter


class BrowseScreen(MiPrepScreen[None]):
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
        yield BrowseFilters(id="browse-filters")
        yield Static("", id="browse-status")
        yield DataTable(id="browse-table", cursor_type="row", zebra_stripes=True)
        yield Static("", id="browse-empty")
        yield AppFooter()

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
        self.items = items_for(self.mi_app.deckset)
        self.by_id = {i.item_id: i for i in self.items}
        store = self.mi_app.store
        self.states = states_as_shown(store, self.items, store.states(), self.mi_app.now())
        self.query_one(BrowseFilters).set_choices(self.mi_app.deckset, sorted({t for i in self.items for t in i.tags}))
        self.refresh_table()

    def _cells(self, item: ReviewItem, now: datetime) -> dict[str, Text]:
        return item_cells(item, schedule_cells(self.states.get(item.item_id), now))

    def _fit_columns(self, table: DataTable) -> None:
        # a hidden table (empty state) keeps a stale size: the table spans the screen, so use that
        width = (table.size.width if table.display else 0) or self.size.width or self.app.size.width
        plan = plan_columns(
            width,
            [d.deck.name for d in self.mi_app.deckset.decks],
            [" ".join(i.tags) for i in self.items],
            self.sort_key,
            self.sort_desc,
            padding=table.cell_padding,
            scrollbar=table.styles.scrollbar_size_vertical,
        )
        if plan == self.columns and len(table.columns) == len(plan):
            return
        table.clear(columns=True)
        self.columns = plan
        for c in plan:
            table.add_column(header(c), key=c.key, width=c.width)

    def refresh_table(self) -> None:
        """Fit the columns to the width, then show the filtered, sorted items; the cursor stays on
        the same card when it is still shown."""
        now = self.mi_app.now()
        f = self.query_one(BrowseFilters).current()
        table = self.query_one("#browse-table", DataTable)
        keep, keep_row = self.current_item_id(), table.cursor_row
        self._fit_columns(table)
        table.clear()
        matching = [i for i in self.items if f.matches(i, self.states.get(i.item_id), now)]
        shown = sort_items(matching, self.states, self.sort_key, self.sort_desc, now)
        for item in shown:
            cells = self._cells(item, now)
            table.add_row(*(cells[c.key] for c in self.columns), key=item.item_id)
        self.shown = [i.item_id for i in shown]
        if shown:
            row = self.shown.index(keep) if keep in self.shown else min(max(keep_row, 0), len(shown) - 1)
            table.move_cursor(row=row, animate=False)
        self._show_empty(not shown, f)
        self._update_status()
        self.refresh_bindings()

    # kept under the old name: other code and tests call it after changing a filter
    apply_filters = refresh_table

    def _show_empty(self, empty: bool, f: BrowseFilter) -> None:
        table = self.query_one("#browse-table", DataTable)
        box = self.query_one("#browse-empty", Static)
        if empty:
            deck_name = next((d.deck.name for d in self.mi_app.deckset.decks if d.id == f.deck), None)
            search = self.query_one("#browse-search", Input).value.strip()
            box.update(no_match_message(f, search, deck_name, bool(self.items)))
            if self.focused is table:
                self.set_focus(None)
        elif not table.display and self.focused is None:
            self.call_after_refresh(table.focus)
        table.display = not empty
        box.display = empty

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
        self.query_one(BrowseFilters).clear()
        self.refresh_table()
        self._focus_table()

    def action_toggle_suspend(self) -> None:
        item_id = self.current_item_id()
        if item_id is None:
            return
        now = self.mi_app.now()
        store = self.mi_app.store
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
