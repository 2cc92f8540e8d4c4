"""DrillScreen driven by Pilot with a fake clock: full drill with timeouts, pause, lab wait, report."""

from __future__ import annotations

import asyncio
import json
import threading
from datetime import UTC, datetime, timedelta

import pytest
from textual.app import App
from textual.widgets import SelectionList, Static, TextArea

from mi_prep.core.deck import load_decks
from mi_prep.core.drill import LabSection, LabSkipped
from mi_prep.core.questions import FreeText, MultipleChoice
from mi_prep.core.store import open_store
from mi_prep.lab.api import Table, Text
from mi_prep.tui.screens.drill import DrillScreen
from mi_prep.tui.widgets.confirm import Confirm

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
DECK = """\
id: tiny
name: Tiny
tags: [circuits]
cards:
  - id: t-basic
    front: What is a circuit?
    back: A subgraph of the model
    source: Olah 2020
  - id: t-choice
    type: choice
    front: QK or OV decides where to attend?
    options:
      - text: QK
        correct: true
      - text: OV
    source: Elhage 2021 sec 2
  - id: t-explain
    type: explain
    front: Explain the residual stream
    back: A shared bus
    source: Elhage 2021 sec 1
    key_points:
      - text: every layer reads and writes it
        terms: [reads]
      - text: it is a linear sum
        terms: [linear]
      - text: bandwidth is limited
        terms: [bandwidth]
  - id: t-basic2
    front: What is a feature?
    back: A direction the model uses
    source: Elhage 2022
"""


class Clock:
    def __init__(self):
        self.t = T0

    def __call__(self):
        return self.t

    def advance(self, **kw):
        self.t += timedelta(**kw)


def lab(topics, seed, **_):
    return LabSection(
        "toy-lab",
        [
            MultipleChoice("mc", "Which head is the induction head?", "L1H0 scored 0.9", ("L0H0", "L1H0"), 1),
            FreeText(
                "ft",
                "Why does the loss drop?",
                "the bump",
                model_answer="Induction heads form",
                key_points=("induction heads form", "phase change"),
                terms=(("induction",), ("phase",)),
            ),
        ],
        ("circuits",),
        blocks=[
            Table(title="Induction score per head", columns=["head", "score"], rows=[["L0H0", 0.1], ["L1H0", 0.9]]),
            Text(title="Verdict", body="L1H0 is the induction head", after="mc"),
        ],
    )


def block_titles(screen) -> list[str]:
    return [v.block.title for v in screen.query("#drill-lab-view BlockView")]


class DrillApp(App):
    def __init__(self, make_screen):
        super().__init__()
        self.make_screen = make_screen
        self.result = "not closed"

    def on_mount(self):
        self.push_screen(self.make_screen(), self._done)

    def _done(self, report):
        self.result = report


@pytest.fixture
def env(tmp_path):
    d = tmp_path / "decks"
    d.mkdir()
    (d / "tiny.yaml").write_text(DECK)
    ds = load_decks(d)
    assert not ds.errors
    return open_store(tmp_path / "data"), ds


async def type_answer(pilot, screen, text):
    area = screen.query_one("#drill-answer", TextArea)
    area.text = text
    await pilot.press("ctrl+s")
    await pilot.pause()


def test_full_drill_with_timeout_pause_lab_and_report(env):
    asyncio.run(_test_full_drill_with_timeout_pause_lab_and_report(env))


