"""`mi-prep export anki [--deck ID ...] [-o FILE.apkg]`.

Prints the report's summary, then every warning on its own line (``! file:line: card 'id': what is
wrong; what to do``). A failed export is one line, ``export failed: ...``, exit code 1; nothing is
written and no traceback is shown.
"""

from __future__ import annotations

import argparse
from pathlib import Path


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("export", help="export decks (anki: an .apkg that Anki imports; re-export updates notes)")
    p.add_argument("format", choices=["anki"])
    p.add_argument("--deck", action="append", help="only this deck id (repeatable; default: all decks)")
    p.add_argument("-o", "--output", type=Path, default=None, help="output .apkg (default: ./mi-prep-<date>.apkg)")
    p.set_defaults(func=cmd_export)


def cmd_export(args: argparse.Namespace, app) -> int:
    from mi_prep.core.anki import ExportError, export_apkg

    ds = app.decks
    if ds.errors:
        for issue in ds.errors:
            app.print(f"! {issue}")
        app.print("(decks with errors are exported without their broken cards)")
    known = {d.id for d in ds.decks}
    unknown = [d for d in (args.deck or []) if d not in known]
    if unknown:
        app.print(f"unknown deck id(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}")
        return 2
    now = app.now()
    out = args.output or Path(f"mi-prep-{now.date().isoformat()}.apkg")
    try:
        report = export_apkg(ds, out, deck_ids=args.deck, now=now)
    except ExportError as exc:
        app.print(f"export failed: {exc}")
        return 1
    except (OSError, MemoryError) as exc:  # export_apkg turns these into ExportError; belt and braces
        app.print(
            f"export failed: cannot write {out}: {getattr(exc, 'strerror', None) or exc}; "
            "check the disk and the output directory, or choose another file with -o"
        )
        return 1
    except Exception as exc:  # a bug: still one line, never a traceback
        app.print(
            f"export failed: unexpected {type(exc).__name__} while exporting to {out}: {exc}; nothing was "
            "written. This is a bug in mi-prep: please report it with the deck file(s) involved"
        )
        return 1
    app.print(report.summary())
    for warning in report.warnings:
        app.print(f"! {warning}")
    if report.skipped:
        app.print(
            f"({report.skipped} card(s) were not exported; fix them as described above and export again: "
            "re-importing updates the notes already in Anki)"
        )
    return 0
