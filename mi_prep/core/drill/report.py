"""The drill report: answer records, scores per topic, points missed, the trend; and its text.

* Topic score = mean score of its answered + timed-out questions; drill score = mean over all of
  them. Unanswered questions (the drill was stopped) are listed but not scored.
* The trend compares with up to 5 earlier scored drills, and each topic with its latest earlier score.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any, Literal

from mi_prep.core.drill.plan import Kind
from mi_prep.core.drill.text import format_clock, percent
from mi_prep.core.store import Store
from mi_prep.core.store import drills as drill_rows

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.core.drill.run import Drill

AnswerStatus = Literal["answered", "timed_out", "unanswered"]

TREND_DRILLS = 5
"""How many earlier scored drills the trend lists."""
TOPIC_LOOKBACK = 20
"""How many earlier scored drills are searched for a topic's previous score."""


@dataclass
class AnswerRecord:
    idx: int
    kind: Kind
    item_id: str
    topic: str
    prompt: str
    answer: str | None
    score: float | None
    elapsed_ms: int
    budget_ms: int
    status: AnswerStatus
    points: list[dict[str, Any]] = field(default_factory=list)
    """``{"text", "covered"}`` per key point (explain / free text)."""
    reference: str = ""
    source: str = ""


@dataclass
class Trend:
    previous: list[tuple[int, str, float]]
    """(drill id, started ISO, score) of up to 5 earlier scored drills, oldest first."""
    delta: float | None
    """This score minus the previous drill's."""
    topic_delta: dict[str, float]
    """Per topic: this score minus the topic's score in the latest earlier drill that had it."""


@dataclass
class MissedPoint:
    idx: int
    topic: str
    item_id: str
    text: str
    source: str


@dataclass
class DrillReport:
    drill_id: int
    seed: int
    started: str
    finished: str
    minutes: float
    status: str
    score: float | None
    active_ms: int
    paused_ms: int
    topics: dict[str, float | None]
    answers: list[AnswerRecord]
    missed: list[MissedPoint]
    trend: Trend
    boosted: dict[str, int]
    notes: list[str]

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> DrillReport:
        d = dict(d)
        d["answers"] = [AnswerRecord(**a) for a in d["answers"]]
        d["missed"] = [MissedPoint(**m) for m in d["missed"]]
        t = d["trend"]
        d["trend"] = Trend([tuple(p) for p in t["previous"]], t["delta"], t["topic_delta"])
        return cls(**d)


def _mean(xs: Sequence[float]) -> float | None:
    return round(sum(xs) / len(xs), 4) if xs else None


def topic_scores(records: Sequence[AnswerRecord]) -> dict[str, float | None]:
    """Mean score per topic (in the order topics first appear); None for a topic with no scored answer."""
    by: dict[str, list[float]] = defaultdict(list)
    order: list[str] = []
    for r in records:
        if r.topic not in by:
            order.append(r.topic)
        by[r.topic]
        if r.score is not None:
            by[r.topic].append(r.score)
    return {t: _mean(by[t]) for t in order}


def build_report(store: Store, drill: Drill, now: datetime) -> DrillReport:
    """The report of ``drill`` at ``now`` (its boosts are filled in by the drill once applied)."""
    recs = drill.records
    scored = [r.score for r in recs if r.score is not None]
    score = _mean(scored)
    topics = topic_scores(recs)
    missed: list[MissedPoint] = []
    for r in recs:
        if r.status == "unanswered":
            continue
        if r.points:
            missed += [
                MissedPoint(r.idx, r.topic, r.item_id, p["text"], r.source) for p in r.points if not p["covered"]
            ]
        elif (r.score or 0) < 1:
            missed.append(MissedPoint(r.idx, r.topic, r.item_id, f"{r.prompt} -> {r.reference}", r.source))
    notes = list(drill.notes)
    unanswered = sum(r.status == "unanswered" for r in recs)
    if unanswered:
        notes.append(f"{unanswered} question(s) unanswered (not scored)")
    return DrillReport(
        drill.drill_id or 0,
        drill.plan.seed,
        drill.started.isoformat() if drill.started else "",
        now.isoformat(),
        drill.plan.minutes,
        drill.status,
        score,
        drill.active_ms(now),
        drill.paused_ms,
        topics,
        list(recs),
        missed,
        trend(store, drill.drill_id or 0, score, topics),
        {},
        notes,
    )


def trend(store: Store, drill_id: int, score: float | None, topics: dict[str, float | None]) -> Trend:
    """This drill's score and topic scores against the earlier scored drills."""
    earlier = drill_rows.earlier_scored_drills(store, drill_id, TOPIC_LOOKBACK)
    previous = [(d.id, d.started, d.score) for d in earlier[:TREND_DRILLS]][::-1]
    delta = round(score - previous[-1][2], 4) if previous and score is not None else None
    topic_delta: dict[str, float] = {}
    for t, s in topics.items():
        if s is None:
            continue
        for d in earlier:
            prev = d.topics.get(t)
            if prev is not None:
                topic_delta[t] = round(s - prev, 4)
                break
    return Trend(previous, delta, topic_delta)


def format_report(r: DrillReport) -> str:
    """The report as plain text (both frontends show this)."""
    lines = [
        f"Drill #{r.drill_id} ({r.status}): score {percent(r.score)}",
        f"time {format_clock(r.active_ms)} of {format_clock(int(r.minutes * 60_000))}, "
        f"paused {format_clock(r.paused_ms)}, seed {r.seed}",
    ]
    width = max([len(t) for t in r.topics] + [len(a.topic) for a in r.answers] + [5])
    lines.append("\nScore per topic:")
    for t, s in r.topics.items():
        d = r.trend.topic_delta.get(t)
        lines.append(f"  {t:<{width}} {percent(s):>5}" + (f"  ({d:+.0%} vs last)" if d is not None else ""))
    lines.append("\nTime per question:")
    for a in r.answers:
        mark = {"answered": percent(a.score), "timed_out": "timeout", "unanswered": "skipped"}[a.status]
        lines.append(
            f"  {a.idx + 1:>2}. {a.kind:<7} {a.topic:<{width}} {format_clock(a.elapsed_ms):>5} / "
            f"{format_clock(a.budget_ms):<5} {mark}"
        )
    if r.missed:
        lines.append("\nPoints missed (read):")
        for m in r.missed:
            src = f"  [{m.source}]" if m.source else ""
            lines.append(f"  {m.idx + 1:>2}. {m.text}{src}")
    lines.append("\nTrend:")
    if r.trend.previous:
        prev = "  ".join(f"#{i} {percent(s)}" for i, _, s in r.trend.previous)
        delta = f"{r.trend.delta:+.0%}" if r.trend.delta is not None else "-"
        lines.append(f"  previous: {prev}  -> now {percent(r.score)} (delta {delta})")
    else:
        lines.append("  first drill")
    if r.boosted:
        lines.append(
            "\nTopics under 60%, their seen cards now due within a day: "
            + ", ".join(f"{t} ({n} cards moved)" for t, n in r.boosted.items())
        )
    for n in r.notes:
        lines.append(f"note: {n}")
    return "\n".join(lines)
