"""Journeys a person takes through the real app, driven by Pilot from Home to the end.

* every lab in the registry (a new lab file is covered without new test code): Home -> Labs -> small
  settings -> run -> every question answered by typing -> score saved and scheduled;
* a whole drill with a real lab section (its results on screen, typed answers with pauses) to the
  report, every answer stored exactly as typed;
* text with [brackets] shown literally on every screen;
* a due lab shown on Home and started with one key.
"""

from __future__ import annotations

import asyncio
import random
import time

import pytest
from textual.widgets import DataTable, Static

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent, question_from_dict
from mi_prep.lab import registry
from mi_prep.lab.api import Lab

LAB_NAMES = sorted(registry.discover())
SENTENCE = "The previous token head feeds the keys; sparse features rarely interfere."


async def wait_for(pilot, cond, timeout: float, what: str = "") -> None:
    t = time.monotonic()
    while not cond():
        if time.monotonic() - t > timeout:
            raise AssertionError(f"timed out waiting for {what}")
        await pilot.pause(0.05)


async def type_text(pilot, text: str, rng: random.Random) -> None:
    """Type like a person: key by key, with short irregular pauses."""
    for ch in text:
        await pilot.press("space" if ch == " " else ch)
        if rng.random() < 0.1:
            await pilot.pause(rng.uniform(0.0, 0.05))


def lab_answer(q, rng: random.Random) -> str:
    """What a learner might type for ``q`` (right or wrong; the point is the journey)."""
    if isinstance(q, PickComponent):
        return rng.choice(q.components)
    if isinstance(q, Numeric):
        return f"{rng.uniform(0, 2):.2f}"
    return SENTENCE


@pytest.mark.slow
@pytest.mark.needs_torch
@pytest.mark.parametrize("name", LAB_NAMES)
def test_every_lab_runs_and_is_answered_to_its_score(name, make_app, lab_cache, monkeypatch):
    monkeypatch.setenv("MI_PREP_CACHE", str(lab_cache.parent))
    monkeypatch.setattr("mi_prep.lab.models.default_cache_dir", lambda: lab_cache)
    rng = random.Random(name)

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("l")
            await pilot.pause()
            screen = app.screen
            assert type(screen).__name__ == "LabsScreen"
            table = screen.query_one("#lab-table", DataTable)
            for _ in range(LAB_NAMES.index(name)):
                await pilot.press("down")
            assert screen._cursor_lab() == name
            await pilot.press("s", "enter")  # small settings, run
            await wait_for(pilot, lambda: screen.state in ("questions", "done", "list"), 600, f"{name} to run")
            assert screen.state == "questions", f"{name} did not reach its questions"
            n = len(screen.questions)
            assert n >= 2
            result = screen.current_run.result
            while screen.state == "questions":
                i = screen.q_index
                q = screen.questions[i]
                concept = " (concept)" if q.conceptual else ""
                assert f"Q{i + 1}/{n}{concept}." in str(screen.query_one("#question", Static).render())
                shown = {v.block.title for v in screen.query("#result-view BlockView")}
                later = {b.title for b in screen.current_run.result.blocks if b not in result.blocks_before(i)}
                assert not shown & later, f"{name} Q{i + 1}: shows {shown & later} before it is asked"
                if isinstance(q, MultipleChoice):
                    await pilot.press(str(rng.randrange(len(q.options)) + 1))
                else:
                    await type_text(pilot, lab_answer(q, rng), rng)
                    await pilot.press("enter")
                    if isinstance(q, FreeText):
                        await pilot.pause()
                        assert screen.pending_free is not None
                        await pilot.press("x", "enter")  # change a tick, confirm
                await pilot.pause()
                assert len(screen.scores) == i + 1, f"{name} Q{i + 1} was not recorded"
                revealed = {b.title for b in result.revealed_by(q.id)}
                shown = {v.block.title for v in screen.query("#result-view BlockView")}
                assert revealed <= shown, f"{name} Q{i + 1}: answering it did not reveal {revealed - shown}"
                await pilot.press("r")  # stray keys while answering do nothing
                await pilot.press("enter")  # Next / Finish
                await pilot.pause()
            assert screen.state == "done"
            assert f"Score: {screen.final_score:.0%} over {n} question(s)" in str(
                screen.query_one("#question").render()
            )
            await pilot.press("escape")
            await pilot.pause()
            assert screen.state == "list"
            row = table.get_row(name)
            assert str(row[2]) == f"{screen.final_score:.0%}"
        runs = list(app.store.db.query("SELECT * FROM lab_runs WHERE lab = ?", [name]))
        assert len(runs) == 1 and runs[0]["status"] == "done" and runs[0]["score"] == pytest.approx(screen.final_score)
        assert len(list(app.store.db.query("SELECT * FROM lab_answers"))) == n
        assert app.store.state(f"lab:{name}") is not None  # scheduled like a card

    asyncio.run(body())


