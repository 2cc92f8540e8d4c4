"""Home: decks with new / learning / due counts, today's progress, streak, heatmap, interview countdown.

Enter on a deck reviews that deck; ``r`` reviews all decks. Labs whose review is due (a lab's score
schedules it like a card) are listed under the summary; ``L`` runs the first of them. Deck file
errors are listed here (``file:line: message``); the decks that loaded still work.
"""

from __future__ import annotations

from datetime import date, datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.widgets import Button, DataTable, Header, Static
from textual.widgets.button import ButtonVariant

from mi_prep.core.deck import DeckSet
from mi_prep.core.scheduling import study_day
from mi_prep.core.session import ReviewSession
from mi_prep.core.stats import MATURE_DAYS, compute
from mi_prep.core.today import due_by_deck, due_labs, review_days, streak, year_of_reviews
from mi_prep.tui.screens.base import MiPrepScreen
from mi_prep.tui.widgets.footer import AppFooter
from mi_prep.tui.widgets.heatmap import Heatmap
from mi_prep.tui.widgets.mastery_bar import bar, mastery_style

ACTIONS: list[tuple[str, str, str, ButtonVariant]] = [
    ("Review", "screen.review_all", "r", "primary"),
    ("Drill", "app.drill", "d", "default"),
    ("Labs", "app.labs", "l", "default"),
    ("Browse", "app.browse", "b", "default"),
    ("Stats", "app.stats", "s", "default"),
    ("Export", "app.export", "x", "default"),
]


