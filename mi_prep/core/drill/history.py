"""Past drills: the list (:func:`drill_history`), one stored report, one stored plan (for a replay)."""

from __future__ import annotations

from mi_prep.core.drill.plan import DrillPlan
from mi_prep.core.drill.report import DrillReport
from mi_prep.core.store import Store
from mi_prep.core.store import drills as drill_rows
from mi_prep.core.store.drills import DrillSummary

__all__ = ["DrillSummary", "drill_history", "load_report", "load_plan"]


def drill_history(store: Store, limit: int | None = None) -> list[DrillSummary]:
    """Past drills, newest first."""
    return drill_rows.drill_summaries(store, limit)


def load_report(store: Store, drill_id: int) -> DrillReport | None:
    """The stored report of a finished drill (None: no such drill, or not finished)."""
    raw = drill_rows.stored_report(store, drill_id)
    return DrillReport.from_dict(raw) if raw is not None else None


def load_plan(store: Store, drill_id: int) -> DrillPlan | None:
    """The stored plan of a past drill, without its lab questions (for replaying it)."""
    raw = drill_rows.stored_plan(store, drill_id)
    if raw is None:
        return None
    plan = DrillPlan.from_dict(raw)
    plan.questions = [q for q in plan.questions if q.kind != "lab"]
    plan.lab = None
    return plan