async def _test_full_drill_with_timeout_pause_lab_and_report(env):
    store, ds = env
    clock = Clock()
    screen = DrillScreen(store, ds, clock=clock, seed=3, minutes=10, questions=3, lab_provider=lab, tick_seconds=60)
    app = DrillApp(lambda: screen)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        intro = str(screen.query_one("#drill-intro-text", Static).render())
        assert "3 questions" in intro and "lab ready: toy-lab (2 questions)" in intro and "seed 3" in intro
        await pilot.click("#drill-start")
        await pilot.pause()
        d = screen.drill
        assert d.phase == "answering" and len(d.questions) == 5
        status = str(screen.query_one("#drill-status", Static).render())
        assert "Q 1/5" in status and "drill 10:00" in status

        # question 1: let its time run out (typed text is kept)
        first = d.current_question
        await pilot.press("h", "m")
        clock.advance(milliseconds=first.budget_ms + 500)
        screen.tick()
        await pilot.pause()
        assert d.records[0].status == "timed_out" and d.records[0].answer == "hm"
        assert d.current_index == 1 and screen.query_one("#drill-answer", TextArea).text == ""

        # question 2: pause for a minute (nothing counts, the question is hidden), then answer
        await pilot.press("f2")
        await pilot.pause()
        assert d.paused and "PAUSED" in str(screen.query_one("#drill-status", Static).render())
        assert screen.query_one("#drill-question").has_class("hidden")
        clock.advance(minutes=1)
        screen.tick()
        assert d.current_index == 1  # no timeout while paused
        await pilot.press("f2")
        await pilot.pause()
        assert not d.paused and not screen.query_one("#drill-question").has_class("hidden")

        answered = 1
        while d.phase == "answering":
            v = d.view()
            clock.advance(seconds=10)
            if v.kind == "choice":  # options are shuffled for the drill: type the right one's number
                right = ds.card_index()["t-choice"][1].correct_index
                await pilot.press(str(d.option_order(d.current_question).index(right) + 1))
                await pilot.press("ctrl+s")
                await pilot.pause()
                assert "Correct." in str(screen.query_one("#drill-reference", Static).render())
                await pilot.click("#grade-next")
            elif v.kind == "recall":
                await type_answer(pilot, screen, "a subgraph")
                assert "A subgraph of the model" in str(
                    screen.query_one("#drill-reference", Static).render()
                ) or "A direction" in str(screen.query_one("#drill-reference", Static).render())
                await pilot.click("#grade-partly")
            elif v.kind == "explain":
                await type_answer(pilot, screen, "every layer reads it and it is linear")
                points = screen.query_one("#drill-points", SelectionList)
                assert sorted(points.selected) == [0, 1]  # pre-ticked from the answer
                points.deselect(1)  # the user changes the ticks
                points.select(2)
                await pilot.pause()
                await pilot.click("#grade-next")
            else:  # lab
                lq = v.prompt
                if lq.startswith("Which head"):
                    # the data is beside the question, its interpretation only after the answer
                    assert block_titles(screen) == ["Induction score per head"]
                    await type_answer(pilot, screen, "L1H0")
                    assert block_titles(screen) == ["Induction score per head", "Verdict"]
                    await pilot.click("#grade-next")
                else:
                    await type_answer(pilot, screen, "induction heads form")
                    assert screen.query_one("#drill-points", SelectionList).selected == [0]
                    await pilot.click("#grade-next")
            await pilot.pause()
            answered += 1
        assert answered == 5 and d.phase == "finished"
        report = d.report
        assert report.paused_ms == 60_000
        assert [a.status for a in report.answers] == ["timed_out"] + ["answered"] * 4
        by = {a.item_id: a for a in report.answers}
        if "t-explain" in by and by["t-explain"].status == "answered":
            assert [p["covered"] for p in by["t-explain"].points] == [True, False, True]
        assert by["lab:toy-lab:mc"].score == 1.0 and by["lab:toy-lab:ft"].score == 0.5
        text = str(screen.query_one("#drill-report-text", Static).render())
        assert "Score per topic" in text and "paused 1:00" in text and "timeout" in text
        assert not screen.query_one("#drill-report").has_class("hidden")
        await pilot.click("#drill-close")
        await pilot.pause()
        assert app.result is report
    rows = list(store.db.query("SELECT * FROM drill_answers ORDER BY idx"))
    assert len(rows) == 5 and rows[0]["timed_out"] == 1
    assert store.db.execute("SELECT status, paused_ms FROM drills").fetchone() == ("finished", 60_000)


def test_waits_for_slow_lab_with_clocks_paused(env):
    asyncio.run(_test_waits_for_slow_lab_with_clocks_paused(env))


async def _test_waits_for_slow_lab_with_clocks_paused(env):
    store, ds = env
    clock = Clock()
    release = threading.Event()

    def slow_lab(topics, seed, **_):
        release.wait(10)
        return lab(topics, seed)

    screen = DrillScreen(
        store,
        ds,
        clock=clock,
        seed=1,
        minutes=10,
        topics=["circuits"],
        questions=1,
        lab_provider=slow_lab,
        tick_seconds=60,
    )
    app = DrillApp(lambda: screen)
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        await pilot.click("#drill-start")
        await pilot.pause()
        d = screen.drill
        v = d.view()
        clock.advance(seconds=5)
        await type_answer(pilot, screen, "1" if v.kind == "choice" else "reads")
        if v.kind == "recall":
            await pilot.click("#grade-right")
        else:
            await pilot.click("#grade-next")
        await pilot.pause()
        assert d.phase == "waiting" and d.paused
        assert "Waiting for the lab" in str(screen.query_one("#drill-intro-text", Static).render())
        clock.advance(minutes=3)  # waiting time is paused time
        release.set()
        await app.workers.wait_for_complete()
        await pilot.pause()
        assert d.phase == "answering" and not d.paused and d.view().kind == "lab"
        assert d.remaining_ms(clock()) == 600_000 - 5_000
        assert screen.query_one("#drill-answer", TextArea).has_focus
        await pilot.press("escape")  # Esc in the text box only leaves the box
        await pilot.pause()
        assert d.phase == "answering" and not screen.query_one("#drill-answer", TextArea).has_focus
        await pilot.press("escape")  # Esc again asks first; the clocks stop while it asks
        await pilot.pause()
        assert isinstance(app.screen, Confirm) and d.paused
        clock.advance(seconds=30)
        await pilot.press("n")
        await pilot.pause()
        assert app.screen is screen and d.phase == "answering" and not d.paused
        assert d.remaining_ms(clock()) == 600_000 - 5_000
        await pilot.click("#drill-stop")  # Stop asks too; y stops: the rest is unanswered
        await pilot.pause()
        await pilot.press("y")
        await pilot.pause()
        assert d.phase == "finished" and d.report.status == "stopped" and d.report.paused_ms == 210_000
        assert [a.status for a in d.report.answers] == ["answered", "unanswered", "unanswered"]


