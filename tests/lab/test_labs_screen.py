"""LabsScreen in a minimal App: run a (fast, fake) lab in the worker, see results, answer every kind of
question the way a person does (number keys, typing, Enter), score saved; Esc cancels; a stray r or
Esc while answering loses nothing. The real labs are walked in tests/tui/test_journeys.py."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime

import pytest
from textual.app import App
from textual.widgets import OptionList, Static

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent
from mi_prep.lab.api import Heatmap, Lab, LabContext, LabResult, LinePlot, Scatter, Series, Table, Text

from .test_engine import FakeStore

NOW = datetime(2026, 1, 2, tzinfo=UTC)


class QuickLab(Lab):
    name = "quick"
    title = "Quick [lab]"
    summary = "A fake lab for UI tests."
    topics = ("testing",)
    defaults = {"steps": 20}

    def run(self, ctx: LabContext) -> LabResult:
        for i in range(ctx.params["steps"]):
            ctx.check_cancelled()
            ctx.progress(i + 1, ctx.params["steps"], loss=1.0 / (i + 1), message="training")
        body = "\n".join(f"row {i}: [x] value [{i}%]" for i in range(60))  # long: the results scroll
        return LabResult(
            blocks=[
                Text(title="Setup [bold]", body=body),
                Heatmap(title="Scores", values=[[0.1, 0.9], [0.5, 0.2]]),
                Table(title="T", columns=["a"], rows=[[1]]),
                LinePlot(title="Loss", series=[Series("loss", [0, 1, 2], [3, 2, 1])]),
                Scatter(title="S", x=[0, 1], y=[0, 1]),
                Text(title="Verdict of mc", body="the answer was [b]", after="mc"),
                Table(title="Data that gives pc away", columns=["head"], rows=[["L1H0"]], after="mc2"),
            ],
            metrics={"x": 1.0},
            questions=[
                MultipleChoice(
                    id="mc", prompt="pick [b]", explanation="b it is [x]", options=("a", "[b]", "c"), correct=1
                ),
                MultipleChoice(id="mc2", prompt="pick c", explanation="c it is", options=("a", "b", "c"), correct=2),
                PickComponent(
                    id="pc", prompt="which head?", explanation="L1H0", components=("L0H0", "L1H0"), correct=("L1H0",)
                ),
                Numeric(id="num", prompt="2+2?", explanation="4", answer=4.0),
                FreeText(
                    id="ft",
                    prompt="explain",
                    explanation="e",
                    model_answer="m",
                    key_points=("alpha matters here", "beta matters there"),
                    terms=(("alpha",), ("beta",)),
                ),
            ],
        )


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


def shown(screen, selector) -> str:
    return str(screen.query_one(selector, Static).render())


def test_labs_screen_run_answer_and_save(tmp_path):
    asyncio.run(_run_answer_and_save(tmp_path))


async def _run_answer_and_save(tmp_path):
    pytest.importorskip("torch")
    from mi_prep.tui.screens.labs import LabsScreen

    store = FakeStore()
    screen = LabsScreen(store, lambda: NOW, labs={"quick": QuickLab()}, cache_dir=tmp_path)
    app = Host(screen)
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state == "questions")
        assert screen.query("LabResultView") and screen.query("PlotextPlot")
        titles = lambda: [v.block.title for v in screen.query("BlockView")]  # noqa: E731
        # what answers a question is not on screen before it is asked
        assert "Scores" in titles() and "Verdict of mc" not in titles() and "Data that gives pc away" not in titles()
        # the results get most of the height and scroll by keyboard while a question is open
        results = screen.query_one("#result-view")
        assert results.size.height >= 12, results.size
        await pilot.press("pagedown")
        await pilot.pause()
        assert results.scroll_y > 0
        # Q1: choice, answered with its number; brackets shown literally
        assert "Q1/5. pick [b]" in shown(screen, "#question")
        choices = screen.query_one("#choices", OptionList)
        assert choices.option_count == 3 and choices.has_focus
        assert "2. [b]" in str(choices.get_option_at_index(1).prompt)
        await pilot.press("r")  # a stray r while answering does nothing
        await pilot.press("2")
        await pilot.pause()
        assert screen.state == "questions" and screen.scores == [1.0]
        assert "✓" in shown(screen, "#feedback") and "[x]" in shown(screen, "#feedback")
        # answering Q1 reveals its interpretation, and only that
        await wait_for(pilot, lambda: "Verdict of mc" in titles())
        assert "Data that gives pc away" not in titles()
        await pilot.press("enter")  # Next has the focus
        await pilot.pause()
        # Q2: a second choice question right after the first (this crashed with DuplicateIds)
        assert "Q2/5" in shown(screen, "#question")
        await pilot.press("down", "down", "enter")  # Up/Down and Enter work too
        await pilot.pause()
        assert screen.scores == [1.0, 1.0]
        await wait_for(pilot, lambda: "Data that gives pc away" in titles())
        await pilot.press("enter")
        await pilot.pause()
        # Q3: component; the answer format is shown before answering
        assert "L0H0, L1H0" in shown(screen, "#hint")
        await pilot.press(*"l1h0", "enter")
        await pilot.pause()
        assert screen.scores[-1] == 1.0
        await pilot.press("enter")
        await pilot.pause()
        # Q4: numeric, typed
        await pilot.press("4", "enter")
        await pilot.pause()
        assert screen.scores[-1] == 1.0
        await pilot.press("enter")
        await pilot.pause()
        # Q5: free text; the key points come pre-ticked, x changes them, Enter confirms
        await pilot.press(*"alpha is what matters here", "enter")
        await pilot.pause()
        points = screen.query_one("#points")
        assert points.has_focus and points.ticks() == [True, False]
        await pilot.press("down", "x", "enter")
        await pilot.pause()
        assert screen.scores[-1] == 1.0
        await pilot.press("enter")  # Finish
        await pilot.pause()
        assert screen.state == "done"
        assert "Score: 100% over 5 question(s)" in shown(screen, "#question")
    row = list(store.db.query("SELECT * FROM lab_runs"))[0]
    assert row["status"] == "done" and row["score"] == pytest.approx(1.0)
    assert len(list(store.db.query("SELECT * FROM lab_answers"))) == 5
    assert store.ratings and store.ratings[0][0] == "lab:quick"


def test_escape_while_answering_asks_first(tmp_path):
    asyncio.run(_escape_asks(tmp_path))


async def _escape_asks(tmp_path):
    pytest.importorskip("torch")
    from mi_prep.tui.screens.labs import LabsScreen
    from mi_prep.tui.widgets.confirm import Confirm

    store = FakeStore()
    screen = LabsScreen(store, lambda: NOW, labs={"quick": QuickLab()}, cache_dir=tmp_path)
    app = Host(screen)
    async with app.run_test(size=(80, 24)) as pilot:
        await pilot.pause()
        await pilot.press("enter")
        await wait_for(pilot, lambda: screen.state == "questions")
        await pilot.press("2")
        await pilot.pause()
        await pilot.press("escape")
        await pilot.pause()
        assert isinstance(app.screen, Confirm)
        await pilot.press("n")  # keep answering: nothing changed
        await pilot.pause()
        assert app.screen is screen and screen.state == "questions" and screen.scores == [1.0]
        await pilot.press("escape", "y")
        await pilot.pause()
        assert screen.state == "list"
    assert len(list(store.db.query("SELECT * FROM lab_answers"))) == 1  # the answer given is kept


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
        await wait_for(pilot, lambda: "step" in shown(screen, "#progress-line"))
        await pilot.press("escape")
        await wait_for(pilot, lambda: screen.state == "list")
    rows = list(store.db.query("SELECT status, result FROM lab_runs"))
    assert rows == [{"status": "cancelled", "result": None}]


def test_hints_never_contain_the_answer():
    mc = MultipleChoice(id="m", prompt="p", explanation="e", options=("x", "y"), correct=1)
    pc = PickComponent(id="c", prompt="p", explanation="e", components=("A", "B", "C"), correct=("B", "C"))
    num = Numeric(id="n", prompt="p", explanation="e", answer=0.375, unit="%")
    assert "y" not in mc.answer_hint() and "0.375" not in num.answer_hint() and "%" in num.answer_hint()
    assert pc.answer_hint().endswith("A, B, C")  # all components, in their order: no hint at the key
