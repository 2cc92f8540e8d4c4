"""`mi-prep lab`: list labs, run one in the terminal (progress, results, questions), look back at runs.

    mi-prep lab list
    mi-prep lab run induction-heads [--seed N] [--device cpu] [--small] [--set steps=300] [--no-questions]
                                    [--threads N|auto] [--json]
    mi-prep lab history [NAME]
    mi-prep lab show RUN_ID

Importing this module does not import torch (nor the lab engine's heavy parts).
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.lab.api import LabResult


def register(subparsers: Any) -> None:
    from mi_prep.cli.argtypes import bounded_int, seed

    p = subparsers.add_parser("lab", help="run hands-on interpretability labs (needs the [labs] extra)")
    sub = p.add_subparsers(dest="lab_command")
    ls = sub.add_parser("list", help="list labs with your last score")
    ls.set_defaults(func=cmd_lab_list)
    run = sub.add_parser("run", help="run a lab, show results, answer its questions")
    run.add_argument("name")
    run.add_argument("--seed", type=seed, default=0)
    run.add_argument("--device", default=None, help="cpu, cuda, cuda:N or mps (default: cuda if available, else cpu)")
    run.add_argument("--small", action="store_true", help="fast settings (seconds on a CPU)")
    run.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a lab parameter (repeatable; values parsed as JSON when possible)",
    )
    run.add_argument(
        "--no-questions", action="store_true", help="only run and show every result block (interpretations included)"
    )
    run.add_argument(
        "--json",
        action="store_true",
        help="print the run as JSON (blocks, metrics, questions with their keys) and ask nothing, for scripts",
    )
    run.add_argument(
        "--threads", type=_threads, default=None, help="torch CPU threads (default: the lab-threads setting, auto)"
    )
    run.add_argument("--color", action="store_true", help="coloured heatmaps (ANSI)")
    run.add_argument("--width", type=bounded_int(40, 1000), default=100)
    run.set_defaults(func=cmd_lab_run)
    hist = sub.add_parser("history", help="past runs (most recent first)")
    hist.add_argument("name", nargs="?")
    hist.add_argument("--limit", type=bounded_int(1, 100_000), default=20)
    hist.set_defaults(func=cmd_lab_history)
    show = sub.add_parser("show", help="re-render a stored run")
    show.add_argument("run_id", type=bounded_int(1, 2**63 - 1))
    show.add_argument("--color", action="store_true")
    show.set_defaults(func=cmd_lab_show)
    p.set_defaults(func=cmd_lab_list)


def _threads(text: str) -> int | str:
    from mi_prep.core.settings import SETTINGS

    try:
        return SETTINGS["lab-threads"].parse(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _out(app: Any) -> TextIO:
    return app.stdout


def _say(app: Any, text: str = "", colored: bool = False) -> None:
    """Write a line; ``colored`` keeps the ANSI colours of a ``--color`` rendering (the CLI's stream
    neutralises every other control character)."""
    out = _out(app)
    write = getattr(out, "write_colored", out.write) if colored else out.write
    write(text + "\n")
    out.flush()


def cmd_lab_list(args: argparse.Namespace, app: Any) -> int:
    from mi_prep.lab import history, registry

    errors: list = []
    labs = registry.discover(errors=errors)
    try:
        summ = history.summaries(app.store, labs)
    except Exception:  # no store yet / read-only: still list labs
        summ = {}
    for name, lab in labs.items():
        s = summ.get(name)
        score = "not run" if s is None or s.last_score is None else f"last {s.last_score:.0%}, mastery {s.mastery:.0%}"
        _say(app, f"{name:24} {lab.title}  [{score}]")
        _say(app, f"{'':24} {lab.summary}")
        _say(app, f"{'':24} topics: {', '.join(lab.topics)}")
    for e in errors:
        _say(app, f"(could not load {e.path.name}: {e.error})")
    if not labs:
        _say(app, "no labs found")
    return 0


def _parse_overrides(items: list[str]) -> dict[str, Any]:
    from mi_prep.lab.runner import parse_value

    out: dict[str, Any] = {}
    for item in items:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        k, v = item.split("=", 1)
        out[k.strip()] = parse_value(v.strip())
    return out


class _Progress:
    """Throttled progress lines (pipe-friendly: no carriage returns)."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.last_bucket: tuple[str, int] | None = None

    def __call__(self, p: Any) -> None:
        bucket = (p.message, int(10 * p.step / max(1, p.total)))
        if bucket == self.last_bucket and p.step != p.total:
            return
        self.last_bucket = bucket
        loss = f"  loss {p.loss:.3f}" if p.loss is not None else ""
        _say(self.app, f"  [{p.step}/{p.total}] {p.message}{loss}")


