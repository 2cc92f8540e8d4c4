"""`mi-prep lab run` in the terminal, with a fake lab file (no training): the results are staged (what
answers a question is printed only after it is answered), ``--json`` prints the run for scripts with
each question's key, and ``--threads`` / the ``lab-threads`` setting pick torch's thread count."""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mi_prep.cli import main
from mi_prep.context import AppContext

pytestmark = pytest.mark.needs_torch

LAB_FILE = """
from mi_prep.lab.api import Lab, LabParams, LabResult, MultipleChoice, Numeric, Table, Text, Field


class StagedParams(LabParams):
    rows: int = Field(3, gt=0)


class StagedLab(Lab):
    name = "staged"
    title = "Staged"
    summary = "A fake lab whose interpretation is revealed by its questions."
    topics = ("testing",)
    Params = StagedParams

    def run(self, ctx):
        import torch

        rows = [[f"L0H{i}", round(0.1 * (i + 1) + 0.01 * ctx.seed, 3)] for i in range(ctx.params.rows)]
        best = max(range(len(rows)), key=lambda i: rows[i][1])
        return LabResult(
            blocks=[
                Table(title="Scores per head", columns=["head", "score"], rows=rows),
                Text(title="Verdict", body=f"MARKER-VERDICT: head {rows[best][0]} wins", after="which"),
                Text(title="Threads", body=f"MARKER-THREADS-{torch.get_num_threads()}", after="sum"),
            ],
            metrics={"best": float(best), "broken": float("nan")},
            questions=[
                MultipleChoice(
                    id="which",
                    prompt="Which head scores highest?",
                    explanation="the last",
                    options=tuple(r[0] for r in rows),
                    correct=best,
                ),
                Numeric(id="sum", prompt="Sum of scores?", explanation="added", answer=sum(r[1] for r in rows), abs_tol=0.01),
            ],
        )


LAB = StagedLab()
"""


@pytest.fixture
def env(tmp_path, monkeypatch):
    pytest.importorskip("torch")
    labs = tmp_path / "labs"
    labs.mkdir()
    (labs / "staged.py").write_text(LAB_FILE)
    monkeypatch.setenv("MI_PREP_LABS", str(labs))
    monkeypatch.setenv("MI_PREP_CACHE", str(tmp_path / "cache"))
    return tmp_path


def run(tmp_path: Path, *args: str, stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    app = AppContext(
        tmp_path / "data", [], stdin=io.StringIO(stdin), stdout=out, clock=lambda: datetime(2026, 1, 2, tzinfo=UTC)
    )
    rc = main(["--data-dir", str(tmp_path / "data"), *args], app=app)
    return rc, out.getvalue()


def test_interpretation_is_printed_after_its_question_is_answered(env):
    rc, text = run(env, "lab", "run", "staged", stdin="3\n0.6\n")
    assert rc == 0, text
    q1, q2 = text.index("Q1/2"), text.index("Q2/2")
    assert text.index("Scores per head") < q1 < text.index("MARKER-VERDICT") < q2 < text.index("MARKER-THREADS")
    assert "Score: 100%" in text


def test_end_of_input_never_reveals_an_unanswered_question(env):
    rc, text = run(env, "lab", "run", "staged", stdin="")
    assert rc == 0 and "Scores per head" in text and "MARKER-VERDICT" not in text


def test_no_questions_shows_every_block(env):
    rc, text = run(env, "lab", "run", "staged", "--no-questions")
    assert rc == 0 and "MARKER-VERDICT" in text and "MARKER-THREADS" in text and "Q1/2" not in text


def test_json_has_blocks_metrics_questions_and_keys_and_nothing_else(env):
    rc, text = run(env, "lab", "run", "staged", "--seed", "2", "--json", stdin="should not be read\n")
    assert rc == 0
    d = json.loads(text)  # the whole output is one JSON document (no progress lines)
    assert d["lab"] == "staged" and d["seed"] == 2 and d["status"] == "done" and d["params"] == {"rows": 3}
    assert d["metrics"] == {"best": 2.0, "broken": None}  # NaN is not JSON: null
    assert [b["after"] for b in d["blocks"]] == ["", "which", "sum"]
    which, total = d["questions"]
    assert which["kind"] == "choice" and which["key"] == "3. L0H2" and which["correct"] == 2
    assert total["answer"] == pytest.approx(0.66) and total["key"].startswith("0.66") and total["hint"]
    assert isinstance(d["run_id"], int)


def test_json_for_an_unknown_parameter_is_an_error_line(env):
    rc, text = run(env, "lab", "run", "staged", "--json", "--set", "nope=1")
    assert rc == 2 and "no parameter 'nope'" in text


@pytest.mark.parametrize(("args", "config", "threads"), [((), None, 1), (("--threads", "2"), None, 2), ((), "2", 2)])
def test_thread_count_comes_from_the_flag_or_the_setting(env, args, config, threads):
    if config is not None:
        assert run(env, "config", "set", "lab-threads", config)[0] == 0
    rc, text = run(env, "lab", "run", "staged", "--no-questions", *args)
    assert rc == 0 and f"MARKER-THREADS-{threads}" in text and f"{threads} thread(s)" in text


@pytest.mark.parametrize("bad", ["0", "many", "-1"])
def test_bad_thread_counts_are_refused_with_what_to_type(env, bad, capsys):
    with pytest.raises(SystemExit) as exc:
        run(env, "lab", "run", "staged", "--threads", bad)
    assert exc.value.code == 2 and "auto" in capsys.readouterr().err
    rc, text = run(env, "config", "set", "lab-threads", bad)
    assert rc != 0 and "auto" in text
