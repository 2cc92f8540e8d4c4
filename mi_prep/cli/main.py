"""`mi-prep` command line. Heavy imports (textual, torch) happen only inside the commands that need them.

Subcommands living elsewhere register themselves through ``register(subparsers)`` in
``mi_prep.cli.<name>`` (labs, drills, export); their handlers take ``(args, app)``.
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
from collections.abc import Callable
from pathlib import Path

from mi_prep import __version__
from mi_prep.cli.commands import cmd_check, cmd_config, cmd_due, cmd_schema, cmd_stats
from mi_prep.cli.terminal import terminal_stream, tolerant_stdin
from mi_prep.context import AppContext
from mi_prep.core.locations import default_deck_paths

PLUGIN_COMMANDS = (
    "mi_prep.cli.cram",
    "mi_prep.cli.export",
    "mi_prep.cli.lab",
    "mi_prep.cli.drill",
    "mi_prep.cli.backup",
)


def cmd_review(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.cli.review import run_plain_review

    return run_plain_review(app, deck_ids=args.deck, tags=args.tag, limit=args.limit)


def cmd_tui(args: argparse.Namespace, app: AppContext) -> int:
    run_tui = getattr(args, "run_tui", None)
    if run_tui is None:  # the CLI alone (mi_prep.cli.main) does not know the TUI: mi_prep.__main__ passes it
        app.print("the terminal UI starts from the `mi-prep` command; use `mi-prep review` for the plain terminal")
        return 1
    return int(run_tui(app) or 0)


# --------------------------------------------------------------------------- parser


def _deck_path(text: str) -> Path:
    if not text.strip():
        raise argparse.ArgumentTypeError("an empty path; give a deck file or folder")
    return Path(text)


CORE_COMMANDS = ("review", "tui", "check", "due", "stats", "schema", "config")
"""Commands defined in this module; running one of them needs no plugin command's parser."""


def command_named(argv: list[str]) -> str | None:
    """The command word in ``argv`` (after the global options), or None (no command, or help asked)."""
    skip = False
    for token in argv:
        if skip:
            skip = False
        elif len(token) > 3 and any(opt.startswith(token) for opt in ("--data-dir", "--decks")):
            skip = True  # the option, or an abbreviation argparse accepts (--data, --deck), takes a value
        elif token in ("-h", "--help"):
            return None
        elif not token.startswith("-"):
            return token
    return None


def build_parser(*, plugins: bool = True) -> argparse.ArgumentParser:
    """The whole command line; ``plugins=False`` leaves out the commands other modules register (a daily
    command such as ``due`` then starts without reading their modules)."""
    from mi_prep.cli.argtypes import bounded_int

    p = argparse.ArgumentParser(
        prog="mi-prep",
        description="Flashcards, labs and mock-interview drills for mechanistic interpretability. "
        "Run without a command to open the terminal UI.",
    )
    p.add_argument("--version", action="version", version=f"mi-prep {__version__}")
    p.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        help="where the review database lives (default: $MI_PREP_HOME or the user data dir)",
    )
    p.add_argument(
        "--decks",
        type=_deck_path,
        action="append",
        default=None,
        metavar="PATH",
        help="deck directory or file (repeatable; default: $MI_PREP_DECKS or the bundled decks/)",
    )
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
    s.add_argument(
        "--no-cache", action="store_true", help="parse every file again instead of reading the parsed-deck cache"
    )
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

    for mod in PLUGIN_COMMANDS if plugins else ():
        try:
            module = importlib.import_module(mod)
        except ModuleNotFoundError as exc:
            if exc.name != mod:
                raise
            continue
        module.register(sub)
    return p


def main(
    argv: list[str] | None = None, *, app: AppContext | None = None, run_tui: Callable[[AppContext], int] | None = None
) -> int:
    """Run one command. ``run_tui`` opens the terminal UI (given by :mod:`mi_prep.__main__`, the entry point)."""
    args_in = sys.argv[1:] if argv is None else argv
    parser = build_parser(plugins=command_named(args_in) not in CORE_COMMANDS)
    args = parser.parse_args(args_in)
    args.run_tui = run_tui
    if app is None:
        app = AppContext(args.data_dir, args.decks or default_deck_paths())
    else:
        if args.data_dir is not None:
            app.data_dir = args.data_dir
        if args.decks:
            app.deck_paths = args.decks
    app.stdout = terminal_stream(app.stdout)
    if app.stdin is sys.stdin:
        tolerant_stdin(app.stdin)
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

        message = storage_message(exc, app.store_path)
        if message is None:
            raise
        app.print(f"error: {message}")
        return 1


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
