"""`mi-prep` command line. Heavy imports (textual, torch) happen only inside the commands that need them.

Subcommands living elsewhere register themselves through ``register(subparsers)`` in
``mi_prep.commands.<name>`` (labs, drills, export); their handlers take ``(args, app)``.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Callable, TextIO

from mi_prep import __version__

PLUGIN_COMMANDS = ("mi_prep.commands.export", "mi_prep.commands.lab", "mi_prep.commands.drill",
                   "mi_prep.commands.backup")


def bundled_decks_dir() -> Path:
    """``decks/`` of the source checkout (the package is installed in editable mode)."""
    return Path(__file__).resolve().parent.parent / "decks"


def default_decks() -> list[Path]:
    env = os.environ.get("MI_PREP_DECKS")
    if env:
        return [Path(p) for p in env.split(os.pathsep) if p]
    return [bundled_decks_dir()]


class TerminalStream:
    """What the CLI writes to: every line made safe for the terminal it goes to.

    Control characters (from deck or lab text) are shown in caret notation instead of reaching the
    terminal (:func:`~mi_prep.core.safe_text.safe_text`), and characters the stream's encoding cannot
    hold (``PYTHONIOENCODING=ascii``, a latin-1 terminal) are degraded instead of raising
    UnicodeEncodeError in the middle of a review. ``write_colored`` keeps the program's own colour
    codes (a lab's ``--color`` heatmap) and neutralises everything else.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    @property
    def encoding(self) -> str | None:
        return getattr(self.stream, "encoding", None)

    def write(self, text: str) -> int:
        from mi_prep.core.safe_text import encodable, safe_text

        return self.stream.write(encodable(safe_text(text), self.encoding))

    def write_colored(self, text: str) -> int:
        from mi_prep.core.safe_text import encodable, safe_text

        return self.stream.write(encodable(safe_text(text, keep_sgr=True), self.encoding))

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def terminal_stream(stream: TextIO) -> TextIO:
    return stream if isinstance(stream, TerminalStream) else TerminalStream(stream)  # type: ignore[return-value]


def _tolerant_stdin(stream: TextIO) -> TextIO:
    """Typed answers never crash on a terminal that is not UTF-8: undecodable bytes become U+FFFD."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):  # pragma: no cover - a closed or detached stream
            pass
    return stream


@dataclass
class AppContext:
    """What every command gets: where things are, the clock, and the terminal streams."""

    data_dir: Path | None
    deck_paths: list[Path]
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    clock: Callable[[], datetime] = field(default=lambda: datetime.now().astimezone())
    _store: Any = None
    _decks: Any = None

    def now(self) -> datetime:
        return self.clock()

    @property
    def store(self):
        """The opened store (raises :class:`~mi_prep.core.store.StorageError` with a one-line message)."""
        if self._store is None:
            from mi_prep.core.store import open_store

            self._store = open_store(self.data_dir, now=self.now())
            for warning in self._store.warnings:
                self.print(f"warning: {warning}")
        return self._store

    @property
    def decks(self):
        if self._decks is None:
            from mi_prep.core.deck import load_decks

            self._decks = load_decks(*self.deck_paths)
        return self._decks

    def print(self, *parts: Any, end: str = "\n") -> None:
        print(*parts, file=self.stdout, end=end)
        self.stdout.flush()


# --------------------------------------------------------------------------- commands


def cmd_check(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.core.deck import load_decks

    paths = [Path(p) for p in args.paths] or app.deck_paths
    ds = load_decks(*paths)
    for issue in ds.issues:
        app.print(str(issue))
    n_cards = sum(len(d.deck.cards) for d in ds.decks)
    app.print(f"{len(ds.decks)} decks, {n_cards} cards, {len(ds.errors)} errors, {len(ds.warnings)} warnings")
    if ds.errors or (args.strict and ds.warnings):
        return 1
    return 0


def cmd_schema(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.core.deck import deck_json_schema_text

    text = deck_json_schema_text()
    if args.output:
        Path(args.output).write_text(text + "\n", encoding="utf-8")
        app.print(f"wrote {args.output}")
    else:
        app.print(text)
    return 0


def _report_deck_errors(app: AppContext) -> None:
    for issue in app.decks.errors:
        app.print(f"! {issue}")


def cmd_due(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.core.session import ReviewSession, due_by_deck

    _report_deck_errors(app)
    now = app.now()
    per = due_by_deck(app.store, app.decks, now)
    width = max([len(d.deck.name) for d in app.decks.decks] + [len("today (limits applied)")])
    app.print(f"{'deck':<{width}}  {'new':>5} {'learn':>5} {'due':>5}")
    for d in app.decks.decks:
        c = per[d.id]
        app.print(f"{d.deck.name:<{width}}  {c.new:>5} {c.learning:>5} {c.review:>5}")
    today = ReviewSession(app.store, app.decks, now).counts(now)
    app.print(f"{'today (limits applied)':<{width}}  {today.new:>5} {today.learning:>5} {today.review:>5}")
    return 0


def cmd_stats(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.core.stats import MASTERY_HELP, RETENTION_HELP, compute

    if not 1 <= args.days <= 36_500:
        app.print("--days must be between 1 and 36500")
        return 2
    now = app.now()
    st = compute(app.store, app.decks, now, days=args.days)
    if args.json:
        app.print(json.dumps({
            "total_reviews": st.total_reviews,
            "true_retention": st.true_retention,
            "young_retention": st.young_retention,
            "mastery_definition": MASTERY_HELP,
            "mastery_days": st.mastery_days,
            "retention_definition": RETENTION_HELP,
            "reviews_per_day": [[d.isoformat(), n] for d, n in st.reviews_per_day],
            "forecast": [[d.isoformat(), n] for d, n in st.forecast],
            "topics": [{"topic": t.topic, "cards": t.cards, "seen": t.seen, "mature": t.mature, "reviews": t.reviews,
                        "lapses": t.lapses, "retention": t.retention, "mastery": t.mastery} for t in st.topics],
        }, indent=2))
        return 0
    pct = lambda x: "-" if x is None else f"{x:.0%}"  # noqa: E731
    app.print(f"Reviews: {st.total_reviews} total; items seen {st.seen_items}/{st.total_items}")
    app.print(f"True retention (mature, interval >= 21d): {pct(st.true_retention)} over {st.mature_reviews} reviews; "
              f"young: {pct(st.young_retention)}")
    peak = max([n for _, n in st.reviews_per_day] + [1])
    n_days = len(st.reviews_per_day)
    app.print(f"\nReviews per day (last {n_days} day{'s' if n_days != 1 else ''}, oldest first):")
    for d, n in st.reviews_per_day:
        app.print(f"  {d.isoformat()} {'#' * round(20 * n / peak):<20} {n}")
    app.print("\nDue forecast (next 7 days):")
    for d, n in st.forecast[:7]:
        app.print(f"  {d.isoformat()} {n}")
    app.print("\nTopics:")
    width = max([len(t.topic) for t in st.topics] + [len("topic")])
    app.print(f"  {'topic':<{width}}  {'seen':>9}  {'mature':>6}  {'retention':>9}  {'mastery':>7}")
    for t in st.topics:
        app.print(f"  {t.topic:<{width}}  {f'{t.seen}/{t.cards}':>9}  {t.mature:>6}  {pct(t.retention):>9}  "
                  f"{t.mastery:>7.0%}")
    app.print(f"\n{MASTERY_HELP}")
    if st.mastery_days < 21:
        app.print(f"Until your interview the scheduler caps intervals at {st.mastery_days:g} day(s), so a card counts "
                  f"fully at {st.mastery_days:g} day(s) ('mature' counts those cards).")
    app.print(RETENTION_HELP)
    return 0


def cmd_config(args: argparse.Namespace, app: AppContext) -> int:
    store = app.store
    if args.action == "list":
        for k, v in sorted(store.all_config().items()):
            app.print(f"{k} = {json.dumps(v)}")
        return 0
    key = args.key
    if key not in CONFIG_KEYS:
        app.print(f"unknown key '{key}'; known keys: {', '.join(sorted(CONFIG_KEYS))}")
        return 2
    if args.action == "get":
        app.print(json.dumps(store.get_config(key, CONFIG_KEYS[key][1])))
        return 0
    if args.value is None:
        app.print("config set needs a value (use 'none' to clear)")
        return 2
    parse = CONFIG_KEYS[key][0]
    try:
        value = None if args.value.lower() == "none" else parse(args.value)
    except ValueError as exc:
        app.print(f"bad value for {key}: {exc}")
        return 2
    if key == "scheduler":
        n = store.set_scheduler(value or "sm2")
        app.print(f"scheduler = {value or 'sm2'} ({n} items rescheduled by replaying their history)")
        return 0
    store.set_config(key, value)
    app.print(f"{key} = {json.dumps(value)}")
    return 0


def _scheduler_name(v: str) -> str:
    if v not in ("sm2", "fsrs"):
        raise ValueError("choose sm2 or fsrs")
    return v


def _positive_int(v: str) -> int:
    try:
        n = int(v)
    except ValueError:
        raise ValueError(f"{v!r} is not a whole number (e.g. 20)") from None
    from mi_prep.core.store.checks import MAX_PER_DAY

    if not 0 <= n <= MAX_PER_DAY:
        raise ValueError(f"must be between 0 and {MAX_PER_DAY}")
    return n


def _iso_date(v: str) -> str:
    return date.fromisoformat(v).isoformat()


CONFIG_KEYS: dict[str, tuple[Callable[[str], Any], Any]] = {
    "scheduler": (_scheduler_name, "sm2"),
    "new-per-day": (_positive_int, 20),
    "reviews-per-day": (_positive_int, 200),
    "interview-date": (_iso_date, None),
    "theme": (str, "textual-dark"),
}


def cmd_review(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.plain_review import run_plain_review

    return run_plain_review(app, deck_ids=args.deck, tags=args.tag, limit=args.limit)


def cmd_tui(args: argparse.Namespace, app: AppContext) -> int:
    try:
        from mi_prep.tui.app import run_app
    except ImportError as exc:  # pragma: no cover - the UI ships with the package
        app.print(f"the terminal UI is not available ({exc}); use `mi-prep review`")
        return 1
    return run_app(app)


# --------------------------------------------------------------------------- parser


def _deck_path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a deck file or folder")
    return Path(text)


def build_parser() -> argparse.ArgumentParser:
    from mi_prep.commands.argtypes import bounded_int

    p = argparse.ArgumentParser(
        prog="mi-prep",
        description="Flashcards, labs and mock-interview drills for mechanistic interpretability. "
        "Run without a command to open the terminal UI.",
    )
    p.add_argument("--version", action="version", version=f"mi-prep {__version__}")
    p.add_argument("--data-dir", type=Path, default=None,
                   help="where the review database lives (default: $MI_PREP_HOME or the user data dir)")
    p.add_argument("--decks", type=_deck_path, action="append", default=None, metavar="PATH",
                   help="deck directory or file (repeatable; default: $MI_PREP_DECKS or the bundled decks/)")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    s = sub.add_parser("tui", help="open the terminal UI (the default)")
    s.set_defaults(func=cmd_tui)

    s = sub.add_parser("review", help="review due cards in the plain terminal (scriptable: answers on stdin)")
    s.add_argument("--deck", action="append", help="only this deck id (repeatable)")
    s.add_argument("--tag", action="append", help="only cards with this tag (repeatable)")
    s.add_argument("--limit", type=bounded_int(1, 1_000_000), default=None, help="stop after this many answers")
    s.set_defaults(func=cmd_review)

    s = sub.add_parser("check", help="validate deck files; lists every problem, exits non-zero on errors")
    s.add_argument("paths", nargs="*", help="deck files or directories (default: the decks in use)")
    s.add_argument("--strict", action="store_true", help="treat warnings as errors")
    s.set_defaults(func=cmd_check)

    s = sub.add_parser("due", help="new / learning / due counts per deck")
    s.set_defaults(func=cmd_due)

    s = sub.add_parser("stats", help="reviews, retention, forecast and topic mastery")
    s.add_argument("--days", type=int, default=30)
    s.add_argument("--json", action="store_true")
    s.set_defaults(func=cmd_stats)

    s = sub.add_parser("schema", help="print the JSON Schema of the deck format (for editors)")
    s.add_argument("-o", "--output", help="write to this file instead of stdout")
    s.set_defaults(func=cmd_schema)

    s = sub.add_parser("config", help="get or set settings (scheduler, new-per-day, reviews-per-day, interview-date)")
    s.add_argument("action", choices=["get", "set", "list"])
    s.add_argument("key", nargs="?")
    s.add_argument("value", nargs="?")
    s.set_defaults(func=cmd_config)

    for mod in PLUGIN_COMMANDS:
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        module.register(sub)
    return p


def main(argv: list[str] | None = None, *, app: AppContext | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if app is None:
        app = AppContext(args.data_dir, args.decks or default_decks())
    else:
        if args.data_dir is not None:
            app.data_dir = args.data_dir
        if args.decks:
            app.deck_paths = args.decks
    app.stdout = terminal_stream(app.stdout)
    if app.stdin is sys.stdin:
        _tolerant_stdin(app.stdin)
    if args.command == "config" and args.action in ("get", "set") and not args.key:
        parser.error("config get/set needs a KEY")
    func = getattr(args, "func", cmd_tui)
    try:
        return int(func(args, app) or 0)
    except BrokenPipeError:  # e.g. `mi-prep stats | head`
        try:
            sys.stdout = open(os.devnull, "w")
        except OSError:  # pragma: no cover
            pass
        return 0
    except KeyboardInterrupt:
        app.print("\ninterrupted; everything answered so far is saved")
        return 130
    except OSError as exc:
        app.print(f"error: {exc}")
        return 1
    except Exception as exc:  # storage problems: one line, never a traceback
        from mi_prep.core.store.errors import storage_message

        message = storage_message(exc, getattr(app._store, "path", None))
        if message is None:
            raise
        app.print(f"error: {message}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