class HomeScreen(MiPrepScreen[None]):
    IS_HOME = True
    BINDINGS = [
        Binding("r", "review_all", "Review all"),
        Binding("d", "app.drill", "Drill"),
        Binding("l", "app.labs", "Labs"),
        Binding("b", "app.browse", "Browse"),
        Binding("s", "app.stats", "Stats"),
        Binding("x", "app.export", "Export"),
        Binding("o", "app.settings", "Settings"),
        Binding("L", "run_due_lab", "Run due lab"),
        Binding("q", "app.quit", "Quit"),
    ]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="home-body"):
            yield Static("", id="summary")
            yield Static("", id="interview", classes="hidden")
            yield Static("", id="labs-due", classes="hidden")
            with Horizontal(id="home-actions"):
                for label, action, key, variant in ACTIONS:
                    yield Button(
                        f"{label} ({key})", id=f"btn-{label.lower()}", variant=variant, compact=True, action=action
                    )
            yield DataTable(id="decks", cursor_type="row", zebra_stripes=True)
            yield Static("", id="deck-empty", classes="hidden", markup=False)
            yield Static("", id="deck-errors", classes="hidden")
            with Vertical(id="topics-box", classes="hidden"):
                yield Static(
                    f"Topic mastery (long-term retention: a card counts fully at a {MATURE_DAYS}-day interval)",
                    classes="section-title",
                )
                yield Static("", id="topics")
            with Vertical(id="heatmap-box"):
                yield Static("Reviews", classes="section-title")
                yield Heatmap(id="heatmap")
        yield AppFooter()

    def on_mount(self) -> None:
        table = self.query_one("#decks", DataTable)
        table.add_column("Deck", key="deck")
        table.add_column("Cards", key="cards")
        table.add_column(Text("New", style="bold #5fafff"), key="new")
        table.add_column(Text("Learn", style="bold #ff5f5f"), key="learning")
        table.add_column(Text("Due", style="bold #5fd75f"), key="due")
        self.refresh_data()
        self._fresh = True
        table.focus()

    def on_screen_resume(self) -> None:
        if getattr(self, "_fresh", False):  # mounted just now: the data is current
            self._fresh = False
            return
        self.refresh_data()

    def decks_reloaded(self, deckset: DeckSet) -> None:
        self.refresh_data()

    # ---- data --------------------------------------------------------------------
    def refresh_data(self) -> None:
        app = self.mi_app
        store, deckset, now = app.store, app.deckset, app.now()
        per_deck = due_by_deck(store, deckset, now)
        today_left = ReviewSession(store, deckset, now).counts(now)
        done = store.today_counts(now)
        per_day = review_days(store, now)
        days = streak(store, now, per_day)

        summary = Text()
        summary.append("Today ", style="bold")
        summary.append(f"{done['total']} reviewed", style="bold")
        summary.append(f" ({done['new']} new) · ")
        summary.append(f"streak {days} day{'s' if days != 1 else ''}", style="bold #ffaf00" if days else "dim")
        summary.append(" · left today: ")
        summary.append(f"{today_left.new} new", style="bold #5fafff")
        summary.append(" ")
        summary.append(f"{today_left.learning} learning", style="bold #ff5f5f")
        summary.append(" ")
        summary.append(f"{today_left.review} due", style="bold #5fd75f")
        self.query_one("#summary", Static).update(summary)
        self.due_labs = due_labs(store, now)
        labs_line = self.query_one("#labs-due", Static)
        if self.due_labs:
            labs_line.update(
                Text.assemble(
                    ("Labs due: ", "bold"),
                    (", ".join(self.due_labs), "bold #5fd75f"),
                    ("  ·  L runs ", "dim"),
                    (self.due_labs[0], "dim"),
                )
            )
        labs_line.set_class(not self.due_labs, "hidden")
        self.refresh_bindings()

        table = self.query_one("#decks", DataTable)
        cursor = table.cursor_row
        table.clear()
        for loaded in deckset.decks:
            c = per_deck.get(loaded.id)
            n_cards = sum(len(card.item_ids()) for card in loaded.deck.cards)
            table.add_row(
                Text(loaded.deck.name),
                Text(str(n_cards), style="dim", justify="right"),
                Text(str(c.new if c else 0), style="#5fafff" if c and c.new else "dim", justify="right"),
                Text(str(c.learning if c else 0), style="#ff5f5f" if c and c.learning else "dim", justify="right"),
                Text(str(c.review if c else 0), style="#5fd75f" if c and c.review else "dim", justify="right"),
                key=loaded.id,
            )
        if deckset.decks:
            table.move_cursor(row=min(max(cursor, 0), len(deckset.decks) - 1))
        table.display = bool(deckset.decks)
        empty = self.query_one("#deck-empty", Static)
        if not deckset.decks:
            where = ", ".join(str(p) for p in app.ctx.deck_paths) or "(none)"
            empty.update(
                f"No decks yet. Put deck YAML files in {where} (or pass --decks DIR / set MI_PREP_DECKS); "
                "`mi-prep check` validates them. Files added here are picked up automatically."
            )
        empty.set_class(bool(deckset.decks), "hidden")

        errors = self.query_one("#deck-errors", Static)
        if deckset.errors:
            text = Text(f"{len(deckset.errors)} deck error(s) — the other decks still work:\n", style="bold")
            for issue in deckset.errors[:20]:
                text.append(f"{issue}\n")
            if len(deckset.errors) > 20:
                text.append(f"... and {len(deckset.errors) - 20} more (run `mi-prep check`)\n", style="dim")
            errors.update(text)
        errors.set_class(not deckset.errors, "hidden")

        self.query_one("#heatmap", Heatmap).set_data(year_of_reviews(per_day, now), study_day(now))
        self._interview(store.get_config("interview-date"), now)

    def _interview(self, raw: str | None, now: datetime) -> None:
        """The interview line and topic mastery (the statistics are computed only when a date is set)."""
        box = self.query_one("#interview", Static)
        topics_box = self.query_one("#topics-box")
        today = study_day(now)
        if not raw:
            box.add_class("hidden")
            topics_box.add_class("hidden")
            return
        try:
            day = date.fromisoformat(raw)
        except ValueError:
            box.update(Text(f"interview-date {raw!r} is not a date (YYYY-MM-DD)"))
            box.remove_class("hidden")
            return
        left = (day - today).days
        if left > 0:
            msg = f"Interview in {left} day{'s' if left != 1 else ''} ({day.isoformat()})"
        elif left == 0:
            msg = f"Interview today ({day.isoformat()}) — good luck!"
        else:
            msg = f"Interview date {day.isoformat()} has passed (o: Settings to set a new one)"
        app = self.mi_app
        stats = compute(app.store, app.deckset, now)
        seen = f"  ·  items seen {stats.seen_items}/{stats.total_items}"
        box.update(Text(msg, style="bold") + Text(seen, style="dim"))
        box.remove_class("hidden")
        lines = Text()
        width = max([len(t.topic) for t in stats.topics] + [5])
        for t in sorted(stats.topics, key=lambda t: t.mastery):
            lines.append(f"{t.topic:<{width}} ")
            lines.append(bar(t.mastery, 16), style=mastery_style(t.mastery))
            lines.append(f" {t.mastery:>4.0%}  seen {t.seen}/{t.cards}\n", style="dim")
        if not stats.topics:
            lines.append("no topics yet", style="dim")
        self.query_one("#topics", Static).update(lines)
        topics_box.remove_class("hidden")

    # ---- actions -----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "run_due_lab":
            return bool(getattr(self, "due_labs", None))
        return True

    def action_review_all(self) -> None:
        self.mi_app.action_review()

    def action_run_due_lab(self) -> None:
        if getattr(self, "due_labs", None):
            self.mi_app.action_labs(self.due_labs[0])

    def on_data_table_row_selected(self, event: DataTable.RowSelected) -> None:
        event.stop()
        if event.row_key.value is not None:
            self.mi_app.action_review(str(event.row_key.value))
