"""Lab runs and answers, saved and read back: the lab-side conversion to and from the store's records.

The SQL lives in :mod:`mi_prep.core.store.lab_runs`; this module turns a :class:`LabRun` into what the
store saves and stored JSON back into a :class:`LabResult`. Every function takes the Store or a bare
``Database`` (``store.db``) holding the lab tables. No torch: stored results are JSON and
re-render without it.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from datetime import datetime
from typing import Any

from mi_prep.core.questions import Grade
from mi_prep.core.store import lab_runs
from mi_prep.core.today import lab_item_id
from mi_prep.lab.api import LabResult
from mi_prep.lab.runner import LabRun, rating_for


def save_run(store_or_db: Any, run: LabRun) -> int:
    """Insert a finished run (any status); returns its id. Cancelled/failed runs store no result."""
    result = run.result.to_dict() if (run.status == "done" and run.result) else None
    return lab_runs.insert_run(
        store_or_db,
        lab_runs.NewLabRun(
            lab=run.lab,
            seed=run.seed,
            device=run.device,
            params=run.params,
            started=run.started,
            finished=run.finished,
            status=run.status,
            result=result,
            error=run.error or None,
        ),
    )


def save_answer(store_or_db: Any, run_id: int, question_id: str, answer: str, grade: Grade, now: datetime) -> int:
    return lab_runs.insert_answer(store_or_db, run_id, question_id, answer, grade.score, grade.correct, now)


def finish_run(store: Any, run_id: int, lab: str, score: float, now: datetime) -> int | None:
    """Record the run's score and schedule ``lab:NAME`` in the SRS (when the store can), in one transaction.
    Returns the rating (None for a bare database)."""
    rating = rating_for(score)
    if not hasattr(store, "apply_rating"):
        lab_runs.set_score(store, run_id, score)
        return None
    lab_runs.set_score(
        store, run_id, score, then=lambda: store.apply_rating(item_id=lab_item_id(lab), rating=rating, now=now)
    )
    return rating


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


def _stored(rec: lab_runs.LabRunRecord) -> StoredRun:
    """The store's record with its result JSON decoded (the two classes have the same fields)."""
    return StoredRun(**{**vars(rec), "result": LabResult.from_dict(rec.result) if rec.result else None})


def runs(store_or_db: Any, lab: str | None = None, limit: int = 20) -> list[StoredRun]:
    """Most recent first."""
    return [_stored(r) for r in lab_runs.recent_runs(store_or_db, lab, limit)]


def get_run(store_or_db: Any, run_id: int) -> StoredRun | None:
    rec = lab_runs.run_by_id(store_or_db, run_id)
    return _stored(rec) if rec is not None else None


def answers(store_or_db: Any, run_id: int) -> list[dict[str, Any]]:
    """The answers of a run as dicts (the ``lab_answers`` columns); typed: :func:`lab_runs.answers_of`."""
    return [asdict(a) for a in lab_runs.answers_of(store_or_db, run_id)]


@dataclass(frozen=True)
class LabSummary:
    lab: str
    runs: int
    last_score: float | None
    best_score: float | None
    mastery: float | None
    """Mean of the best and the most recent scored run (None until a run is scored)."""


def summaries(store_or_db: Any, labs: Iterable[str] = ()) -> dict[str, LabSummary]:
    by: dict[str, list[float]] = {}
    count: dict[str, int] = {}
    for r in lab_runs.run_scores(store_or_db):
        count[r.lab] = count.get(r.lab, 0) + (r.status == "done")
        if r.status == "done" and r.score is not None:
            by.setdefault(r.lab, []).append(float(r.score))
    out: dict[str, LabSummary] = {}
    for name in set(labs) | set(count):
        scores = by.get(name, [])
        last: float | None = None
        best: float | None = None
        mastery: float | None = None
        if scores:
            last, best = scores[-1], max(scores)
            mastery = (last + best) / 2
        out[name] = LabSummary(name, count.get(name, 0), last, best, mastery)
    return out