def cmd_lab_run(args: argparse.Namespace, app: Any) -> int:
    from mi_prep.core.scheduling import Rating
    from mi_prep.lab import history, registry
    from mi_prep.lab.api import LabUnavailable, ParamError
    from mi_prep.lab.render import render_blocks
    from mi_prep.lab.runner import merge_params, start_lab

    try:
        lab = registry.get(args.name)
    except KeyError as exc:
        _say(app, str(exc.args[0]))
        return 2
    try:
        params = merge_params(lab, _parse_overrides(args.overrides), small=args.small)
    except (ParamError, ValueError) as exc:  # unknown key, bad value, or not KEY=VALUE
        _say(app, f"error: {exc}")
        return 2
    threads = args.threads if args.threads is not None else app.lab_threads()
    quiet = args.json
    if not quiet:
        _say(app, f"Running {lab.name} (seed {args.seed}{', small' if args.small else ''})...")
    handle = start_lab(
        lab,
        seed=args.seed,
        device=args.device,
        params=params,
        on_progress=None if quiet else _Progress(app),
        threads=threads,
    )
    try:
        while True:
            try:
                run = handle.join(timeout=0.2)
            except LabUnavailable as exc:
                if quiet:
                    _say(app, run_json_error(lab.name, "unavailable", str(exc)))
                else:
                    _say(app, f"Lab unavailable: {exc}")
                return 3
            if handle.done:
                break
    except KeyboardInterrupt:
        handle.cancel()
        if not quiet:
            _say(app, "cancelling...")
        run = handle.join()
    assert run is not None
    store = None
    run_id = None
    try:
        store = app.store
        run_id = history.save_run(store, run)
    except Exception as exc:  # the run is still shown
        if not quiet:
            _say(app, f"(could not save the run: {exc})")
    if quiet:
        _say(app, run_json(lab, run, run_id=run_id, small=args.small))
        return {"done": 0, "cancelled": 130}.get(run.status, 1)
    if run.status == "cancelled":
        _say(app, "Cancelled.")
        return 130
    if run.status != "done" or run.result is None:
        _say(app, f"Lab failed: {run.error}")
        return 1
    result = run.result
    shown = result.blocks if args.no_questions or not result.questions else result.opening_blocks()
    _say(app, render_blocks(shown, width=args.width, color=args.color), colored=args.color)
    t = result.timings
    where = f"{run.seconds:.1f} s on {run.device}" + (f", {run.threads} thread(s)" if run.threads else "")
    _say(app, f"({where}" + (f"; train {t['train']:.1f} s" if "train" in t else "") + ")")
    if args.no_questions or not result.questions:
        return 0
    score = ask_questions(app, result, store=store, run_id=run_id, width=args.width, color=args.color)
    if score is None:
        _say(app, "No answers; nothing scored.")
        return 0
    _say(app, f"\nScore: {score:.0%}")
    if store is not None and run_id is not None:
        rating = history.finish_run(store, run_id, lab.name, score, app.now())
        if rating is not None:
            _say(app, f"Scheduled lab:{lab.name} for review (rating {Rating(rating).label}).")
    return 0


def _finite(value: Any) -> Any:
    """JSON has no NaN or infinity: such numbers become null."""
    import math

    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_finite(v) for v in value]
    return value


def run_json_error(name: str, status: str, error: str) -> str:
    import json

    return json.dumps({"lab": name, "status": status, "error": error}, indent=2)


def run_json(lab: Any, run: Any, *, run_id: int | None, small: bool) -> str:
    """A lab run for scripts: what ran, its status, and (when done) its blocks, metrics and questions,
    each question with its key written out (``key``) and how it is answered (``hint``)."""
    import json

    out: dict[str, Any] = {
        "lab": lab.name,
        "title": lab.title,
        "run_id": run_id,
        "seed": run.seed,
        "small": small,
        "device": run.device,
        "threads": run.threads,
        "params": run.params,
        "status": run.status,
        "seconds": round(run.seconds, 3),
    }
    if run.error:
        out["error"] = run.error
    if run.result is not None:
        r = run.result
        out["timings"] = r.timings
        out["metrics"] = r.metrics
        out["blocks"] = [b.to_dict() for b in r.blocks]
        out["questions"] = [{**q.to_dict(), "key": q.answer_text(), "hint": q.answer_hint()} for q in r.questions]
    return json.dumps(_finite(out), indent=2, allow_nan=False)


