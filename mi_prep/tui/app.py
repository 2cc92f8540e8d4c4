"""MiPrepApp: the Textual application (Home, Review, Browse, Stats, Export, Settings; Labs and Drill pushed lazily).

* ``MiPrepApp(ctx, clock=None)``: ``ctx`` is :class:`~mi_prep.context.AppContext` (store, deck
  paths); ``clock`` is a ``() -> aware datetime`` used for every ``now`` (default ``ctx.now``), so tests
  run the whole UI on a fake clock.
* Deck files are polled every ``poll_seconds`` (mtime, size, files added/removed); on a change they
  are reloaded in a worker thread and every screen on the stack gets ``decks_reloaded(deckset)``.
* The theme (dark/light) is stored in the store's config key ``theme``.
* Nothing here imports torch or transformer_lens: the Labs and Drill screens are imported inside
  their actions, when the user opens them.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any

from textual import work
from textual.app import App
from textual.binding import Binding
from textual.command import DiscoveryHit, Hit, Hits, Provider

from mi_prep.core.deck import DeckSet, deck_files
from mi_prep.tui.storage import guarded, storage_problem

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext

DARK_THEME = "textual-dark"
LIGHT_THEME = "textual-light"

PALETTE_COMMANDS: list[tuple[str, str, str]] = [
    ("Review: all due cards", "review", "Review every deck's due cards"),
    ("Home", "home", "Decks, today's progress and the heatmap"),
    ("Browse cards", "browse", "Search and filter all cards; suspend / unsuspend"),
    ("Stats", "stats", "Reviews per day, forecast, retention, topic mastery"),
    ("Labs", "labs", "Hands-on interpretability labs (loads torch)"),
    ("Drill: mock interview", "drill", "A timed mock interview"),
    ("Export to Anki", "export", "Write an .apkg of chosen decks"),
    ("Settings", "settings", "Scheduler, daily limits, interview date, time zone, theme and the other settings"),
    ("Toggle theme (dark / light)", "toggle_theme", "Switch between the dark and the light theme"),
    ("Reload decks", "reload_decks", "Read the deck files again"),
]


class MiPrepCommands(Provider):
    """Command palette entries for the app's screens and actions."""

    async def discover(self) -> Hits:
        for name, action, help_text in PALETTE_COMMANDS:
            yield DiscoveryHit(name, partial(self.app.run_action, action), help=help_text)

    async def search(self, query: str) -> Hits:
        matcher = self.matcher(query)
        for name, action, help_text in PALETTE_COMMANDS:
            score = matcher.match(name)
            if score > 0:
                yield Hit(score, matcher.highlight(name), partial(self.app.run_action, action), help=help_text)


