"""Snapshot tests (pytest-textual-snapshot) on a fixed fake clock: Home, Review front and back, Stats; Labs
(list and a question), Drill, Browse and Stats at 80x24 and 120x40.

Regenerate after an intended UI change with ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

SIZE = (100, 34)


@pytest.fixture
def app(make_app, seeder, clock):
    app = make_app()
    seeder(app.store, app.deckset, clock)
    app.store.set_config("interview-date", "2026-07-24")
    return app


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_home(snap_compare, app):
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_review_front(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_review_back_choice(snap_compare, make_app):
    app = make_app()

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("r", "space", "3")  # residual-stream: Good -> the choice card
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_review_back_basic_light(snap_compare, make_app):
    app = make_app()
    app.store.set_config("theme", "textual-light")

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("r", "space")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_stats(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


# --------------------------------------------------------------------------- Labs, Drill, Browse, Stats at 80x24 and 120x40

SIZES = [pytest.param((80, 24), id="80x24"), pytest.param((120, 40), id="120x40")]


@pytest.mark.parametrize("size", SIZES)
def test_labs_list(snap_compare, make_app, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("l")
        await settle(pilot)

    assert snap_compare(make_app(), terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_labs_question(snap_compare, make_app, clock, tmp_path, size):
    pytest.importorskip("torch")
    from mi_prep.core.questions import MultipleChoice
    from mi_prep.lab.api import Heatmap, Lab, LabResult, Table, Text
    from mi_prep.tui.screens.labs import LabsScreen

    class Fixed(Lab):
        name, title, summary, topics = "fixed", "Fixed lab", "A deterministic lab.", ("circuits",)

        def run(self, ctx):
            return LabResult(
                [
                    Text(title="Setup", body="A [fixed] result for the snapshot."),
                    Heatmap(
                        title="Scores",
                        values=[[0.243, 0.174, 0.335], [1.4e-8, -0.5, 0.9]],
                        row_labels=["L0", "L1"],
                        col_labels=["BOS", "43", "31"],
                    ),
                    Table(title="Summary", columns=["head", "score"], rows=[["L0H0", 0.25], ["L1H2", 0.875]]),
                ],
                {},
                [
                    MultipleChoice(
                        id="q",
                        prompt="Which head [copies]?",
                        explanation="e",
                        options=("L0H0", "L1H2", "neither"),
                        correct=1,
                    )
                ],
            )

    app = make_app()

    async def run_before(pilot):
        await settle(pilot)
        screen = LabsScreen(app.store, app.now, labs={"fixed": Fixed()}, cache_dir=tmp_path)
        app.push_screen(screen)
        await settle(pilot)
        await pilot.press("enter")
        for _ in range(200):
            if screen.state == "questions":
                break
            await pilot.pause(0.05)
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_drill_question(snap_compare, make_app, clock, size):
    from mi_prep.tui.screens.drill import DrillScreen

    app = make_app()

    async def run_before(pilot):
        await settle(pilot)
        app.push_screen(
            DrillScreen(
                app.store, app.deckset, clock=clock, seed=2, minutes=10, questions=3, lab_provider=None, tick_seconds=60
            )
        )
        await settle(pilot)
        await pilot.press("enter")  # Start
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_browse(snap_compare, app, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("b")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


@pytest.mark.parametrize("size", SIZES)
def test_stats_sizes(snap_compare, app, size):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(app, terminal_size=size, run_before=run_before)


def test_settings_80x24(snap_compare, make_app):
    app = make_app()
    app.store.set_config("new-per-day", 12)

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("o")
        await settle(pilot)
        await pilot.press("tab", *"abc", "enter")  # a refused value: its message beside the field
        await settle(pilot)

    assert snap_compare(app, terminal_size=(80, 24), run_before=run_before)
