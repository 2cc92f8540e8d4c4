"""Lab engine: question grading, history/mastery, render, registry, runner cancel, CLI, lazy torch."""

from __future__ import annotations

import argparse
import json
import threading
from datetime import UTC, datetime
from typing import Literal

import pytest
import sqlite_utils

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent, question_from_dict
from mi_prep.lab.api import (
    Field,
    Heatmap,
    Lab,
    LabCancelled,
    LabContext,
    LabParams,
    LabResult,
    LinePlot,
    Scatter,
    Series,
    Table,
    Text,
)

NOW = datetime(2026, 1, 2, 12, 0, tzinfo=UTC)


# --------------------------------------------------------------------------- questions


def test_multiple_choice_grading():
    q = MultipleChoice(id="q", prompt="p", explanation="because 0.42", options=("a", "b", "c"), correct=1)
    assert q.grade("2").correct and q.grade("b").correct and q.grade("B").correct
    assert not q.grade("1").correct
    g = q.grade("zzz")
    assert g.score == 0 and "0.42" in g.feedback


def test_numeric_tolerance_partial_and_percent():
    q = Numeric(id="n", prompt="p", explanation="e", answer=2.0, rel_tol=0.1)
    assert q.grade("2.1").correct
    assert not q.grade("2.5").correct and 0 < q.grade("2.3").score < 1
    assert q.grade("nonsense").score == 0
    pct = Numeric(id="n2", prompt="p", explanation="e", answer=0.5, abs_tol=0.05, rel_tol=0)
    assert pct.grade("50%").correct


def test_pick_component_all_and_any_of():
    q = PickComponent(id="c", prompt="p", explanation="e", components=("L0H0", "L0H1", "L1H0"), correct=("L0H1",))
    assert q.grade("l0h1").correct and q.grade("L0.H1").correct
    assert not q.grade("L0H0").correct and q.grade("L9H9").score == 0
    anyq = PickComponent(
        id="c2", prompt="p", explanation="e", components=("L1H0", "L1H1", "L0H0"), correct=("L1H0", "L1H1"), any_of=True
    )
    assert anyq.grade("L1H1").correct and anyq.grade("L1H1").score == 1.0
    assert not anyq.grade("L1H1, L0H0").correct
    with pytest.raises(ValueError):
        PickComponent(id="bad", prompt="p", explanation="e", components=("A",), correct=("B",))


def test_free_text_key_points_and_self_rating():
    q = FreeText(
        id="f",
        prompt="p",
        explanation="e",
        model_answer="m",
        key_points=("previous token", "key composition"),
        terms=(("previous",), ("key",)),
    )
    g = q.grade("the previous token head")
    assert g.covered == (0,) and g.score == 0.5
    assert q.grade("nothing", ticked=[0, 1]).score == 1.0


def test_questions_roundtrip_json():
    qs = [
        MultipleChoice(id="a", prompt="p", explanation="e", options=("x", "y"), correct=1),
        PickComponent(id="b", prompt="p", explanation="e", components=("L0H0", "L0H1"), correct=("L0H1",), any_of=True),
        FreeText(id="c", prompt="p", explanation="e", key_points=("k",), terms=(("k",),)),
    ]
    for q in qs:
        back = question_from_dict(json.loads(json.dumps(q.to_dict())))
        assert back == q


# --------------------------------------------------------------------------- history


def make_db():
    db = sqlite_utils.Database(memory=True)
    db["lab_runs"].create(
        {
            "id": int,
            "lab": str,
            "seed": int,
            "device": str,
            "params": str,
            "started": str,
            "finished": str,
            "status": str,
            "result": str,
            "score": float,
            "error": str,
        },
        pk="id",
    )
    db["lab_answers"].create(
        {"id": int, "run_id": int, "question_id": str, "answer": str, "score": float, "correct": int, "ts": str},
        pk="id",
    )
    return db


class FakeStore:
    def __init__(self):
        self.db = make_db()
        self.ratings = []

    def apply_rating(self, item_id, rating, now):
        self.ratings.append((item_id, rating, now))


def _result():
    q = MultipleChoice(id="q1", prompt="p", explanation="e", options=("a", "b"), correct=0)
    return LabResult(
        blocks=[
            Text(title="t", body="b"),
            Heatmap(title="h", values=[[0.0, 1.0]]),
            LinePlot(title="l", series=[Series("s", [0, 1], [1, 0])]),
        ],
        metrics={"x": 1.0},
        questions=[q],
    )


