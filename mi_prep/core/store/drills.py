"""Every SQL statement of the drills (:mod:`mi_prep.core.drill`), as functions of a Store returning typed records.

* ``drills``: one row per drill. :func:`insert_drill` when it starts; :func:`save_plan` when its lab
  section is known; :func:`finish_drill` writes the report, then :func:`save_report` the report
  again with the boosts applied.
* ``drill_answers``: one row per question, written by :func:`insert_answer` as soon as it is graded
  (timed out, or left unanswered); the caller keeps it in memory only after the write succeeded.
* reads: :func:`recent_topic_scores` and :func:`review_outcomes` (for the plan's topic weights),
  :func:`earlier_scored_drills` (the trend), :func:`drill_summaries`, :func:`stored_report`,
  :func:`stored_plan` (history and replay).

Every write is one ``store.transaction()``. A drill's plan and report are JSON documents: they are
written from, and read back as, plain dicts; their types (``DrillPlan``, ``DrillReport``) live in
:mod:`mi_prep.core.drill`, which sits above this module.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.core.store.store import Store


# --------------------------------------------------------------------------- records


@dataclass(frozen=True)
class DrillAnswerRow:
    """A ``drill_answers`` row."""

    drill_id: int
    idx: int
    item_id: str
    kind: str
    topic: str
    prompt: str
    answer: str | None
    points: list[dict[str, Any]]
    """``{"text", "covered"}`` per key point."""
    score: float | None
    elapsed_ms: int
    timed_out: bool
    ts: datetime


@dataclass(frozen=True)
class ScoredDrill:
    """An earlier drill with a score (for the trend)."""

    id: int
    started: str
    score: float
    topics: dict[str, float | None]
    """Score per topic, from its stored report."""


@dataclass
class DrillSummary:
    """A past drill as its history lists it."""

    id: int
    started: str
    minutes: float
    score: float | None
    status: str
    topics: dict[str, float | None]
    paused_ms: int


def _report_topics(raw: str | None) -> dict[str, float | None]:
    report = json.loads(raw) if raw else {}
    return report.get("topics") or {}


# --------------------------------------------------------------------------- writes


def insert_drill(
    store: Store, *, seed: int, started: datetime, minutes: float, topics: Sequence[str], plan: dict[str, Any]
) -> int:
    """A new running drill; returns its id."""
    with store.transaction() as conn:
        cur = conn.execute(
            "INSERT INTO drills (seed, started, minutes, topics, plan, paused_ms, status) VALUES (?,?,?,?,?,?,?)",
            [seed, started.isoformat(), minutes, json.dumps(list(topics)), json.dumps(plan), 0, "running"],
        )
        drill_id = cur.lastrowid
    assert drill_id is not None
    return int(drill_id)


def save_plan(store: Store, drill_id: int, plan: dict[str, Any]) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE drills SET plan = ? WHERE id = ?", [json.dumps(plan), drill_id])


def insert_answer(store: Store, row: DrillAnswerRow) -> None:
    with store.transaction() as conn:
        conn.execute(
            """INSERT INTO drill_answers (drill_id, idx, item_id, kind, topic, prompt, answer, points, score,
               elapsed_ms, timed_out, ts) VALUES (?,?,?,?,?,?,?,?,?,?,?,?)""",
            [
                row.drill_id,
                row.idx,
                row.item_id,
                row.kind,
                row.topic,
                row.prompt,
                row.answer,
                json.dumps(row.points),
                row.score,
                row.elapsed_ms,
                int(row.timed_out),
                row.ts.isoformat(),
            ],
        )


def finish_drill(
    store: Store,
    drill_id: int | None,
    *,
    finished: datetime,
    report: dict[str, Any],
    paused_ms: int,
    score: float | None,
    status: str,
    plan: dict[str, Any],
) -> None:
    with store.transaction() as conn:
        conn.execute(
            "UPDATE drills SET finished=?, report=?, paused_ms=?, score=?, status=?, plan=? WHERE id=?",
            [finished.isoformat(), json.dumps(report), paused_ms, score, status, json.dumps(plan), drill_id],
        )


def save_report(store: Store, drill_id: int | None, report: dict[str, Any]) -> None:
    with store.transaction() as conn:
        conn.execute("UPDATE drills SET report=? WHERE id=?", [json.dumps(report), drill_id])


# --------------------------------------------------------------------------- reads


def recent_topic_scores(store: Store, topic: str, last: int) -> list[float]:
    """The topic's mean score in each of its ``last`` latest drills (newest first; unscored answers excluded)."""
    rows = store.db.execute(
        """SELECT drill_id, AVG(score) FROM drill_answers WHERE topic = ? AND score IS NOT NULL
           GROUP BY drill_id ORDER BY drill_id DESC LIMIT ?""",
        [topic, last],
    ).fetchall()
    return [float(r[1]) for r in rows]


def earlier_scored_drills(store: Store, before_id: int, limit: int = 20) -> list[ScoredDrill]:
    """Scored drills with an id below ``before_id``, newest first."""
    rows = store.db.execute(
        "SELECT id, started, score, report FROM drills WHERE id < ? AND score IS NOT NULL ORDER BY id DESC LIMIT ?",
        [before_id, limit],
    ).fetchall()
    return [ScoredDrill(r[0], r[1], r[2], _report_topics(r[3])) for r in rows]


def drill_summaries(store: Store, limit: int | None = None) -> list[DrillSummary]:
    """Past drills, newest first (all of them when ``limit`` is None or 0)."""
    sql = "SELECT id, started, minutes, score, status, report, paused_ms FROM drills ORDER BY id DESC"
    rows = store.db.execute(sql + " LIMIT ?", [int(limit)]).fetchall() if limit else store.db.execute(sql).fetchall()
    return [DrillSummary(r[0], r[1], r[2], r[3], r[4], _report_topics(r[5]), r[6] or 0) for r in rows]


def stored_report(store: Store, drill_id: int) -> dict[str, Any] | None:
    """The drill's report document; None for an unknown or unfinished drill."""
    row = store.db.execute("SELECT report FROM drills WHERE id = ?", [drill_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else None


def stored_plan(store: Store, drill_id: int) -> dict[str, Any] | None:
    """The drill's plan document; None for an unknown drill."""
    row = store.db.execute("SELECT plan FROM drills WHERE id = ?", [drill_id]).fetchone()
    return json.loads(row[0]) if row and row[0] else None
