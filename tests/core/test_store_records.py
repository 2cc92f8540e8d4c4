"""Typed records out of the store: review-log queries (stats, streak, card info) and lab runs."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, timedelta, timezone

import pytest
import sqlite_utils

from mi_prep.core.scheduling import Rating
from mi_prep.core.store import LogEntry, ReviewRecord, StorageError, lab_runs, open_store
from mi_prep.core.store.lab_runs import LabAnswerRecord, LabScore, NewLabRun

TZ = timezone(timedelta(hours=2))
T0 = datetime(2026, 5, 1, 8, 0, tzinfo=TZ)


def test_review_records_and_times_skip_undone_answers(tmp_path):
    s = open_store(tmp_path)
    s.answer("a", Rating.GOOD, T0)
    s.answer("a", Rating.AGAIN, T0 + timedelta(days=1))
    s.suspend("b", T0)
    s.undo_last(T0 + timedelta(days=1, minutes=1))  # the suspend of b (newest event from "review")
    s.undo_last(T0 + timedelta(days=1, minutes=2))  # the second answer to a
    [rec] = s.reviews()
    assert isinstance(rec, ReviewRecord) and rec.item_id == "a" and rec.rating == Rating.GOOD and rec.passed
    assert rec.ts == T0 and rec.phase_before == "new" and rec.interval_before == 0
    assert s.review_times() == [T0]  # an undone answer does not make a study day (nor a streak)


def test_history_is_typed_with_undo_links(tmp_path):
    s = open_store(tmp_path)
    s.answer("a", Rating.GOOD, T0, elapsed_ms=4000)
    s.undo_last(T0 + timedelta(minutes=1))
    first, undo = s.history("a")
    assert isinstance(first, LogEntry) and first.kind == "review" and first.ts == T0 and first.elapsed_ms == 4000
    assert first.interval_after is not None and first.ease is not None and first.ref_id is None
    assert undo.kind == "undo" and undo.ref_id == first.id and undo.rating is None


def _run(lab="demo", status="done", result=None, minutes=0):
    return NewLabRun(
        lab=lab,
        seed=1,
        device="cpu",
        params={"steps": 2},
        started=T0 + timedelta(minutes=minutes),
        finished=T0 + timedelta(minutes=minutes + 1),
        status=status,
        result=result,
    )


def test_lab_runs_round_trip_in_the_store(tmp_path):
    s = open_store(tmp_path)
    rid = lab_runs.insert_run(s, _run(result={"blocks": []}))
    cancelled = lab_runs.insert_run(s, _run(status="cancelled", result={"blocks": []}, minutes=5))
    lab_runs.insert_answer(s, rid, "q1", "a", 1.0, True, T0)
    lab_runs.set_score(s, rid, 0.75)
    [newest, older] = lab_runs.recent_runs(s, "demo")
    assert newest.id == cancelled and newest.result is None  # only a finished run keeps its result
    assert older.id == rid and older.result == {"blocks": []} and older.score == 0.75 and older.params == {"steps": 2}
    assert older.started == "2026-05-01T06:00:00+00:00"
    assert lab_runs.run_by_id(s, rid) == older and lab_runs.run_by_id(s, 999) is None
    assert lab_runs.answers_of(s, rid) == [LabAnswerRecord(1, rid, "q1", "a", 1.0, 1, "2026-05-01T06:00:00+00:00")]
    assert lab_runs.run_scores(s) == [LabScore("demo", "done", 0.75), LabScore("demo", "cancelled", None)]
    with pytest.raises(ValueError, match="naive"):
        lab_runs.insert_run(s, replace(_run(), started=T0.replace(tzinfo=None)))


def test_score_and_what_follows_it_are_one_transaction(tmp_path):
    s = open_store(tmp_path)
    rid = lab_runs.insert_run(s, _run(result={"blocks": []}))

    def schedule_then_fail():
        s.apply_rating("lab:demo", Rating.GOOD, T0)
        raise RuntimeError("crash after scheduling")

    with pytest.raises(RuntimeError):
        lab_runs.set_score(s, rid, 0.9, then=schedule_then_fail)
    assert lab_runs.run_by_id(s, rid).score is None and s.state("lab:demo") is None and s.log_rows() == []
    assert lab_runs.set_score(s, rid, 0.9, then=lambda: s.apply_rating("lab:demo", Rating.GOOD, T0)).reps == 1
    assert lab_runs.run_by_id(s, rid).score == 0.9


def test_lab_runs_on_a_bare_database():
    db = sqlite_utils.Database(memory=True)
    assert lab_runs.recent_runs(db) == [] and lab_runs.run_scores(db) == []  # no lab tables yet
    db.execute(
        "CREATE TABLE lab_runs (id INTEGER PRIMARY KEY, lab TEXT, seed INTEGER, device TEXT, params TEXT, "
        "started TEXT, finished TEXT, status TEXT, result TEXT, score REAL, error TEXT)"
    )
    rid = lab_runs.insert_run(db, _run())
    lab_runs.set_score(db, rid, 0.5)
    assert not db.conn.in_transaction and lab_runs.run_by_id(db, rid).score == 0.5


def test_a_dropped_table_is_a_storage_error(tmp_path):
    s = open_store(tmp_path)
    s.answer("a", Rating.GOOD, T0)
    s.db.execute("DROP TABLE review_log")
    with pytest.raises(StorageError, match="review_log"):
        s.reviews()
