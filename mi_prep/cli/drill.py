"""`mi-prep drill`: a timed mock interview in the plain terminal, and its history.

Usage::

    mi-prep drill [--minutes 30] [--topics TAG,...] [--seed N] [--questions N] [--no-lab] [--replay ID]
    mi-prep drill history [--limit 20]
    mi-prep drill show ID

Protocol (questions on stdout, answers on stdin, so it can be scripted):

* typed answers may span lines; an empty line ends the answer;
* ``p`` alone as the first line pauses (the clocks stop) until Enter;
* choice questions: the option number (or letter);
* after an explain / free-text answer the key points are listed with ``[x]`` pre-ticked; Enter keeps
  the ticks, or type the numbers of the points you covered (``1 3``; ``0`` for none);
* after a recall answer: ``r`` right, ``p`` partly, ``w`` wrong;
* EOF ends the drill: the remaining questions are recorded as unanswered. The report is printed
  and stored either way.

The lab part runs one lab with its small settings and cached model before the clock starts
(:mod:`mi_prep.lab.drill_provider`), printing its progress; its result tables and heatmaps are
printed before its questions. A lab that cannot run (no torch, no labs, a failed or unusable run)
is skipped, not retried: ``lab skipped: <reason>`` is printed, the drill goes on without it and the
report says why. The weighting, time budgets, scoring and the boost rule are documented in the
modules of :mod:`mi_prep.core.drill`; ``config set interview-date`` caps review intervals to the days left.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any

from mi_prep.cli.terminal import EndOfInput, read_line

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext
    from mi_prep.core.drill import Drill


def register(sub: argparse._SubParsersAction) -> None:
    from mi_prep.cli.argtypes import bounded_float, bounded_int, seed

    p = sub.add_parser("drill", help="timed mock interview (recall, explain, one lab) with a report; 'drill history'")
    p.add_argument(
        "action",
        nargs="?",
        choices=["run", "history", "show"],
        default="run",
        help="run a drill (default), list past drills, or show one drill's report",
    )
    p.add_argument("drill_id", nargs="?", type=bounded_int(1, 2**63 - 1), help="for 'show': the drill id")
    p.add_argument("--minutes", type=bounded_float(1, 600), default=30.0, help="length of the whole drill (default 30)")
    p.add_argument("--topics", default=None, help="comma-separated topic tags to draw from (default: all)")
    p.add_argument("--seed", type=seed, default=None, help="replayable draw (default: random; printed)")
    p.add_argument(
        "--questions", type=bounded_int(1, 100), default=8, help="deck questions, besides the lab (default 8)"
    )
    p.add_argument("--no-lab", action="store_true", help="skip the lab part")
    p.add_argument(
        "--replay",
        type=bounded_int(1, 2**63 - 1),
        default=None,
        metavar="ID",
        help="ask the same cards as drill ID again",
    )
    p.add_argument("--limit", type=bounded_int(1, 100_000), default=20, help="for 'history': how many drills")
    p.set_defaults(func=cmd_drill)


# --------------------------------------------------------------------------- plain terminal drill


def _fmt(ms: int) -> str:
    from mi_prep.core.drill import format_clock  # the core is imported when a drill runs, not at start-up

    return format_clock(ms)


def _read_answer(app: AppContext, drill: Drill, multiline: bool) -> str:
    """Read an answer; ``p`` alone pauses until Enter."""
    while True:
        first = read_line(app, "answer> ")
        if first.strip().lower() == "p":
            drill.pause(app.now())
            app.print(f"paused (drill left {_fmt(drill.remaining_ms(app.now()))}); Enter resumes")
            read_line(app, "")
            drill.resume(app.now())
            app.print(f"resumed; {_fmt(drill.question_remaining_ms(app.now()))} left for this question")
            continue
        if not multiline or not first.strip():
            return first
        lines = [first]
        while True:
            line = read_line(app, "> ")
            if not line.strip():
                return "\n".join(lines)
            lines.append(line)


def _parse_ticks(raw: str, n: int) -> list[bool] | None:
    parts = raw.replace(",", " ").split()
    if parts == ["0"]:
        return [False] * n
    if not all(p.isdigit() and 1 <= int(p) <= n for p in parts):
        return None
    chosen = {int(p) - 1 for p in parts}
    return [i in chosen for i in range(n)]


def run_plain_drill(app: AppContext, drill: Drill) -> int:
    from mi_prep.core.drill import LabSkipped, format_report

    now = app.now()
    drill.start(now)
    app.print(
        f"Drill #{drill.drill_id}: {len(drill.questions)} questions in {_fmt(drill.total_ms)} "
        f"(seed {drill.plan.seed}). Empty line ends an answer; 'p' pauses."
    )
    lab_shown = False
    try:
        while drill.phase not in ("finished", "waiting"):
            v, q = drill.view(), drill.current_question
            assert v is not None and q is not None
            now = app.now()
            if v.kind == "lab" and not lab_shown and drill.lab is not None and drill.lab.blocks:
                from mi_prep.lab.render import render_block

                lab_shown = True
                app.print(f"\n== Lab {drill.lab.name}: its results (the next questions are about them) ==")
                for block in drill.lab.blocks:
                    app.print(render_block(block))
            app.print(
                f"\n[{v.number}/{v.total} · {v.kind} · {v.topic}]  question {_fmt(drill.question_remaining_ms(now))}"
                f" · drill left {_fmt(drill.remaining_ms(now))}"
            )
            app.print(v.prompt)
            for i, opt in enumerate(v.options, 1):
                app.print(f"  {i}. {opt}")
            if v.hint:
                app.print(f"({v.hint})")
            typed = _read_answer(app, drill, multiline=not v.options)
            ev = drill.submit(typed, app.now())
            if ev is None:
                rec = drill.records[-1]
                app.print(
                    f"time's up: {_fmt(rec.budget_ms)} budget for this question; marked timed out."
                    f"\nAnswer: {rec.reference}"
                )
                continue
            app.print("-" * 40)
            if ev.mode == "points":
                app.print("Model answer:\n" + ev.reference)
                app.print("Key points ([x] = found in your answer):")
                for i, (pt, hit) in enumerate(zip(ev.points, ev.ticked), 1):
                    app.print(f"  {i}. [{'x' if hit else ' '}] {pt}")
                while True:
                    raw = read_line(
                        app, "points covered (Enter keeps the ticks; numbers like '1 3'; 0 = none): "
                    ).strip()
                    ticks = list(ev.ticked) if not raw else _parse_ticks(raw, len(ev.points))
                    if ticks is not None:
                        break
                    app.print(f"type numbers from 1 to {len(ev.points)}")
                rec = drill.grade(app.now(), ticked=ticks)
            elif ev.mode == "self":
                app.print("Answer: " + ev.reference)
                while True:
                    raw = read_line(app, "r right / p partly / w wrong: ").strip().lower()
                    grade = {"r": "right", "p": "partly", "w": "wrong"}.get(raw[:1])
                    if grade:
                        break
                rec = drill.grade(app.now(), self_grade=grade)
            else:
                app.print(ev.feedback)
                rec = drill.grade(app.now())
            if ev.source:
                app.print(f"source: {ev.source}")
            app.print(f"score {rec.score:.0%} · took {_fmt(rec.elapsed_ms)} of {_fmt(q.budget_ms)}")
        if drill.phase == "waiting":  # only with an async lab provider; the CLI adds the lab before starting
            drill.drop_lab(LabSkipped("not ready"), app.now())
    except EndOfInput:
        app.print("\n(end of input: the remaining questions are marked unanswered)")
        drill.abandon(app.now())
    app.print("\n" + "=" * 40)
    assert drill.report is not None
    app.print(format_report(drill.report))
    return 0


def cmd_drill(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.core import drill as D

    store = app.store
    if args.action == "history":
        rows = D.drill_history(store, args.limit)
        if not rows:
            app.print("no drills yet; run `mi-prep drill`")
            return 0
        app.print(f"{'id':>4}  {'date':<16}  {'min':>5}  {'score':>5}  {'status':<9}  topics")
        for r in rows:
            scores = ", ".join(f"{t} {D.percent(s)}" for t, s in r.topics.items())
            score = D.percent(r.score)
            app.print(
                f"{r.id:>4}  {r.started[:16].replace('T', ' '):<16}  {r.minutes:>5g}  {score:>5}  {r.status:<9}  {scores}"
            )
        return 0
    if args.action == "show":
        report = D.load_report(store, args.drill_id) if args.drill_id else None
        if report is None:
            app.print("no such finished drill; see `mi-prep drill history`")
            return 2
        app.print(D.format_report(report))
        return 0

    for issue in app.decks.errors:
        app.print(f"! {issue}")
    if args.minutes <= 0 or args.questions < 0:
        app.print("--minutes must be > 0 and --questions >= 0")
        return 2
    now = app.now()
    topics = [t.strip() for t in (args.topics or "").split(",") if t.strip()]
    if args.replay is not None:
        plan = D.load_plan(store, args.replay)
        if plan is None:
            app.print(f"no drill #{args.replay}; see `mi-prep drill history`")
            return 2
        plan.lab_budget_ms = 0 if args.no_lab else plan.lab_budget_ms
    else:
        plan = D.seeded_plan(
            store,
            app.decks,
            now,
            args.seed,
            minutes=args.minutes,
            topics=topics,
            n_questions=args.questions,
            with_lab=not args.no_lab,
        )
    if not plan.questions and not plan.lab_budget_ms:
        known = D.known_topics(app.decks)
        app.print(f"nothing to drill for topics {topics or 'all'}; known topics: {', '.join(known)}")
        return 2
    drill = D.Drill(store, app.decks, plan)
    if plan.lab_budget_ms:
        provider = app.drill_lab_provider()
        app.print("preparing the lab (small settings, cached model) ...")
        shown = {"tenth": -1}

        def progress(p: Any) -> None:  # a line per tenth of the way, so a pipe is not flooded
            tenth = 10 * p.step // max(1, p.total)
            if tenth != shown["tenth"]:
                shown["tenth"] = tenth
                loss = f", loss {p.loss:.3f}" if p.loss is not None else ""
                app.print(f"  {p.message or 'lab'}: step {p.step}/{p.total}{loss}")

        outcome = D.fetch_lab(provider, plan.lab_topics, plan.seed, on_progress=progress)
        drill.use_lab(outcome)
        app.print(D.lab_status_text(outcome))
    return run_plain_drill(app, drill)
