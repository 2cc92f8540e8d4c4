"""The drills' SQL (mi_prep.core.store.drills): typed records in and out, one transaction per write."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime, timedelta

import pytest

from mi_prep.core.scheduling import Rating
from mi_prep.core.store import StorageError, open_store
from mi_prep.core.store import drills as rows

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


@pytest.fixture
def store(tmp_path):
    return open_store(tmp_path / "data")


def answer(drill_id, idx, topic, score, timed_out=False):
    return rows.DrillAnswerRow(
        drill_id, idx, f"item-{idx}", "recall", topic, "Q?", "typed", [], score, 1200, timed_out, T0
    )


def test_a_drill_and_its_answers_round_trip(store):
    plan = {"seed": 3, "questions": []}
    first = rows.insert_drill(store, seed=3, started=T0, minutes=10.0, topics=["circuits"], plan=plan)
    assert rows.stored_plan(store, first) == plan and rows.stored_report(store, first) is None
    rows.insert_answer(
        store,
        rows.DrillAnswerRow(
            first,
            0,
            "t-explain",
            "explain",
            "circuits",
            "Explain",
            None,
            [{"text": "a", "covered": True}],
            0.5,
            900,
            False,
            T0,
        ),
    )
    rows.insert_answer(store, answer(first, 1, "circuits", 0.0, timed_out=True))
    got = store.db.execute("SELECT answer, points, timed_out, ts FROM drill_answers ORDER BY idx").fetchall()
    assert got == [(None, '[{"text": "a", "covered": true}]', 0, T0.isoformat()), ("typed", "[]", 1, T0.isoformat())]
    report = {"topics": {"circuits": 0.25}}
    rows.finish_drill(
        store,
        first,
        finished=T0,
        report=report,
        paused_ms=500,
        score=0.25,
        status="finished",
        plan={**plan, "lab": None},
    )
    rows.save_report(store, first, {**report, "boosted": {"circuits": 1}})
    assert rows.stored_report(store, first) == {"topics": {"circuits": 0.25}, "boosted": {"circuits": 1}}
    assert rows.stored_plan(store, first) == {"seed": 3, "questions": [], "lab": None}
    [summary] = rows.drill_summaries(store)
    assert summary == rows.DrillSummary(first, T0.isoformat(), 10.0, 0.25, "finished", {"circuits": 0.25}, 500)
    assert rows.recent_topic_scores(store, "circuits", 3) == [0.25]


def test_history_reads_newest_first(store):
    ids = []
    for k, score in enumerate((0.2, None, 0.8)):
        i = rows.insert_drill(store, seed=k, started=T0 + timedelta(days=k), minutes=5, topics=[], plan={})
        if score is not None:
            rows.finish_drill(
                store,
                i,
                finished=T0,
                report={"topics": {"x": score}},
                paused_ms=0,
                score=score,
                status="finished",
                plan={},
            )
            rows.insert_answer(store, answer(i, 0, "x", score))
        ids.append(i)
    assert [s.id for s in rows.drill_summaries(store)] == ids[::-1]
    assert [s.id for s in rows.drill_summaries(store, 2)] == ids[:0:-1]
    earlier = rows.earlier_scored_drills(store, ids[2] + 1)
    assert [(d.id, d.score, d.topics) for d in earlier] == [(ids[2], 0.8, {"x": 0.8}), (ids[0], 0.2, {"x": 0.2})]
    assert rows.recent_topic_scores(store, "x", 1) == [0.8]
    assert rows.stored_report(store, 999) is None and rows.stored_plan(store, 999) is None


def test_the_answers_drill_weights_read_skip_undone_ones(store):
    store.answer("a", Rating.GOOD, T0)
    store.answer("b", Rating.AGAIN, T0 + timedelta(minutes=1))
    store.undo_last(T0 + timedelta(minutes=2))
    assert [(r.item_id, r.rating, r.ts) for r in store.reviews()] == [("a", int(Rating.GOOD), T0)]


def test_a_failed_write_leaves_nothing(store, monkeypatch):
    drill_id = rows.insert_drill(store, seed=1, started=T0, minutes=5, topics=[], plan={})

    def full(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(store, "transaction", full)
    with pytest.raises((sqlite3.OperationalError, StorageError)):
        rows.insert_answer(store, answer(drill_id, 0, "x", 1.0))
    monkeypatch.undo()
    assert store.db.execute("SELECT COUNT(*) FROM drill_answers").fetchone()[0] == 0
