"""LabsScreen in a minimal App: run a (fast, fake) lab in the worker, see results, answer, score saved; Esc cancels."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime, timezone

import pytest
from textual.app import App

from mi_prep.lab.api import Heatmap, Lab, LabContext, LabResult, LinePlot, Scatter, Series, Table, Text
from mi_prep.lab.questions import FreeText, MultipleChoice, Numeric

from .test_engine import FakeStore

NOW = datetime(2026, 1, 2, tzinfo=timezone.utc)


class QuickLab(Lab):
    name = "quick"
    title = "Quick"
    summary = "A fake lab for UI tests."
    topics = ("testing",)
    defaults = {"steps": 20}

    def run(self, ctx: LabContext) -> LabResult:
        for i in range(ctx.params["steps"]):
            ctx.check_cancelled()
            ctx.progress(i + 1, ctx.params["steps"], loss=1.0 / (i + 1), message="training")
        return LabResult(
            blocks=[Text(title="Setup", body="hello"), Heatmap(title="Scores", values=[[0.1, 0.9], [0.5, 0.2]]),
                    Table(title="T", columns=["a"], rows=[[1]]),
                    LinePlot(title="Loss", series=[Series("loss", [0, 1, 2], [3, 2, 1])]),
                    Scatter(title="S", x=[0, 1], y=[0, 1])],
            metrics={"x": 1.0},
            questions=[MultipleChoice(id="mc", prompt="pick b", explanation="b it is", options=("a", "b"), correct=1),
                       Numeric(id="num", prompt="2+2?", explanation="4", answer=4.0),
                       FreeText(id="ft", prompt="explain", explanation="e", model_answer="m",
                                key_points=("alpha", "beta"), terms=(("alpha",), ("beta",)))])


class SlowLab(QuickLab):
    name = "slow"
    defaults = {"steps": 100000}

    def run(self, ctx):
        for i in range(ctx.params["steps"]):
            ctx.check_cancelled()
            ctx.progress(i + 1, ctx.params["steps"], loss=1.0, message="training")
            time.sleep(0.002)
        raise AssertionError("not cancelled")


class Host(App):
    def __init__(self, screen):
        super().__init__()
        self._screen = screen

    def on_mount(self):
        self.push_screen(self._screen)


async def wait_for(pilot, cond, timeout=10.0):
    t = time.monotonic()
    while not cond():
        if time.monotonic() - t > timeout:
            raise AssertionError("timed out")
        await pilot.pause(0.05)


def test_labs_screen_run_answer_and_save(tmp_path):
    asyncio.run(_run_answer_and_save(tmp_path))


async def _run_answer_and_save(tmp_path):
    pytest.importorskip("torch")
    from mi_prep.tui.screens.labs import LabsScreen

    store = FakeStore()
    screen = LabsScreen(store, lambda: NOW, labs={"quick": QuickLab()}, cache_dir=tmp_path)
    app = Host(screen)
    async with app.run_test(size=(120, 40)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state == "results")
        assert screen.query("LabResultView")
        assert screen.query("PlotextPlot")
        # MC via button
        await pilot.click("#choice-1")
        assert screen.scores == [1.0]
        await pilot.click("#next")
        # numeric via input
        screen.query_one("#answer").value = "4"
        await pilot.press("enter")
        assert screen.scores[-1] == 1.0
        await pilot.click("#next")
        # free text: answer, then accept the pre-ticked points
        screen.query_one("#answer").value = "alpha only"
        await pilot.press("enter")
        assert "Key points" in str(screen.query_one("#feedback").render())
        await pilot.press("enter")
        assert screen.scores[-1] == 0.5
        await pilot.click("#next")
        assert screen.state == "done"
    row = list(store.db.query("SELECT * FROM lab_runs"))[0]
    assert row["status"] == "done" and row["score"] == pytest.approx(2.5 / 3)
    assert len(list(store.db.query("SELECT * FROM lab_answers"))) == 3
    assert store.ratings and store.ratings[0][0] == "lab:quick"


def test_labs_screen_escape_cancels(tmp_path):
    asyncio.run(_escape_cancels(tmp_path))


async def _escape_cancels(tmp_path):
    pytest.importorskip("torch")
    from mi_prep.tui.screens.labs import LabsScreen

    store = FakeStore()
    screen = LabsScreen(store, lambda: NOW, labs={"slow": SlowLab()}, cache_dir=tmp_path)
    app = Host(screen)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: "step" in str(screen.query_one("#progress-line").render()))
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.state == "list")
    rows = list(store.db.query("SELECT status, result FROM lab_runs"))
    assert rows == [{"status": "cancelled", "result": None}]