@pytest.mark.slow
@pytest.mark.needs_torch
def test_a_whole_drill_with_a_real_lab_reaches_its_report(make_app, lab_cache, monkeypatch, clock):
    monkeypatch.setattr("mi_prep.lab.models.default_cache_dir", lambda: lab_cache)
    rng = random.Random(7)

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("d")
            await pilot.pause()
            screen = app.screen
            assert type(screen).__name__ == "DrillScreen"
            d = screen.drill
            await wait_for(pilot, lambda: d.lab is not None or "skipped" in screen.lab_status, 600, "the lab")
            assert d.lab is not None, screen.lab_status
            assert d.lab.blocks, "the lab's results come with its questions"
            await pilot.press("enter")  # Start has the focus
            await pilot.pause()
            typed = []
            while d.phase == "answering":
                v = d.view()
                if v.kind == "lab":
                    assert not screen.query_one("#drill-lab").has_class("hidden")
                    assert v.hint and v.hint in str(screen.query_one("#drill-hint", Static).render())
                q = d.current_question
                if v.options:
                    text = str(rng.randrange(len(v.options)) + 1)
                elif v.kind == "lab":
                    text = lab_answer(question_from_dict(q.lab_question), rng)
                else:
                    text = SENTENCE
                await type_text(pilot, text, rng)
                clock.advance(seconds=20)
                await pilot.pause(0.1)  # a breath before Ctrl+S
                await pilot.press("ctrl+s")
                await pilot.pause()
                assert d.phase in ("grading", "finished"), d.phase
                typed.append(text)
                if d.phase == "grading":
                    await pilot.press("p" if d.evaluation.mode == "self" else "enter")
                    await pilot.pause()
            assert d.phase == "finished" and d.report.status == "finished"
            assert not screen.query_one("#drill-report").has_class("hidden")
            assert "Score per topic" in str(screen.query_one("#drill-report-text", Static).render())
            await pilot.press("enter")  # Close
            await pilot.pause()
            assert type(app.screen).__name__ == "HomeScreen"
        stored = [r[0] for r in app.store.db.execute("SELECT answer FROM drill_answers ORDER BY idx")]
        assert stored == typed  # every answer exactly as typed

    asyncio.run(body())


BRACKETS = """\
id: brk
name: "[bold]Brackets[/bold] [12%]"
tags: ["[x]topic"]
cards:
  - id: brk-basic
    front: "Complete [A][B] ... [A] -> ?"
    back: "[B], about [12%] of the time"
    source: "Olsson [2022]"
  - id: brk-choice
    type: choice
    front: "Which [head]?"
    options:
      - {text: "predict [B]", correct: true, why: "copies [B]"}
      - {text: "predict [A]", why: "not [A]"}
    source: x
  - id: brk-explain
    type: explain
    front: "Explain [A][B] ... [A]"
    back: "It completes [A][B] ... [A] by predicting [B]."
    key_points:
      - {text: "Completes [A][B] ... [A] by predicting [B]", terms: [predicting]}
      - {text: "A [bold]previous-token[/bold] head", terms: [previous-token]}
      - {text: "Copies via [OV]", terms: [copies]}
    source: x
"""


def test_brackets_are_literal_on_every_screen(make_app, tmp_path, screen_text, clock, monkeypatch):
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)
    d = tmp_path / "brk"
    d.mkdir()
    (d / "brk.yaml").write_text(BRACKETS)

    async def body():
        app = make_app(deck_paths=[d])
        assert not app.deckset.errors, app.deckset.errors
        async with app.run_test(size=(120, 40)) as pilot:
            await pilot.pause()
            assert "[bold]Brackets[/bold] [12%]" in screen_text(app)  # Home
            await pilot.press("r")
            await pilot.pause()
            assert "Complete [A][B] ... [A] -> ?" in screen_text(app)
            await pilot.press("space")
            await pilot.pause()
            assert "[B], about [12%] of the time" in screen_text(app) and "Olsson [2022]" in screen_text(app)
            await pilot.press("i")  # card info
            await pilot.pause()
            assert "[B], about [12%] of the time" in screen_text(app)
            await pilot.press("escape", "3")
            await pilot.pause()
            review = app.screen
            assert "Which [head]?" in screen_text(app) and "predict [B]" in screen_text(app)
            await pilot.press(str(review.order.index(0) + 1))
            await pilot.pause()
            assert "copies [B]" in screen_text(app)
            await pilot.press("3")
            await pilot.pause()
            assert "Explain [A][B] ... [A]" in screen_text(app)
            await pilot.press(*"predicting it", "ctrl+s")
            await pilot.pause()
            shot = screen_text(app)
            for text in (
                "Completes [A][B] ... [A] by predicting [B]",
                "A [bold]previous-token[/bold] head",
                "Copies via [OV]",
            ):
                assert text in shot, text
            await pilot.press("escape")
            await pilot.press("b")  # Browse
            await pilot.pause()
            shot = screen_text(app)
            assert "Complete [A][B] ... [A] -> ?" in shot and "[bold]Brackets" in shot
            await pilot.press("escape", "s")  # Stats
            await pilot.pause()
            assert "[x]topic" in screen_text(app)
            await pilot.press("escape", "x")  # Export
            await pilot.pause()
            assert "[bold]Brackets[/bold] [12%]" in screen_text(app)
            app.notify("deck [bold]x[/bold] has [12%]")  # notifications quote user text: never markup
            await pilot.pause()
            last = list(app._notifications)[-1]
            assert last.message == "deck [bold]x[/bold] has [12%]" and last.markup is False

    asyncio.run(body())