def test_history_save_reload_mastery_and_rating():
    from mi_prep.lab import history
    from mi_prep.lab.runner import LabRun, rating_for

    store = FakeStore()
    run = LabRun(
        lab="demo",
        seed=3,
        device="cpu",
        params={"steps": 2},
        started=NOW,
        finished=NOW,
        status="done",
        result=_result(),
    )
    rid = history.save_run(store, run)
    g = run.result.questions[0].grade("a")
    history.save_answer(store, rid, "q1", "a", g, NOW)
    assert history.finish_run(store, rid, "demo", 0.8, NOW) == 3
    assert store.ratings == [("lab:demo", 3, NOW)]
    back = history.get_run(store, rid)
    assert back.result.metrics == {"x": 1.0} and back.result.questions[0].id == "q1"
    assert back.score == 0.8 and history.answers(store, rid)[0]["correct"] == 1
    rid2 = history.save_run(
        store,
        LabRun(lab="demo", seed=4, device="cpu", params={}, started=NOW, finished=NOW, status="done", result=_result()),
    )
    history.finish_run(store, rid2, "demo", 0.4, NOW)
    s = history.summaries(store, ["demo", "other"])
    assert s["demo"].last_score == 0.4 and s["demo"].best_score == 0.8 and s["demo"].mastery == pytest.approx(0.6)
    assert s["other"].mastery is None
    # cancelled runs store no result and do not count as done
    history.save_run(
        store.db, LabRun(lab="demo", seed=5, device="cpu", params={}, started=NOW, finished=NOW, status="cancelled")
    )
    assert history.runs(store.db, "demo")[0].status == "cancelled"
    assert history.runs(store.db, "demo")[0].result is None
    assert [rating_for(x) for x in (0.2, 0.6, 0.9, 1.0)] == [1, 2, 3, 4]
    # a plain Database (no apply_rating) still records the score
    assert history.finish_run(store.db, rid2, "demo", 0.5, NOW) is None


# --------------------------------------------------------------------------- render


def test_render_blocks_plain():
    from mi_prep.lab.render import render_block, render_result

    txt = render_result(
        LabResult(
            blocks=[
                Table(title="T", columns=["a", "b"], rows=[["x", 1.5]]),
                Heatmap(title="H", values=[[0.0, 0.5], [1.0, -1.0]], row_labels=["r0", "r1"], col_labels=["c0", "c1"]),
                LinePlot(title="L", series=[Series("loss", [0, 10, 20], [3.0, 2.0, 1.0])], xlabel="step"),
                Scatter(title="S", x=[0.0, 1.0], y=[0.1, 0.9]),
            ],
            metrics={},
            questions=[],
        ),
        width=60,
    )
    assert "== T ==" in txt and "r1" in txt and "step" in txt and "\x1b[" not in txt
    big = render_block(Heatmap(title="B", values=[[i * j / 100 for j in range(40)] for i in range(10)], vmin=0, vmax=1))
    assert "█" in big
    assert "\x1b[48;2" in render_block(Heatmap(title="C", values=[[0.0, 1.0]]), color=True)


# --------------------------------------------------------------------------- registry, runner, cancel


class SlowLab(Lab):
    name = "slow"
    title = "Slow"
    defaults = {"steps": 1000}

    def run(self, ctx: LabContext) -> LabResult:
        import time

        for i in range(ctx.params["steps"]):
            ctx.check_cancelled()
            ctx.progress(i + 1, ctx.params["steps"], loss=1.0 / (i + 1))
            time.sleep(0.001)
        return _result()


def test_runner_cancel_from_progress_callback(torch, tmp_path):
    from mi_prep.lab import history
    from mi_prep.lab.runner import run_lab

    cancel = threading.Event()
    seen = []

    def on_progress(p):
        seen.append(p.step)
        if p.step == 5:
            cancel.set()

    run = run_lab(SlowLab(), seed=0, device="cpu", cache_dir=tmp_path, on_progress=on_progress, cancel=cancel)
    assert run.status == "cancelled" and run.result is None and max(seen) == 5
    db = make_db()
    history.save_run(db, run)
    assert not list(db.query("SELECT * FROM lab_runs WHERE status = 'done'"))
    with pytest.raises(LabCancelled):
        ctx = LabContext(seed=0, device="cpu", params={"steps": 10}, cache_dir=tmp_path)
        ctx.cancel.set()
        SlowLab().run(ctx)


def test_start_lab_thread_cancel(torch, tmp_path):
    from mi_prep.lab.runner import start_lab

    started = threading.Event()
    h = start_lab(SlowLab(), seed=0, device="cpu", cache_dir=tmp_path, on_progress=lambda p: started.set())
    assert started.wait(5)
    h.cancel()
    run = h.join(10)
    assert run.status == "cancelled"


def test_merge_params_untyped_lab_and_parse():
    from mi_prep.lab.runner import merge_params, parse_value

    lab = SlowLab()
    assert merge_params(lab) == {"steps": 1000} and merge_params(lab, {"steps": 3})["steps"] == 3
    with pytest.raises(KeyError):
        merge_params(lab, {"nope": 1})
    assert parse_value("3") == 3 and parse_value("[1, 2]") == [1, 2] and parse_value("abc") == "abc"


