"""Persist lab runs and answers in the SQLite store (tables ``lab_runs`` and ``lab_answers``).

Works on a ``sqlite_utils.Database`` (``store.db``) or on a Store (anything with ``.db``).
No torch: stored results are JSON and re-render without it.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any, Iterable

from mi_prep.core.session import lab_item_id
from mi_prep.lab.api import LabResult
from mi_prep.core.questions import Grade
from mi_prep.lab.runner import LabRun, rating_for


def _db(store_or_db: Any):
    return getattr(store_or_db, "db", store_or_db)


def _iso(dt: datetime | None) -> str | None:
    if dt is None:
        return None
    if dt.tzinfo is None:
        raise ValueError("naive datetime: use an aware (UTC) datetime")
    return dt.astimezone(timezone.utc).isoformat()


def save_run(store_or_db: Any, run: LabRun) -> int:
    """Insert a finished run (any status); returns its id. Cancelled/failed runs store no result."""
    db = _db(store_or_db)
    row = {
        "lab": run.lab, "seed": run.seed, "device": run.device,
        "params": json.dumps(run.params, sort_keys=True, default=str),
        "started": _iso(run.started), "finished": _iso(run.finished), "status": run.status,
        "result": json.dumps(run.result.to_dict()) if (run.status == "done" and run.result) else None,
        "score": None, "error": run.error or None,
    }
    return int(db["lab_runs"].insert(row).last_pk)


def save_answer(store_or_db: Any, run_id: int, question_id: str, answer: str, grade: Grade, now: datetime) -> int:
    db = _db(store_or_db)
    return int(db["lab_answers"].insert({
        "run_id": run_id, "question_id": question_id, "answer": answer, "score": float(grade.score),
        "correct": int(bool(grade.correct)), "ts": _iso(now),
    }).last_pk)


def finish_run(store: Any, run_id: int, lab: str, score: float, now: datetime) -> int | None:
    """Record the run's score and schedule ``lab:NAME`` in the SRS (when the store can). Returns the rating."""
    db = _db(store)
    db["lab_runs"].update(run_id, {"score": float(score)})
    rating = rating_for(score)
    if hasattr(store, "apply_rating"):
        store.apply_rating(item_id=lab_item_id(lab), rating=rating, now=now)
        return rating
    return None


@dataclass
class StoredRun:
    id: int
    lab: str
    seed: int
    device: str
    params: dict[str, Any]
    started: str
    finished: str | None
    status: str
    score: float | None
    error: str | None
    result: LabResult | None


def _stored(row: dict[str, Any]) -> StoredRun:
    result = LabResult.from_dict(json.loads(row["result"])) if row.get("result") else None
    return StoredRun(id=row["id"], lab=row["lab"], seed=row["seed"], device=row["device"],
                     params=json.loads(row["params"] or "{}"), started=row["started"], finished=row["finished"],
                     status=row["status"], score=row["score"], error=row["error"], result=result)


def runs(store_or_db: Any, lab: str | None = None, limit: int = 20) -> list[StoredRun]:
    """Most recent first."""
    db = _db(store_or_db)
    if "lab_runs" not in db.table_names():
        return []
    where, args = ("WHERE lab = ?", [lab]) if lab else ("", [])
    rows = db.query(f"SELECT * FROM lab_runs {where} ORDER BY started DESC, id DESC LIMIT ?", [*args, limit])
    return [_stored(r) for r in rows]


def get_run(store_or_db: Any, run_id: int) -> StoredRun | None:
    db = _db(store_or_db)
    rows = list(db.query("SELECT * FROM lab_runs WHERE id = ?", [run_id]))
    return _stored(rows[0]) if rows else None


def answers(store_or_db: Any, run_id: int) -> list[dict[str, Any]]:
    return list(_db(store_or_db).query("SELECT * FROM lab_answers WHERE run_id = ? ORDER BY id", [run_id]))


@dataclass(frozen=True)
class LabSummary:
    lab: str
    runs: int
    last_score: float | None
    best_score: float | None
    mastery: float | None
    """Mean of the best and the most recent scored run (None until a run is scored)."""


def summaries(store_or_db: Any, labs: Iterable[str] = ()) -> dict[str, LabSummary]:
    db = _db(store_or_db)
    out: dict[str, LabSummary] = {}
    names = set(labs)
    if "lab_runs" in db.table_names():
        rows = db.query("SELECT lab, score, status FROM lab_runs ORDER BY started, id")
        by: dict[str, list[float]] = {}
        count: dict[str, int] = {}
        for r in rows:
            count[r["lab"]] = count.get(r["lab"], 0) + (r["status"] == "done")
            if r["status"] == "done" and r["score"] is not None:
                by.setdefault(r["lab"], []).append(float(r["score"]))
        names |= set(count)
        for name in names:
            scores = by.get(name, [])
            last = scores[-1] if scores else None
            best = max(scores) if scores else None
            mastery = (last + best) / 2 if scores else None
            out[name] = LabSummary(name, count.get(name, 0), last, best, mastery)
    for name in names - set(out):
        out[name] = LabSummary(name, 0, None, None, None)
    return out