class MiPrepApp(App[int]):
    TITLE = "mi-prep"
    SUB_TITLE = "mechanistic interpretability interview prep"
    CSS_PATH = "app.tcss"
    COMMANDS = App.COMMANDS | {MiPrepCommands}
    BINDINGS = [
        Binding("ctrl+t", "toggle_theme", "Theme", show=False),  # also in Settings (o) and the palette
        Binding("f5", "reload_decks", "Reload decks", show=False),
    ]

    def __init__(
        self,
        ctx: AppContext,
        clock: Callable[[], datetime] | None = None,
        *,
        poll_seconds: float | None = 2.0,
        initial: str | None = None,
    ) -> None:
        super().__init__()
        self.ctx = ctx
        self.clock: Callable[[], datetime] = clock or ctx.now
        self.store = ctx.store
        self.deckset: DeckSet = ctx.decks
        self.poll_seconds = poll_seconds
        self.initial = initial
        self._deck_signature = self.deck_signature()
        self.reload_count = 0

    # ---- time ------------------------------------------------------------------
    def now(self) -> datetime:
        return self.clock()

    def notify(
        self,
        message: str,
        *,
        title: str = "",
        severity: Any = "information",
        timeout: float | None = None,
        markup: bool = True,
    ) -> None:
        """Notifications quote deck, lab and user text: always shown literally, never read as markup."""
        super().notify(message, title=title, severity=severity, timeout=timeout, markup=False)

    def _handle_exception(self, error: Exception) -> None:
        """A storage failure nobody guarded (a read while a screen builds) ends the app with the one-line
        message instead of a traceback; everything saved before it is in the database."""
        message = storage_problem(error, getattr(self.store, "path", None))
        if message is None:
            super()._handle_exception(error)
            return
        self._return_code = 1
        self.exit(return_code=1, message=f"error: {message}")

    # ---- lifecycle ---------------------------------------------------------------
    def get_default_screen(self):
        from mi_prep.tui.screens.home import HomeScreen

        return HomeScreen()

    def on_mount(self) -> None:
        saved = self.store.get_config("theme")
        if saved in self.available_themes:
            self.theme = saved
        else:
            self.theme = DARK_THEME
        self.watch(self, "theme", self._save_theme, init=False)
        for warning in getattr(self.store, "warnings", ()):  # e.g. a hand-edited row rebuilt from the log
            self.notify(warning, title="Database", severity="warning", timeout=15)
        if self.poll_seconds:
            self.set_interval(self.poll_seconds, self.check_decks, name="deck-poll")
        if self.initial:
            self.call_later(self.run_action, self.initial)

    def _save_theme(self, theme: str) -> None:
        if self.store.get_config("theme") != theme:
            guarded(self, self.store.set_config, "theme", theme)

    # ---- deck reload -------------------------------------------------------------
    def deck_signature(self) -> tuple[Any, ...]:
        """(path, mtime_ns, size) of every deck file, plus which configured paths exist."""
        sig: list[tuple[str, int, int]] = []
        for path in deck_files(self.ctx.deck_paths):
            try:
                st = path.stat()
            except OSError:
                continue
            sig.append((str(path), st.st_mtime_ns, st.st_size))
        return tuple(sig), tuple(Path(p).exists() for p in self.ctx.deck_paths)

    def check_decks(self) -> bool:
        """Poll the deck files; start a reload when one changed. Returns True when a reload started."""
        sig = self.deck_signature()
        if sig == self._deck_signature:
            return False
        self._deck_signature = sig
        self.reload_decks()
        return True

    @work(thread=True, exclusive=True, group="deck-reload", exit_on_error=False)
    def reload_decks(self) -> None:
        try:
            deckset = self.ctx.load_decks()
        except Exception as exc:  # load_decks reports bad files itself; this is the never-silent net
            self.call_from_thread(
                self.notify,
                f"Decks could not be reloaded ({type(exc).__name__}: {exc}); "
                "the decks loaded before are still in use. Run `mi-prep check`.",
                severity="error",
                timeout=10,
            )
            return
        self.call_from_thread(self.apply_decks, deckset)

    def apply_decks(self, deckset: DeckSet) -> None:
        self.deckset = deckset
        self.ctx.set_decks(deckset)
        self.reload_count += 1
        for screen in self.screen_stack:
            hook = getattr(screen, "decks_reloaded", None)
            if hook is not None:
                hook(deckset)
        n_cards = sum(len(d.deck.cards) for d in deckset.decks)
        if deckset.errors:
            self.notify(
                f"Decks reloaded: {len(deckset.decks)} decks, {n_cards} cards; "
                f"{len(deckset.errors)} error(s) (see Home)",
                severity="warning",
                timeout=6,
            )
        else:
            self.notify(f"Decks reloaded: {len(deckset.decks)} decks, {n_cards} cards", timeout=3)

    def action_reload_decks(self) -> None:
        self._deck_signature = self.deck_signature()
        self.reload_decks()

    # ---- navigation --------------------------------------------------------------
    def _to_home(self) -> None:
        """Pop back to Home so screens never pile up."""
        while len(self.screen_stack) > 1 and not getattr(self.screen, "IS_HOME", False):
            self.pop_screen()

    def action_home(self) -> None:
        self._to_home()

    def action_review(self, deck_id: str | None = None) -> None:
        from mi_prep.tui.screens.review import ReviewScreen

        self._to_home()
        self.push_screen(ReviewScreen(deck_ids=[deck_id] if deck_id else None))

    def action_browse(self) -> None:
        from mi_prep.tui.screens.browse import BrowseScreen

        self._to_home()
        self.push_screen(BrowseScreen())

    def action_stats(self) -> None:
        from mi_prep.tui.screens.stats import StatsScreen

        self._to_home()
        self.push_screen(StatsScreen())

    def action_export(self) -> None:
        from mi_prep.tui.screens.export import ExportScreen

        self._to_home()
        self.push_screen(ExportScreen())

    def action_settings(self) -> None:
        from mi_prep.tui.screens.settings import SettingsScreen

        self._to_home()
        self.push_screen(SettingsScreen())

    def _missing(self, what: str, module: str, exc: ImportError) -> None:
        if isinstance(exc, ModuleNotFoundError) and exc.name and module.startswith(exc.name):
            self.notify(
                f"{what} is not available yet: {module} is missing from this install.",
                title=what,
                severity="warning",
                timeout=8,
            )
        else:
            name = getattr(exc, "name", None) or str(exc)
            self.notify(
                f"{what} could not start: {name} is missing ({exc}). "
                "Install the extras with: pip install 'mi-prep[labs]'",
                title=what,
                severity="error",
                timeout=10,
            )

    def action_labs(self, start: str | None = None) -> None:
        """Open the Labs screen; ``start``: run that lab at once (Home's due-lab key)."""
        try:
            from mi_prep.tui.screens.labs import LabsScreen
        except ImportError as exc:
            self._missing("Labs", "mi_prep.tui.screens.labs", exc)
            return
        self._to_home()
        self.push_screen(LabsScreen(self.store, self.now, start=start, threads=self.ctx.lab_threads()))

    def action_drill(self) -> None:
        try:
            from mi_prep.tui.screens.drill import DrillScreen
        except ImportError as exc:
            self._missing("Drill", "mi_prep.tui.screens.drill", exc)
            return
        if not any(True for _ in self.deckset.cards()):
            self.notify("A drill needs cards: add a deck first.", severity="warning")
            return
        self._to_home()
        try:
            screen = DrillScreen(self.store, self.deckset, clock=self.clock, lab_provider=self.ctx.drill_lab_provider())
        except Exception as exc:  # noqa: BLE001 - a drill that cannot be planned must not crash the app
            self.notify(f"Could not start a drill: {exc}", severity="error", timeout=8)
            return
        self.push_screen(screen)

    def action_toggle_theme(self) -> None:
        self.theme = LIGHT_THEME if self.current_theme.dark else DARK_THEME
        self._save_theme(self.theme)


def run_app(ctx: AppContext) -> int:
    """Run the UI until the user quits; returns the exit code for ``mi-prep``."""
    app = MiPrepApp(ctx)
    app.run()
    return int(app.return_code or 0)
