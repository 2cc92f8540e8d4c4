"""A drill's lab part as explicit types: a provider gives a LabSection or a LabSkipped, and
fetch_lab turns anything else (an exception, a wrong value) into LabSkipped with the reason."""

from __future__ import annotations

import random
import threading
from datetime import UTC, datetime

from mi_prep.core import drill as D
from mi_prep.core.deck import load_decks
from mi_prep.core.questions import Numeric
from mi_prep.core.store import open_store


def section(n=6):
    return D.LabSection("toy", [Numeric(f"q{i}", "?", "", answer=1.0) for i in range(n)], ("induction",))


def test_fetch_lab_passes_topics_seed_progress_and_cancel():
    seen = {}
    cancel = threading.Event()

    def provider(topics, seed, *, on_progress=None, cancel=None):
        seen.update(topics=list(topics), seed=seed, cancel=cancel)
        on_progress("step")
        return section()

    progress = []
    out = D.fetch_lab(provider, ("a", "b"), 7, on_progress=progress.append, cancel=cancel)
    assert isinstance(out, D.LabSection) and out.name == "toy"
    assert seen == {"topics": ["a", "b"], "seed": 7, "cancel": cancel} and progress == ["step"]
    assert D.lab_status_text(out) == f"lab ready: toy ({D.MAX_LAB_QUESTIONS} questions)"


def test_a_skip_is_a_value_with_its_reason():
    skipped = D.fetch_lab(lambda topics, seed, **_: D.LabSkipped("no labs found"), (), 1)
    assert skipped == D.LabSkipped("no labs found")
    assert skipped.note == D.lab_status_text(skipped) == "lab skipped: no labs found"


def test_a_failing_or_wrong_provider_is_skipped_not_raised():
    def broken(topics, seed, **_):
        raise RuntimeError("CUDA out of memory")

    assert D.fetch_lab(broken, (), 1) == D.LabSkipped("RuntimeError: CUDA out of memory")
    wrong = D.fetch_lab(lambda topics, seed, **_: ("name", []), (), 1)
    assert isinstance(wrong, D.LabSkipped) and "tuple" in wrong.reason


def test_use_lab_adds_a_section_or_notes_a_skip(tmp_path):
    d = tmp_path / "decks"
    d.mkdir()
    (d / "t.yaml").write_text("id: t\nname: T\ntags: [circuits]\ncards:\n  - id: t1\n    front: Q?\n    back: A\n")
    ds = load_decks(d)
    store = open_store(tmp_path / "data")
    now = datetime(2026, 7, 1, tzinfo=UTC)
    plan = D.make_plan(store, ds, now, random.Random(1), seed=1, n_questions=1)
    dr = D.Drill(store, ds, plan)
    dr.use_lab(section())
    assert dr.lab.name == "toy" and sum(q.kind == "lab" for q in dr.questions) == D.MAX_LAB_QUESTIONS
    dr2 = D.Drill(store, ds, D.make_plan(store, ds, now, random.Random(1), seed=1, n_questions=1))
    dr2.use_lab(D.LabSkipped("torch is not installed"))
    assert dr2.lab is None and not dr2.lab_pending
    assert dr2.notes == ["lab skipped: torch is not installed"]
    assert dr2.plan.lab == {"name": None, "topics": [], "note": "lab skipped: torch is not installed"}


def test_lab_progress_text():
    from types import SimpleNamespace as P

    assert D.lab_progress_text(P(step=40, total=150, loss=1.25, message="training")) == (
        "preparing the lab: training step 40/150, loss 1.250"
    )
    assert D.lab_progress_text(P(step=1, total=2, loss=None, message="")) == "preparing the lab: running step 1/2"
