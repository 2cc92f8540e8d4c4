"""What the frontends ask a running drill (can it take an answer, how is it graded) and the answer
records (mi_prep.core.drill.records): a timed-out question scores 0, unanswered key points are listed."""

from __future__ import annotations

import random
from datetime import UTC, datetime, timedelta

from mi_prep.core import drill as D
from mi_prep.core.deck import load_decks
from mi_prep.core.drill.records import answer_record
from mi_prep.core.store import open_store

T0 = datetime(2026, 7, 1, tzinfo=UTC)
DECK = """id: t
name: T
tags: [circuits]
cards:
  - id: t1
    front: Q?
    back: A
  - id: t2
    type: explain
    front: Explain it
    back: The model answer
    key_points:
      - text: residual stream
        terms: [residual]
      - text: attention heads
        terms: [attention]
      - text: superposition
        terms: [superposition]
"""


def drill(tmp_path):
    d = tmp_path / "decks"
    d.mkdir()
    (d / "t.yaml").write_text(DECK)
    ds = load_decks(d)
    store = open_store(tmp_path / "data")
    plan = D.make_plan(store, ds, T0, random.Random(1), seed=1, n_questions=2, with_lab=False)
    return D.Drill(store, ds, plan)


def test_can_submit_and_grading_mode_follow_the_phase_and_pause(tmp_path):
    dr = drill(tmp_path)
    assert not dr.can_submit and dr.grading_mode is None
    dr.start(T0)
    assert dr.can_submit and dr.grading_mode is None
    dr.pause(T0)
    assert not dr.can_submit
    dr.resume(T0 + timedelta(seconds=5))
    ev = dr.submit("residual", T0 + timedelta(seconds=10))
    assert not dr.can_submit and dr.grading_mode == ev.mode
    dr.grade(T0 + timedelta(seconds=11), self_grade="right")
    dr.abandon(T0 + timedelta(seconds=12))
    assert dr.phase == "finished" and not dr.can_submit and dr.grading_mode is None


def test_answer_records(tmp_path):
    dr = drill(tmp_path)
    explain = next(q for q in dr.questions if q.kind == "explain")
    item = dr.items[explain.item_id]
    timed_out = answer_record(explain, item, "half an answer", 0.7, 1234, "timed_out")
    assert timed_out.score == 0.0 and timed_out.answer == "half an answer" and timed_out.elapsed_ms == 1234
    assert timed_out.points == [
        {"text": t, "covered": False} for t in ("residual stream", "attention heads", "superposition")
    ]
    assert timed_out.reference == "The model answer"
    answered = answer_record(explain, item, "x", 0.5, -3, "answered")
    assert answered.score == 0.5 and answered.points == [] and answered.elapsed_ms == 0
