"""The lab contract, checked for every lab the registry finds (adding a lab is one file in labs/):
metadata, a typed ``Params`` class with defaults and ``small`` overrides, imports of ``mi_prep.lab``
only, and (slow) a small run whose result has blocks, answerable questions with valid keys, and
survives the JSON round trip; cancelling mid-training saves no model."""

from __future__ import annotations

import ast
import json
import math
import subprocess
import sys
import threading
from pathlib import Path

import pytest
from pydantic import ValidationError

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent, Question
from mi_prep.lab import registry
from mi_prep.lab.api import BLOCK_TYPES, Block, Lab, LabParams, LabResult, ParamError, UnknownParamError

LABS: dict[str, Lab] = registry.discover()
NAMES = sorted(LABS)
HEAVY = ("torch", "transformer_lens", "safetensors", "numpy")


def lab_file(name: str) -> Path:
    return Path(registry.module_of(name).__file__)


def test_every_lab_file_loads():
    errors: list = []
    found = registry.discover(errors=errors)
    assert not errors, errors
    stems = {p.stem for p in lab_file(NAMES[0]).parent.glob("*.py") if not p.name.startswith("_")}
    assert len(found) == len(stems) >= 6


def test_listing_labs_does_not_import_torch():
    code = (
        "import sys\nfrom mi_prep.lab import registry\nlabs = registry.discover()\n"
        "[lab.make_params(small=True) for lab in labs.values()]\n"
        f"print(sorted(m for m in {HEAVY!r} if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "[]"


@pytest.mark.parametrize("name", NAMES)
def test_metadata(name):
    lab = LABS[name]
    assert lab.name == name and lab.title.strip() and lab.summary.strip()
    assert lab.topics and all(isinstance(t, str) and t == t.strip().lower() and " " not in t for t in lab.topics)


@pytest.mark.parametrize("name", NAMES)
def test_typed_params_with_defaults_and_small(name):
    lab = LABS[name]
    assert isinstance(lab.Params, type) and issubclass(lab.Params, LabParams)
    defaults = lab.make_params()
    assert defaults == lab.Params() and dict(lab.defaults) == defaults.model_dump()
    assert set(lab.small) <= set(lab.Params.field_names()), "small overrides a parameter the lab does not have"
    small = lab.make_params(small=True)
    assert isinstance(small, lab.Params) and small != defaults
    assert all(getattr(small, k) == lab.Params(**{k: v}).model_dump()[k] for k, v in lab.small.items())
    # a stored run's params (plain JSON) validate back to the same params
    assert lab.make_params(json.loads(json.dumps(small.to_dict()))) == small
    assert lab.make_params(small) is small  # already merged: not merged again
    with pytest.raises(ValidationError, match="frozen"):
        small.steps = 1
    with pytest.raises(UnknownParamError, match="no parameter 'no_such_param'") as exc:
        lab.make_params({"no_such_param": 1})
    assert isinstance(exc.value, KeyError)
    some_int = next(k for k, f in lab.Params.model_fields.items() if f.annotation is int)
    with pytest.raises(ParamError, match=some_int):
        lab.make_params({some_int: "not a number"})
    with pytest.raises(ParamError, match=some_int):
        lab.make_params({some_int: -5})


def _imports(tree: ast.Module) -> list[tuple[str, bool]]:
    """``(module, at_import_time)`` for every import; imports inside a function run only when it is called."""
    out: list[tuple[str, bool]] = []

    def visit(node: ast.AST, in_function: bool) -> None:
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.Import):
                out.extend((a.name, not in_function) for a in child.names)
            elif isinstance(child, ast.ImportFrom):
                out.append(("." * child.level + (child.module or ""), not in_function))
            visit(child, in_function or isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda)))

    visit(tree, False)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_lab_imports_only_the_lab_engine(name):
    path = lab_file(name)
    tree = ast.parse(path.read_text(), str(path))
    others = {p.stem for p in path.parent.glob("*.py")} - {path.stem}
    for module, top_level in _imports(tree):
        root = module.split(".")[0]
        if module.startswith("mi_prep"):
            assert module == "mi_prep.lab" or module.startswith("mi_prep.lab."), f"{path.name} imports {module}"
            assert module != "mi_prep.lab.registry", f"{path.name} uses the registry (labs never load labs)"
        elif root in HEAVY:
            assert not top_level, f"{path.name} imports {module} at import time (import it inside run)"
        else:
            assert root == "__future__" or root in sys.stdlib_module_names, f"{path.name} imports {module}"
            assert root not in ("importlib", "runpy"), f"{path.name} loads modules by hand"
        assert root not in others and not module.startswith("."), f"{path.name} imports another lab ({module})"


# --------------------------------------------------------------------------- slow: real (small) runs


def _key_answer(q: Question) -> tuple[str, list[int] | None]:
    """An answer that the question's own key must grade as right."""
    if isinstance(q, MultipleChoice):
        return str(q.correct + 1), None
    if isinstance(q, PickComponent):
        return (q.correct[0] if q.any_of else ", ".join(q.correct)), None
    if isinstance(q, Numeric):
        return repr(q.answer), None
    if isinstance(q, FreeText):
        return q.model_answer, list(range(len(q.key_points)))
    raise AssertionError(f"unknown question type {type(q).__name__}")


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_small_run_has_blocks_and_valid_questions_and_round_trips(small_result, name):
    r = small_result(name)
    assert r.blocks and all(isinstance(b, Block) and b.kind in BLOCK_TYPES and b.title for b in r.blocks)
    assert r.metrics and all(isinstance(k, str) and isinstance(v, float) for k, v in r.metrics.items())
    assert r.questions and len({q.id for q in r.questions}) == len(r.questions)
    for q in r.questions:
        assert q.prompt.strip() and q.explanation.strip() and q.answer_hint(), q.id
        if isinstance(q, Numeric):
            assert math.isfinite(q.answer), q.id
        answer, ticked = _key_answer(q)
        grade = q.grade(answer, ticked) if ticked is not None else q.grade(answer)
        assert grade.score == 1.0, f"{name}: {q.id}'s key does not grade as right"
    stored = json.loads(json.dumps(r.to_dict()))
    back = LabResult.from_dict(stored)
    assert json.dumps(back.to_dict(), sort_keys=True) == json.dumps(r.to_dict(), sort_keys=True)
    assert [q.to_dict() for q in back.questions] == [q.to_dict() for q in r.questions]


@pytest.mark.slow
@pytest.mark.parametrize("name", NAMES)
def test_cancel_mid_training_saves_nothing(torch, tmp_path, name):
    from mi_prep.lab.runner import merge_params, run_lab

    lab = LABS[name]
    cancel = threading.Event()
    seen: list[int] = []

    def on_progress(p):
        seen.append(p.step)
        if len(seen) == 3:
            cancel.set()

    run = run_lab(
        lab,
        seed=7,
        device="cpu",
        params=merge_params(lab, small=True),
        cache_dir=tmp_path,
        on_progress=on_progress,
        cancel=cancel,
    )
    assert run.status == "cancelled" and run.result is None, run.error
    assert not list(tmp_path.glob("*.safetensors"))