def _read(app: Any) -> str | None:
    line = app.stdin.readline()
    if line == "":
        return None  # EOF
    return line.rstrip("\n")


def ask_questions(
    app: Any, result: LabResult, *, store: Any = None, run_id: int | None = None, width: int = 100, color: bool = False
) -> float | None:
    """Ask on stdin; after each answer show the blocks it reveals (the run's interpretation). EOF skips
    the remaining questions. Returns the mean score of answered ones."""
    from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent
    from mi_prep.lab import history
    from mi_prep.lab.render import render_blocks

    questions = result.questions

    scores: list[float] = []
    for i, q in enumerate(questions, 1):
        concept = " (concept)" if q.conceptual else ""  # the same answer for every run
        _say(app, f"\nQ{i}/{len(questions)}{concept}. {q.prompt}")
        if isinstance(q, MultipleChoice):
            for j, opt in enumerate(q.options, 1):
                _say(app, f"  {j}. {opt}")
        elif isinstance(q, PickComponent):
            _say(app, f"  components: {', '.join(q.components)}")
        elif isinstance(q, Numeric) and q.unit:
            _say(app, f"  (a number, in {q.unit})")
        _out(app).write("> ")
        _out(app).flush()
        answer = _read(app)
        if answer is None:
            _say(app, "\n(end of input: skipping the remaining questions)")
            break
        if isinstance(q, FreeText):
            auto = q.grade(answer)
            _say(app, "Key points (x = found in your answer):")
            for j, kp in enumerate(q.key_points, 1):
                _say(app, f"  [{'x' if j - 1 in auto.covered else ' '}] {j}. {kp}")
            _say(app, f"Model answer: {q.model_answer}")
            _say(app, "Which did you cover? Enter to accept, or type numbers like 1,3 (0 for none):")
            _out(app).write("> ")
            _out(app).flush()
            sel = _read(app)
            ticked = None
            if sel and sel.strip():
                nums = [int(x) for x in sel.replace(",", " ").split() if x.isdigit()]
                ticked = [n - 1 for n in nums if 1 <= n <= len(q.key_points)]
            grade = q.grade(answer, ticked)
        else:
            grade = q.grade(answer)
        _say(app, grade.feedback)
        scores.append(grade.score)
        if store is not None and run_id is not None:
            try:
                history.save_answer(store, run_id, q.id, answer, grade, app.now())
            except Exception:
                pass
        revealed = result.revealed_by(q.id)
        if revealed:
            _say(app, "\n" + render_blocks(revealed, width=width, color=color), colored=color)
    if not scores:
        return None
    return sum(scores) / len(questions) if len(scores) == len(questions) else sum(scores) / len(scores)


def cmd_lab_history(args: argparse.Namespace, app: Any) -> int:
    from mi_prep.lab import history

    rows = history.runs(app.store, args.name, limit=args.limit)
    if not rows:
        _say(app, "no lab runs yet")
    for r in rows:
        score = "-" if r.score is None else f"{r.score:.0%}"
        _say(app, f"#{r.id:<4} {r.started[:19]}  {r.lab:22} seed {r.seed:<4} {r.status:9} score {score}")
    return 0


def cmd_lab_show(args: argparse.Namespace, app: Any) -> int:
    from mi_prep.lab import history
    from mi_prep.lab.render import render_result

    r = history.get_run(app.store, args.run_id)
    if r is None:
        _say(app, f"no run #{args.run_id}")
        return 2
    _say(app, f"Run #{r.id}: {r.lab}, seed {r.seed}, {r.status}, started {r.started}")
    if r.result is not None:
        _say(app, render_result(r.result, color=args.color), colored=args.color)
    for a in history.answers(app.store, r.id):
        _say(app, f"  {a['question_id']}: {a['answer']!r} -> {a['score']:.2f}")
    if r.score is not None:
        _say(app, f"Score: {r.score:.0%}")
    return 0