class TypedParams(LabParams):
    steps: int = Field(10, gt=0)
    lr: float = 0.5
    sizes: tuple[int, ...] = (1, 2)
    name: Literal["a", "b"] = "a"


class TypedLab(Lab):
    name = "typed"
    title = "Typed"
    Params = TypedParams
    small = {"steps": 2}

    def run(self, ctx: LabContext) -> LabResult:
        assert isinstance(ctx.params, TypedParams)
        return LabResult([], {"steps": float(ctx.params.steps), "lr": ctx.params.lr}, [])


def test_typed_params_are_merged_and_validated_once():
    from mi_prep.lab.api import ParamError, UnknownParamError
    from mi_prep.lab.runner import merge_params

    lab = TypedLab()
    assert dict(lab.defaults) == {"steps": 10, "lr": 0.5, "sizes": (1, 2), "name": "a"}
    assert merge_params(lab) == TypedParams()
    p = merge_params(lab, {"lr": 1, "sizes": [3]}, small=True)
    assert p == TypedParams(steps=2, lr=1.0, sizes=(3,)) and isinstance(p.lr, float)
    assert p.to_dict() == {"steps": 2, "lr": 1.0, "sizes": [3], "name": "a"}
    assert merge_params(lab, {"steps": 5}, small=True).steps == 5  # the user's override wins over small
    assert merge_params(lab, p) is p
    with pytest.raises(
        UnknownParamError, match=r"lab 'typed' has no parameter 'step' \(known: lr, name, sizes, steps\)"
    ):
        merge_params(lab, {"step": 5})
    for bad, where in (
        ({"steps": "many"}, "steps"),
        ({"steps": 0}, "steps"),
        ({"steps": 2.5}, "steps"),
        ({"name": "c"}, "name"),
        ({"sizes": "x"}, "sizes"),
    ):
        with pytest.raises(ParamError, match=f"lab 'typed': bad parameter value: {where}: .*got"):
            merge_params(lab, bad)


def test_run_lab_takes_merged_params_or_overrides(torch, tmp_path):
    from mi_prep.lab.api import ParamError
    from mi_prep.lab.runner import merge_params, run_lab

    lab = TypedLab()
    run = run_lab(lab, device="cpu", cache_dir=tmp_path, params=merge_params(lab, small=True))
    assert run.ok and run.result.metrics["steps"] == 2.0
    assert run.params == {"steps": 2, "lr": 0.5, "sizes": [1, 2], "name": "a"}  # plain values: stored as JSON
    assert json.loads(json.dumps(run.params)) == run.params
    assert run_lab(lab, device="cpu", cache_dir=tmp_path, params={"steps": 4}).result.metrics["steps"] == 4.0
    assert run_lab(lab, device="cpu", cache_dir=tmp_path).result.metrics["steps"] == 10.0
    with pytest.raises(ParamError):
        run_lab(lab, device="cpu", cache_dir=tmp_path, params={"steps": -1})


def test_cli_set_reports_unknown_keys_and_bad_values(tmp_path, monkeypatch):
    import io

    from mi_prep.cli import lab as cli_lab
    from mi_prep.lab import registry

    monkeypatch.setattr(registry, "get", lambda name, directory=None: TypedLab())
    ran = []
    monkeypatch.setattr("mi_prep.lab.runner.start_lab", lambda *a, **k: ran.append(k))

    class App:
        stdout = io.StringIO()

    for sets, message in (
        (["step=3"], "error: lab 'typed' has no parameter 'step' (known: lr, name, sizes, steps)"),
        (
            ["steps=lots"],
            "error: lab 'typed': bad parameter value: steps: Input should be a valid "
            "integer, unable to parse string as an integer (got 'lots')",
        ),
        (["steps"], "error: --set expects KEY=VALUE, got 'steps'"),
    ):
        App.stdout = io.StringIO()
        args = argparse.Namespace(name="typed", overrides=sets, small=False, seed=0, device="cpu")
        assert cli_lab.cmd_lab_run(args, App()) == 2
        assert App.stdout.getvalue().strip() == message
    assert not ran


# --------------------------------------------------------------------------- lazy torch


def test_missing_torch_raises_lab_unavailable(monkeypatch):
    import importlib.util

    from mi_prep.lab import device
    from mi_prep.lab.api import LabUnavailable

    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda n, *a: None if n == "torch" else real(n, *a))
    with pytest.raises(LabUnavailable, match=r"pip install -e '\.\[labs\]'"):
        device.require_torch()


def test_device_resolution(torch):
    from mi_prep.lab.api import LabUnavailable
    from mi_prep.lab.device import resolve_device

    assert resolve_device("cpu") == "cpu"
    assert resolve_device(None) in ("cpu", "cuda")
    with pytest.raises(LabUnavailable):
        resolve_device("tpu")
