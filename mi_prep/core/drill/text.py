"""Short texts both drill frontends show (the plain terminal and the TUI)."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.core.drill.plan import DrillPlan


def format_clock(ms: int) -> str:
    """``m:ss`` (negative times show as 0:00)."""
    s = max(0, int(round(ms / 1000)))
    return f"{s // 60}:{s % 60:02d}"


def percent(x: float | None) -> str:
    """``42%``, or ``-`` when there is no score."""
    return "-" if x is None else f"{x:.0%}"


def plan_summary(plan: DrillPlan) -> str:
    """Two lines before a drill starts: how many questions of which kinds, the lab, minutes, seed; the weakest topics."""
    deck_qs = [q for q in plan.questions if q.kind != "lab"]
    kinds = ", ".join(
        f"{n} {k}" for k, n in sorted({k: sum(q.kind == k for q in deck_qs) for k in {q.kind for q in deck_qs}}.items())
    )
    weak = ", ".join(f"{t} ({plan.topic_weights[t]:.1f})" for t in plan.lab_topics[:3])
    lab = " + a lab" if plan.lab_budget_ms else ""
    return (
        f"Mock interview: {len(deck_qs)} questions ({kinds or 'none'}){lab}, {plan.minutes:g} minutes, "
        f"seed {plan.seed}.\nWeakest topics (weight): {weak or '-'}"
    )
