"""App-level tests: Home, Browse, Stats, Export, broken / empty decks, theme, 80x24, reload, palette, no torch."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import textwrap
from pathlib import Path

from textual.widgets import DataTable, Input, Select

from mi_prep.tui.screens.browse import BrowseScreen
from mi_prep.tui.screens.home import HomeScreen
from mi_prep.tui.screens.review import ReviewScreen
from mi_prep.tui.screens.stats import StatsScreen

BROKEN = """\
id: broken
name: Broken
cards:
  - id: ok-card
    front: Still fine?
    back: yes
    source: me
  - id: bad-card
    type: choice
    front: Pick one
    options:
      - text: a
      - text: b
    source: me
"""


def text_of(widget) -> str:
    return str(widget.render())


def test_home_counts_heatmap_interview(make_app, seeder, clock):
    async def body():
        app = make_app()
        seeder(app.store, app.deckset, clock)
        app.store.set_config("interview-date", "2026-07-24")
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            home = app.screen
            assert isinstance(home, HomeScreen)
            table = home.query_one("#decks", DataTable)
            assert table.row_count == 2
            assert [str(c) for c in table.get_row("circuits")][:2] == ["Circuits", "4"]
            summary = text_of(home.query_one("#summary"))
            assert "streak" in summary and "left today" in summary
            assert "Interview in 23 days" in text_of(home.query_one("#interview"))
            topics = text_of(home.query_one("#topics"))
            assert "circuits" in topics and "superposition" in topics
            heat = text_of(home.query_one("#heatmap"))
            assert "reviews on" in heat and "Mon" in heat

    asyncio.run(body())


def test_broken_deck_error_on_home_and_others_reviewable(make_app, decks_dir):
    (decks_dir / "broken.yaml").write_text(BROKEN)
    (decks_dir / "zz-syntax.yaml").write_text("id: x\nname: [unclosed\n")

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            errors = text_of(app.screen.query_one("#deck-errors"))
            assert "broken.yaml:" in errors and "exactly one option with 'correct: true'" in errors
            assert "zz-syntax.yaml:" in errors and "YAML syntax error" in errors
            table = app.screen.query_one("#decks", DataTable)
            assert table.row_count == 3  # circuits, superposition and the good card of 'broken'
            table.move_cursor(row=0)
            await pilot.press("r")
            await pilot.pause()
            assert isinstance(app.screen, ReviewScreen) and app.screen.item is not None

    asyncio.run(body())


def test_empty_collection(make_app, tmp_path):
    empty = tmp_path / "nodecks"
    empty.mkdir()

    async def body():
        app = make_app(deck_paths=[empty])
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            home = app.screen
            assert "No decks yet" in text_of(home.query_one("#deck-empty"))
            await pilot.press("r")
            await pilot.pause()
            assert "no cards to review" in text_of(app.screen.query_one("#done-text"))
            await pilot.press("escape", "b")
            await pilot.pause()
            assert isinstance(app.screen, BrowseScreen)
            await pilot.press("escape", "s")
            await pilot.pause()
            assert isinstance(app.screen, StatsScreen)

    asyncio.run(body())


def test_browse_search_filter_open_suspend(make_app, clock):
    async def body():
        app = make_app()
        app.store.answer("residual-stream", 1, clock(), card_id="residual-stream")
        async with app.run_test(size=(120, 30)) as pilot:
            await pilot.pause()
            await pilot.press("b")
            await pilot.pause()
            s = app.screen
            table = s.query_one("#browse-table", DataTable)
            assert table.row_count == 8  # items: 4 + 2 cloze + 2 reverse
            await pilot.press("slash", *"induction")
            await pilot.pause(0.3)
            assert s.shown == ["induction-explain"]
            s.query_one("#browse-search", Input).value = ""
            s.query_one("#f-deck", Select).value = "superposition"
            await pilot.pause(0.3)
            assert s.shown == ["sup-def#c1", "sup-def#c2", "sae-def", "sae-def#rev"]
            s.query_one("#f-deck", Select).clear()
            s.query_one("#f-state", Select).value = "learning"
            await pilot.pause(0.3)
            assert s.shown == ["residual-stream"]
            s.query_one("#f-state", Select).clear()
            s.query_one("#f-tag", Select).value = "superposition"
            await pilot.pause(0.3)
            assert len(s.shown) == 4
            s.query_one("#f-tag", Select).clear()
            await pilot.pause(0.3)
            # suspend / unsuspend the highlighted card
            table.focus()
            table.move_cursor(row=1)
            await pilot.press("s")
            await pilot.pause()
            assert app.store.state("qk-ov").suspended
            assert str(table.get_row_at(1)[3]) == "suspended"
            s.query_one("#f-state", Select).value = "suspended"
            await pilot.pause(0.3)
            assert s.shown == ["qk-ov"]
            table.move_cursor(row=0)
            await pilot.press("s")
            await pilot.pause()
            assert not app.store.state("qk-ov").suspended
            # open a card: info + its text
            await pilot.press("enter")
            await pilot.pause()
            from mi_prep.tui.screens.card_info import CardInfoScreen

            assert isinstance(app.screen, CardInfoScreen) and app.screen.item_id == "qk-ov"
            assert "W_Q^T W_K" in app.screen.query_one("#info-text").source
            assert app.screen.query_one("#info-history", DataTable).row_count == 2  # suspend + unsuspend

    asyncio.run(body())


def test_stats_render(make_app, seeder, clock):
    async def body():
        app = make_app()
        seeder(app.store, app.deckset, clock)
        async with app.run_test(size=(100, 40)) as pilot:
            await pilot.pause()
            await pilot.press("s")
            await pilot.pause()
            s = app.screen
            assert isinstance(s, StatsScreen)
            assert s.stats.total_reviews > 0
            summary = text_of(s.query_one("#stats-summary"))
            assert "reviews" in summary and "True retention" in summary
            assert "circuits" in text_of(s.query_one("#stats-topics"))
            for pid in ("#plot-reviews", "#plot-forecast"):  # topic mastery/retention: a text table now
                plot = s.query_one(pid)
                assert plot.size.width > 10 and plot.size.height > 5

    asyncio.run(body())


def test_theme_toggle_persists(make_app, tmp_path):
    async def body():
        app = make_app()
        async with app.run_test() as pilot:
            await pilot.pause()
            assert app.current_theme.dark
            await pilot.press("ctrl+t")
            await pilot.pause()
            assert not app.current_theme.dark
            assert app.store.get_config("theme") == "textual-light"
        app2 = make_app()
        async with app2.run_test() as pilot:
            await pilot.pause()
            assert app2.theme == "textual-light"

    asyncio.run(body())


def test_every_screen_fits_80x24(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            for w in app.screen.query("#home-actions Button"):
                assert w.region.right <= 80, w
            await pilot.press("r", "space")
            await pilot.pause()
            for r in range(1, 5):
                b = app.screen.query_one(f"#rate-{r}")
                assert b.region.right <= 80 and b.region.bottom <= 24 and b.region.width > 0
            for keys in (("escape", "b"), ("escape", "s"), ("escape", "x"), ("escape",)):
                await pilot.press(*keys)
                await pilot.pause()
            assert app.export_screenshot()  # smoke: the 80x24 layout renders
            await pilot.resize_terminal(120, 40)
            await pilot.pause()
            await pilot.resize_terminal(80, 24)
            await pilot.pause()

    asyncio.run(body())


def test_deck_reload_after_file_edit(make_app, decks_dir):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.press("r")
            await pilot.pause()
            s = app.screen
            assert s.item.item_id == "residual-stream"
            path = decks_dir / "circuits.yaml"
            path.write_text(
                path.read_text().replace("What is the **residual stream**?", "What is the residual stream, really?")
            )
            os.utime(path, ns=(1, 2))  # a distinct mtime even on coarse file systems
            assert app.check_decks()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert app.reload_count == 1
            assert "really?" in s.query_one("#question").source
            # a broken edit: the error reaches Home, the other deck keeps working
            path.write_text("id: circuits\nname: [oops\n")
            os.utime(path, ns=(3, 4))
            assert app.check_decks()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert s.item is not None and s.item.deck.id == "superposition"
            await pilot.press("escape")
            await pilot.pause()
            assert "circuits.yaml:3: error: YAML syntax error" in text_of(app.screen.query_one("#deck-errors"))
            assert not app.check_decks()  # nothing changed since

    asyncio.run(body())


def test_command_palette_and_missing_modules(make_app, monkeypatch):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            from mi_prep.tui.app import MiPrepCommands

            assert MiPrepCommands in app.COMMANDS
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"browse")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert isinstance(app.screen, BrowseScreen)
            await app.run_action("home")
            # a module that is not there yet gives a notice, not a crash
            monkeypatch.setitem(sys.modules, "mi_prep.tui.screens.labs", None)
            await app.run_action("labs")
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)
            assert any("Labs" in (n.title or "") for n in app._notifications)

    asyncio.run(body())


def test_export_screen_reports_result_or_error(make_app, monkeypatch, tmp_path):
    import types

    out = tmp_path / "out.apkg"
    calls = []

    class ExportError(Exception):
        pass

    def export_apkg(deckset, path, deck_ids=None, now=None):
        calls.append((path, deck_ids))
        if deck_ids == ["superposition"]:
            raise ExportError("cannot write there")
        return f"wrote {len(deck_ids)} decks to {path}"

    fake = types.ModuleType("mi_prep.core.anki")
    fake.export_apkg, fake.ExportError = export_apkg, ExportError
    monkeypatch.setitem(sys.modules, "mi_prep.core.anki", fake)

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.press("x")
            await pilot.pause()
            s = app.screen
            s.query_one("#export-path").value = str(out)
            await pilot.press("ctrl+e")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert calls[-1] == (out, ["circuits", "superposition"])
            assert "wrote 2 decks" in text_of(s.query_one("#export-result"))
            s.query_one("#export-decks").deselect("circuits")
            await pilot.press("ctrl+e")
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert "Export failed: cannot write there" in text_of(s.query_one("#export-result"))

    asyncio.run(body())


def test_app_never_imports_torch_pandas_or_numpy(tmp_path):
    """Construct the app, run it headless through every screen, and check sys.modules (pandas and numpy:
    sqlite-utils imports them when installed, half a second before the first card)."""
    script = textwrap.dedent(f"""
        import asyncio, sys
        from datetime import datetime, timezone
        from pathlib import Path
        from mi_prep.context import AppContext
        from mi_prep.tui.app import MiPrepApp
        ctx = AppContext(data_dir=Path({str(tmp_path / "data")!r}),
                         deck_paths=[Path({str(Path(__file__).parent / "fixtures" / "decks")!r})])
        app = MiPrepApp(ctx, clock=lambda: datetime(2026, 7, 1, 9, tzinfo=timezone.utc), poll_seconds=None)
        async def main():
            async with app.run_test(size=(100, 34)) as pilot:
                for keys in (("r", "space", "3"), ("escape", "b"), ("escape", "s"), ("escape", "x"), ("escape",)):
                    await pilot.press(*keys)
                    await pilot.pause()
        asyncio.run(main())
        bad = [m for m in ("torch", "transformer_lens", "pandas", "numpy") if m in sys.modules]
        print("HEAVY:", bad)
    """)
    res = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    assert "HEAVY: []" in res.stdout


def test_mouse_clicks_reveal_and_rate(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            await pilot.click("#btn-review")
            await pilot.pause()
            s = app.screen
            assert isinstance(s, ReviewScreen) and s.phase == "front"
            await pilot.click("#show")
            await pilot.pause()
            assert s.phase == "back"
            await pilot.click("#rate-4")
            await pilot.pause()
            row = app.store.log_rows()[-1]
            assert row["item_id"] == "residual-stream" and row["rating"] == 4

    asyncio.run(body())


def test_labs_missing_notice_and_drill_pushed(make_app, monkeypatch):
    import importlib.util

    import mi_prep.tui.screens.drill as drill_mod

    pushed = []

    class QuietDrill(drill_mod.DrillScreen):
        def __init__(self, store, deckset, *, clock=None, lab_provider=None, **kw):
            pushed.append((clock, lab_provider))
            super().__init__(store, deckset, clock=clock, lab_provider=None, seed=1, **kw)

    monkeypatch.setattr(drill_mod, "DrillScreen", QuietDrill)

    def provider(topics, seed, *, on_progress=None, cancel=None):  # the drill gets the context's provider
        raise AssertionError("QuietDrill never runs it")

    async def body():
        app = make_app()
        app.ctx.lab_provider = provider
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            await pilot.press("d")
            await pilot.pause()
            assert isinstance(app.screen, QuietDrill) and pushed == [(app.clock, provider)]
            await app.run_action("home")
            await pilot.pause()
            if importlib.util.find_spec("mi_prep.tui.screens.labs") is None:
                await pilot.press("l")
                await pilot.pause()
                assert isinstance(app.screen, HomeScreen)
                assert any("not available yet" in n.message for n in app._notifications)

    asyncio.run(body())