class OneQuestionLab(Lab):
    """A fast fake lab for the Home journey."""

    name = "toy"
    title = "Toy"
    summary = "toy"
    topics = ("circuits",)
    defaults: dict = {}
    small: dict = {}

    def run(self, ctx):
        from mi_prep.lab.api import LabResult, Text

        return LabResult(
            [Text(title="t", body="b")],
            {},
            [MultipleChoice(id="q", prompt="pick 2", explanation="2", options=("1", "2"), correct=1)],
        )


def test_due_lab_is_listed_on_home_and_started_with_one_key(make_app, clock, monkeypatch, lab_cache):
    pytest.importorskip("torch")
    monkeypatch.setattr("mi_prep.lab.registry.discover", lambda *a, **k: {"toy": OneQuestionLab()})
    monkeypatch.setattr("mi_prep.lab.models.default_cache_dir", lambda: lab_cache)

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            assert app.screen.query_one("#labs-due").has_class("hidden")
            await pilot.press("l", "enter")
            screen = app.screen
            await wait_for(pilot, lambda: screen.state == "questions", 60, "the toy lab")
            await pilot.press("2", "enter")
            await pilot.pause()
            assert screen.state == "done" and "next in" in str(screen.query_one("#question").render())
            await pilot.press("escape")
            await pilot.pause()
            assert "toy" in str(screen.query_one("#lab-table", DataTable).get_row("toy")[0])
            await pilot.press("escape")
            await pilot.pause()
            clock.advance(days=30)  # the lab's review comes due
            app.screen.refresh_data()
            await pilot.pause()
            line = app.screen.query_one("#labs-due")
            assert not line.has_class("hidden") and "toy" in str(line.render())
            await pilot.press("L")  # runs the due lab at once
            screen = app.screen
            await wait_for(pilot, lambda: getattr(screen, "state", "") == "questions", 60, "the due lab")
            assert screen.running == "toy"

    asyncio.run(body())


def test_without_the_labs_extra_labs_and_drills_say_how_to_install(make_app, monkeypatch):
    """A core-only install (no torch): the Labs screen lists every lab, running one tells the user the
    install command and leaves them on the list; a drill still runs, its lab part reported as skipped."""
    import importlib.util

    real_find_spec = importlib.util.find_spec

    def find_spec(name, *args, **kwargs):
        return (
            None
            if name.split(".")[0] in ("torch", "transformer_lens", "safetensors")
            else real_find_spec(name, *args, **kwargs)
        )

    monkeypatch.setattr(importlib.util, "find_spec", find_spec)

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            await pilot.pause()
            await pilot.press("l")
            await pilot.pause()
            screen = app.screen
            assert type(screen).__name__ == "LabsScreen"
            assert screen.query_one("#lab-table", DataTable).row_count == len(LAB_NAMES)
            await pilot.press("enter")
            await wait_for(pilot, lambda: screen.state == "list" and app._notifications, 30, "the install hint")
            messages = " ".join(str(n.message) for n in app._notifications)
            assert "not installed" in messages and "pip install" in messages and "[labs]" in messages
            await pilot.press("escape", "d")
            await pilot.pause()
            drill = app.screen
            assert type(drill).__name__ == "DrillScreen"
            await wait_for(pilot, lambda: "skipped" in drill.lab_status, 30, "the drill's lab outcome")
            assert "torch is not installed" in drill.lab_status
            await pilot.press("enter")  # Start: the drill runs without its lab part
            await pilot.pause()
            assert drill.drill.plan.questions

    asyncio.run(body())