def no_torch(topics, seed, **_):
    return LabSkipped("torch is not installed (pip install 'mi-prep[labs]')")


def crashing(topics, seed, **_):
    raise RuntimeError("CUDA out of memory [device 0]")


@pytest.mark.parametrize(
    "provider, note",
    [
        (no_torch, "lab skipped: torch is not installed (pip install 'mi-prep[labs]')"),
        (crashing, "lab skipped: RuntimeError: CUDA out of memory [device 0]"),  # reported, never retried
    ],
)
def test_lab_failure_is_noted_and_standalone_exit(env, provider, note):
    asyncio.run(_test_lab_failure_is_noted_and_standalone_exit(env, provider, note))


async def _test_lab_failure_is_noted_and_standalone_exit(env, provider, note):
    store, ds = env
    clock = Clock()
    calls = []

    def counted(topics, seed, **kw):
        calls.append(seed)
        return provider(topics, seed, **kw)

    class Standalone(App):
        def on_mount(self):
            self.push_screen(
                DrillScreen(
                    store,
                    ds,
                    clock=clock,
                    seed=2,
                    minutes=1,
                    topics=["circuits"],
                    questions=1,
                    lab_provider=counted,
                    tick_seconds=60,
                )
            )

    app = Standalone()
    async with app.run_test(size=(110, 50)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        screen = app.screen
        assert calls == [2]
        assert note in str(screen.query_one("#drill-intro-text", Static).render())
        assert any(n.message == note for n in app._notifications)  # the warning shows the reason literally
        await pilot.click("#drill-start")
        await pilot.pause()
        clock.advance(minutes=2)  # the whole drill runs out
        screen.tick()
        await pilot.pause()
        assert screen.drill.phase == "finished" and screen.drill.report.status == "timed out"
        text = str(screen.query_one("#drill-report-text", Static).render())
        assert f"note: {note}" in text
        plan = json.loads(store.db.execute("SELECT plan FROM drills").fetchone()[0])
        assert plan["lab"] == {"name": None, "topics": [], "note": note}
        await pilot.click("#drill-close")
        await pilot.pause()
    assert app.return_value is None or app.return_value.status == "timed out"


BRACKET_DECK = """\
id: brk
name: Brackets
tags: [safety]
cards:
  - id: brk-cloze
    type: cloze
    front: "Claude 3 Opus complied {{c1::[12%]}} of the time [sic]"
    source: Greenblatt 2024
  - id: brk-choice
    type: choice
    front: "Which pattern [P][Q] ... [P]?"
    options:
      - {text: "predict [B]", correct: true, why: "copies [B]"}
      - {text: "predict [A]", why: "not [A]"}
    source: Olsson 2022
  - id: brk-explain
    type: explain
    front: "Explain [A][B] ... [A] -> [B]"
    back: "The head completes [A][B] ... [A] by predicting [B]."
    key_points:
      - {text: "Completes [A][B] ... [A] by predicting [B]", terms: [predicting]}
      - {text: "Uses a [bold]previous-token[/bold] head", terms: [previous-token]}
      - {text: "Copies via [OV]", terms: [copies]}
    source: Olsson 2022
"""


async def _bracket_drill(tmp_path):
    d = tmp_path / "decks"
    d.mkdir()
    (d / "b.yaml").write_text(BRACKET_DECK)
    ds = load_decks(d)
    assert not ds.errors
    store = open_store(tmp_path / "data")
    clock = Clock()

    def bracket_lab(topics, seed, **_):
        from mi_prep.lab.api import Text as TextBlock

        return LabSection(
            "brk-lab",
            [MultipleChoice("mc", "Which [head]?", "[L1H0] wins", ("[L0H0]", "[L1H0]"), 1)],
            ("safety",),
            blocks=[TextBlock(title="Result [x]", body="score [0.9] for [L1H0]")],
        )

    screen = DrillScreen(
        store, ds, clock=clock, seed=5, minutes=10, questions=3, lab_provider=bracket_lab, tick_seconds=60
    )
    app = DrillApp(lambda: screen)
    asked, graded = [], []
    async with app.run_test(size=(120, 50)) as pilot:
        await pilot.pause()
        await app.workers.wait_for_complete()
        await pilot.pause()
        await pilot.click("#drill-start")
        await pilot.pause()
        dr = screen.drill
        while dr.phase == "answering":
            asked.append(app.export_screenshot())
            v = dr.view()
            if v.kind == "lab":
                assert not screen.query_one("#drill-lab").has_class("hidden")  # the run's results are shown
            await type_answer(
                pilot, screen, "predicting it: previous-token head, copies" if v.kind != "choice" else "1"
            )
            graded.append(app.export_screenshot())
            if dr.evaluation.mode == "self":
                await pilot.press("p")  # partly: the report lists it under the points missed
            else:
                await pilot.press("enter")
            await pilot.pause()
        assert dr.phase == "finished"
        report = app.export_screenshot()
    return [_plain(x) for x in ("".join(asked), "".join(graded), report)]


def _plain(svg: str) -> str:
    import html

    return html.unescape(svg).replace("\xa0", " ")


def test_brackets_are_shown_literally_everywhere_in_a_drill(tmp_path):
    asked, graded, report = asyncio.run(_bracket_drill(tmp_path))
    for text in (
        "[sic]",
        "Which pattern [P][Q] ... [P]?",
        "predict [B]",
        "Explain [A][B] ... [A] -> [B]",
        "Which [head]?",
        "[L0H0]",
        "Result [x]",
        "score [0.9] for [L1H0]",
    ):
        assert text in asked, f"question: {text}"
    for text in (
        "[[12%]] of the time [sic]",
        "copies [B]",
        "[bold]previous-token[/bold]",
        "Copies via [OV]",
        "completes [A][B] ... [A] by predicting [B]",
        "[L1H0] wins",
    ):
        assert text in graded, f"evaluation: {text}"
    assert "of the time [sic]" in report


def test_fast_typing_then_ctrl_s_grades_exactly_what_was_typed(env):
    """Keys arrive faster than the app handles them (a lab training in the background makes this worse):
    Ctrl+S must not overtake the letters typed before it."""
    from textual import events

    async def body():
        store, ds = env
        clock = Clock()
        screen = DrillScreen(
            store, ds, clock=clock, seed=4, minutes=10, questions=3, lab_provider=None, tick_seconds=60
        )
        app = DrillApp(lambda: screen)
        typed = []
        async with app.run_test(size=(110, 40)) as pilot:
            await pilot.pause()
            await pilot.click("#drill-start")
            await pilot.pause()
            d = screen.drill
            while d.phase == "answering":
                text = f"answer number {d.current_index} with several words"
                for ch in text:  # queued at once, as a fast typist's keys are
                    app.post_message(events.Key("space" if ch == " " else ch, ch))
                app.post_message(events.Key("ctrl+s", None))
                await pilot.pause(0.2)
                typed.append(text)
                assert d.phase == "grading", d.phase
                if d.evaluation.mode == "self":
                    await pilot.press("p")
                else:
                    await pilot.press("enter")
                await pilot.pause()
        rows = [r[0] for r in store.db.execute("SELECT answer FROM drill_answers ORDER BY idx")]
        assert rows == typed

    asyncio.run(body())


def test_waiting_for_the_lab_shows_its_progress_not_paused(env):
    async def body():
        store, ds = env
        clock = Clock()
        release = threading.Event()

        def progressing_lab(topics, seed, on_progress=None, cancel=None):
            from mi_prep.lab.api import Progress

            on_progress(Progress(40, 150, 1.25, "training"))
            release.wait(10)
            return lab(topics, seed)

        screen = DrillScreen(
            store,
            ds,
            clock=clock,
            seed=1,
            minutes=10,
            topics=["circuits"],
            questions=1,
            lab_provider=progressing_lab,
            tick_seconds=60,
        )
        app = DrillApp(lambda: screen)
        async with app.run_test(size=(110, 40)) as pilot:
            await pilot.pause(0.2)
            intro = str(screen.query_one("#drill-intro-text", Static).render())
            assert "training step 40/150, loss 1.250" in intro
            await pilot.click("#drill-start")
            await pilot.pause()
            d = screen.drill
            await type_answer(pilot, screen, "reads")
            await pilot.press("r" if d.evaluation.mode == "self" else "enter")
            await pilot.pause()
            assert d.phase == "waiting"
            status = str(screen.query_one("#drill-status", Static).render())
            assert "Waiting for the lab" in status and "step 40/150" in status and "PAUSED" not in status
            release.set()
            await app.workers.wait_for_complete()
            await pilot.pause()
            assert d.phase == "answering" and d.view().kind == "lab"

    asyncio.run(body())
