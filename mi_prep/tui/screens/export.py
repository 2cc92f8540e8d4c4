"""Export: choose decks and an output path; the Anki ``.apkg`` is written in a worker thread.

Uses :func:`mi_prep.core.anki.export_apkg` (imported when the export runs); its report or the
:class:`~mi_prep.core.anki.ExportError` is shown below the button (scrolled into view) and as a toast.

Each deck is listed with both counts: its YAML cards (= Anki notes) and the Anki cards they make,
one per review item (``Card.item_ids()``: a reverse card makes 2, a cloze card one per deletion
number), which is the number Home shows. Deck names are shown literally, never read as markup.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from rich.text import Text
from textual import work
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.notifications import SeverityLevel
from textual.widgets import Button, Header, Input, LoadingIndicator, SelectionList, Static
from textual.widgets.selection_list import Selection
from textual.worker import Worker, WorkerState

from mi_prep.tui.screens.base import MiPrepScreen
from mi_prep.tui.widgets.footer import AppFooter


class ExportScreen(MiPrepScreen[None]):
    BINDINGS = [Binding("escape", "close", "Home"), Binding("ctrl+e", "export", "Export", priority=True)]

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="export-body"):
            yield Static(
                Text(
                    "Export to Anki: choose the decks (space toggles) and where to write the .apkg. Each card in a "
                    "deck file becomes one Anki note, and Anki makes one card per question it asks (2 for a reverse "
                    'card, one per cloze deletion): that is the "Anki cards" number, the count Home shows. '
                    "Re-importing an export updates the notes in Anki instead of duplicating them."
                ),
                id="export-intro",
            )
            yield Static("Decks  (cards → Anki cards)", classes="section-title", id="export-decks-title")
            yield SelectionList[str](id="export-decks")
            yield Static("Output file", classes="section-title")
            yield Input(id="export-path")
            with Horizontal(id="export-row"):
                yield Button("Export  (ctrl+e)", id="export-go", variant="primary")
                yield LoadingIndicator(id="export-busy", classes="hidden")
            yield Static("", id="export-result")
        yield AppFooter()

    def on_mount(self) -> None:
        self.sub_title = "Export"
        decks = self.query_one("#export-decks", SelectionList)
        for loaded in self.mi_app.deckset.decks:
            notes = len(loaded.deck.cards)
            anki_cards = sum(len(card.item_ids()) for card in loaded.deck.cards)
            label = Text(loaded.deck.name)
            label.append(f"  ({notes} → {anki_cards})", style="dim")
            decks.add_option(Selection(label, loaded.id, True))
        default = Path.cwd() / f"mi-prep-{self.mi_app.now().date().isoformat()}.apkg"
        self.query_one("#export-path", Input).value = str(default)
        decks.focus(scroll_visible=False)  # keep the intro in view on small terminals
        # room below the result line, so scrolling it into view lifts it clear of the toast that reports it
        self.query_one("#export-result", Static).styles.margin = (1, 0, 7, 0)
        if not self.mi_app.deckset.decks:
            self._result(Text("There are no decks to export.", style="bold #ffaf00"))

    def _result(self, text: Text, *, toast: SeverityLevel | None = None, message: str | None = None) -> None:
        """Show ``text`` below the button and scroll it into view; with ``toast`` (a severity) also notify
        ``message`` (default: the text)."""
        result = self.query_one("#export-result", Static)
        result.update(text)
        self.call_after_refresh(result.scroll_visible, animate=False)
        if toast is not None:
            self.notify(
                message or text.plain.lstrip("✓✗ "),
                title="Export",
                severity=toast,
                markup=False,
                timeout=8 if toast == "information" else 15,
            )

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        if event.button.id == "export-go":
            self.action_export()

    def on_input_submitted(self, event: Input.Submitted) -> None:
        self.action_export()

    def action_export(self) -> None:
        deck_ids = list(self.query_one("#export-decks", SelectionList).selected)
        raw = self.query_one("#export-path", Input).value.strip()
        if not deck_ids:
            self._result(Text("Choose at least one deck.", style="bold #ffaf00"), toast="warning")
            return
        if not raw:
            self._result(Text("Enter an output path.", style="bold #ffaf00"), toast="warning")
            return
        out = Path(raw).expanduser()
        if out.suffix != ".apkg":
            out = out.with_suffix(".apkg")
        self.query_one("#export-go", Button).disabled = True
        self.query_one("#export-busy").remove_class("hidden")
        self._result(Text(f"Exporting {len(deck_ids)} deck(s) to {out} ...", style="dim"))
        self.run_export(deck_ids, out)

    @work(thread=True, exclusive=True, group="export", exit_on_error=False)
    def run_export(self, deck_ids: list[str], out: Path) -> Any:
        try:
            from mi_prep.core.anki import ExportError, export_apkg
        except ImportError as exc:
            raise RuntimeError(f"Anki export is not available yet ({exc})") from None
        try:
            report = export_apkg(self.mi_app.deckset, out, deck_ids=deck_ids, now=self.mi_app.now())
        except ExportError as exc:
            raise RuntimeError(f"Export failed: {exc}") from None
        return report

    def on_worker_state_changed(self, event: Worker.StateChanged) -> None:
        if event.worker.group != "export":
            return
        if event.state in (WorkerState.SUCCESS, WorkerState.ERROR, WorkerState.CANCELLED):
            self.query_one("#export-go", Button).disabled = False
            self.query_one("#export-busy").add_class("hidden")
        if event.state == WorkerState.SUCCESS:
            report = event.worker.result  # an ExportReport; its str() is the full one-line report
            warnings = getattr(report, "warnings", ())
            short = str(report)
            if report is not None and all(hasattr(report, a) for a in ("path", "notes", "cards")):
                short = f"Wrote {report.path}: {report.notes} notes, {report.cards} Anki cards"
                if warnings:
                    short += f", {len(warnings)} warning(s) (see the screen)"
            self._result(
                Text("✓ " + str(report), style="bold #5fd75f"),
                toast="warning" if warnings else "information",
                message=short,
            )
        elif event.state == WorkerState.ERROR:
            err = event.worker.error
            msg = str(err) if isinstance(err, RuntimeError) else f"Export failed: {type(err).__name__}: {err}"
            self._result(Text("✗ " + msg, style="bold #ff5f5f"), toast="error")

    def action_close(self) -> None:
        self.dismiss()
