"""What a drill keeps and saves: one :class:`~mi_prep.core.drill.report.AnswerRecord` per question,
and at the end the report, the finished ``drills`` row and the boosts.

* A timed-out question scores 0, whatever was typed is kept.
* An explain or lab question that was not answered lists its key points, all uncovered.
* The callers save a record (:func:`save_answer`) before keeping it in memory, so a failed write
  leaves the drill on that question. Every SQL statement is in :mod:`mi_prep.core.store.drills`.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING, Any

from mi_prep.core.drill import evaluation as E
from mi_prep.core.drill.boosts import apply_boosts
from mi_prep.core.drill.plan import PlannedQuestion
from mi_prep.core.drill.report import AnswerRecord, AnswerStatus, DrillReport, build_report
from mi_prep.core.session import ReviewItem
from mi_prep.core.store import Store
from mi_prep.core.store import drills as drill_rows

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.core.drill.run import Drill


def answer_record(
    q: PlannedQuestion,
    item: ReviewItem | None,
    answer: str | None,
    score: float | None,
    elapsed: int,
    status: AnswerStatus,
    points: list[dict[str, Any]] | None = None,
) -> AnswerRecord:
    """The record of question ``q`` (``item``: its deck item, None for a lab question)."""
    prompt, ref, source = E.reference(q, item)
    if status == "timed_out":
        score = 0.0
    if not points and q.kind in ("explain", "lab") and status != "answered":
        points = [{"text": t, "covered": False} for t in E.point_texts(q, item)]
    return AnswerRecord(
        q.idx,
        q.kind,
        q.item_id,
        q.topic,
        prompt,
        answer,
        score,
        max(0, int(elapsed)),
        q.budget_ms,
        status,
        points or [],
        ref,
        source,
    )


def save_answer(store: Store, drill_id: int, rec: AnswerRecord, now: datetime) -> None:
    """Write ``rec`` to ``drill_answers``."""
    drill_rows.insert_answer(
        store,
        drill_rows.DrillAnswerRow(
            drill_id,
            rec.idx,
            rec.item_id,
            rec.kind,
            rec.topic,
            rec.prompt,
            rec.answer,
            rec.points,
            rec.score,
            rec.elapsed_ms,
            rec.status == "timed_out",
            now,
        ),
    )


def save_report(store: Store, drill: Drill, now: datetime) -> DrillReport:
    """Build the finished ``drill``'s report, write it with the ``drills`` row, apply the boosts
    (they are in the report) and return it."""
    report = build_report(store, drill, now)
    drill_rows.finish_drill(
        store,
        drill.drill_id,
        finished=now,
        report=report.to_dict(),
        paused_ms=drill.paused_ms,
        score=report.score,
        status=drill.status,
        plan=drill.plan.to_dict(),
    )
    report.boosted = apply_boosts(
        store,
        drill.deckset,
        report.topics,
        now,
        drill.lab.name if drill.lab else None,
        drill.lab.topics if drill.lab else (),
    )
    drill_rows.save_report(store, drill.drill_id, report.to_dict())
    return report
