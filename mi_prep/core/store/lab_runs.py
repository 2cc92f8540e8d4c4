"""Lab runs and the answers given in them (tables ``lab_runs`` and ``lab_answers``), as typed records.

Every function takes a Store or a bare ``Database`` (:mod:`.connection`, or ``sqlite_utils.Database``)
holding these tables (anything with a
``db`` attribute counts as a store). Writes run in one transaction: the Store's (storage failures become
StorageError), else ``BEGIN IMMEDIATE ... COMMIT`` on the connection. Results and parameters are
stored as JSON; the lab layer turns them into its own types (this package never imports it).
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable, Mapping
from contextlib import AbstractContextManager as ContextManager
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mi_prep.core.store.connection import Database, inserted_id, transaction
from mi_prep.core.store.schema import table_names


@dataclass(frozen=True)
class NewLabRun:
    """A finished run (any status), to be saved. ``result`` is the JSON-ready result (None unless done)."""

    lab: str
    seed: int
    device: str
    params: Mapping[str, Any]
    started: datetime
    finished: datetime | None
    status: str
    result: dict[str, Any] | None = None
    error: str | None = None


@dataclass(frozen=True)
class LabRunRecord:
    id: int
    lab: str
    seed: int
    device: str
    params: dict[str, Any]
    started: str
    """UTC ISO time, as stored."""
    finished: str | None
    status: str
    score: float | None
    error: str | None
    result: dict[str, Any] | None
    """The result's JSON (a ``LabResult.to_dict()``), None unless the run finished."""


@dataclass(frozen=True)
class LabAnswerRecord:
    id: int
    run_id: int
    question_id: str
    answer: str
    score: float
    correct: int
    """1 or 0."""
    ts: str


@dataclass(frozen=True)
class LabScore:
    """One run's outcome, for summaries (``score`` is None until the run is scored)."""

    lab: str
    status: str
    score: float | None


def _database(target: Any) -> Database:
    return getattr(target, "db", target)


def _writing(target: Any) -> ContextManager[sqlite3.Connection]:
    if callable(getattr(target, "transaction", None)):
        return target.transaction()  # the Store's: storage failures become StorageError
    return transaction(_database(target).conn)


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("naive datetime: use an aware (UTC) datetime")
    return dt.astimezone(UTC).isoformat()


def _has_runs(target: Any) -> bool:
    return "lab_runs" in table_names(_database(target))


def _run(row: dict[str, Any]) -> LabRunRecord:
    return LabRunRecord(
        id=row["id"],
        lab=row["lab"],
        seed=row["seed"],
        device=row["device"],
        params=json.loads(row["params"] or "{}"),
        started=row["started"],
        finished=row["finished"],
        status=row["status"],
        score=row["score"],
        error=row["error"],
        result=json.loads(row["result"]) if row.get("result") else None,
    )


# ---- writes -------------------------------------------------------------------
def insert_run(target: Any, run: NewLabRun) -> int:
    """Save a run (its ``result`` only when ``done``); returns its id."""
    values = [
        run.lab,
        run.seed,
        run.device,
        json.dumps(dict(run.params), sort_keys=True, default=str),
        _iso(run.started),
        _iso(run.finished),
        run.status,
        json.dumps(run.result) if (run.status == "done" and run.result) else None,
        None,
        run.error or None,
    ]
    with _writing(target) as conn:
        cur = conn.execute(
            """INSERT INTO lab_runs (lab, seed, device, params, started, finished, status, result,
                              score, error) VALUES (?,?,?,?,?,?,?,?,?,?)""",
            values,
        )
        return inserted_id(cur)


def insert_answer(
    target: Any, run_id: int, question_id: str, answer: str, score: float, correct: bool, now: datetime
) -> int:
    with _writing(target) as conn:
        cur = conn.execute(
            "INSERT INTO lab_answers (run_id, question_id, answer, score, correct, ts) VALUES (?,?,?,?,?,?)",
            [run_id, question_id, answer, float(score), int(bool(correct)), _iso(now)],
        )
        return inserted_id(cur)


def set_score(target: Any, run_id: int, score: float, *, then: Callable[[], Any] | None = None) -> Any:
    """Record the run's score; ``then`` (e.g. scheduling ``lab:NAME``) runs in the same transaction.
    Returns what ``then`` returns."""
    with _writing(target) as conn:
        conn.execute("UPDATE lab_runs SET score = ? WHERE id = ?", [float(score), run_id])
        return then() if then is not None else None


# ---- reads --------------------------------------------------------------------
def recent_runs(target: Any, lab: str | None = None, limit: int = 20) -> list[LabRunRecord]:
    """Most recent first (all labs, or one)."""
    if not _has_runs(target):
        return []
    where, args = ("WHERE lab = ?", [lab]) if lab else ("", [])
    rows = _database(target).query(
        f"SELECT * FROM lab_runs {where} ORDER BY started DESC, id DESC LIMIT ?", [*args, limit]
    )
    return [_run(r) for r in rows]


def run_by_id(target: Any, run_id: int) -> LabRunRecord | None:
    rows = list(_database(target).query("SELECT * FROM lab_runs WHERE id = ?", [run_id]))
    return _run(rows[0]) if rows else None


def answers_of(target: Any, run_id: int) -> list[LabAnswerRecord]:
    """The answers given in a run, in order."""
    rows = _database(target).query("SELECT * FROM lab_answers WHERE run_id = ? ORDER BY id", [run_id])
    return [
        LabAnswerRecord(r["id"], r["run_id"], r["question_id"], r["answer"], r["score"], r["correct"], r["ts"])
        for r in rows
    ]


def run_scores(target: Any) -> list[LabScore]:
    """Every run's lab, status and score, oldest first."""
    if not _has_runs(target):
        return []
    rows = _database(target).execute("SELECT lab, status, score FROM lab_runs ORDER BY started, id").fetchall()
    return [LabScore(lab, status, score) for lab, status, score in rows]
