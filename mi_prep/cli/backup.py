"""`mi-prep backup`: the automatic database backups, and recovering from a damaged database.

Usage::

    mi-prep backup [list]              every backup: when, size, reviews (newest first)
    mi-prep backup now                 make one now
    mi-prep backup restore NAME|latest replace the database by a backup (the current one is kept)
    mi-prep backup repair              set aside hand-edited review_log rows mi-prep cannot read, reset
                                       unusable settings, recreate dropped tables and rebuild every card's
                                       state from the log (a backup is made first; a damaged database is
                                       refused, never backed up: restore one instead)

Backups are made automatically (``<data dir>/backups/``): before a schema upgrade and once a day,
the newest 10 kept (see :mod:`mi_prep.core.store.backups`). ``restore`` (:mod:`mi_prep.core.store.restore`)
never opens the damaged database as a store, so it works when nothing else does; close every running
mi-prep first.
"""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("backup", help="list, make or restore database backups; repair hand-edited rows")
    p.add_argument("action", nargs="?", choices=["list", "now", "restore", "repair"], default="list")
    p.add_argument("name", nargs="?", help="for 'restore': a backup's file name (see 'backup list') or 'latest'")
    p.set_defaults(func=cmd_backup)


def _size(n: int) -> str:
    for unit in ("B", "KB", "MB"):
        if n < 1024 or unit == "MB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024  # type: ignore[assignment]
    return f"{n} B"  # pragma: no cover


def cmd_backup(args: argparse.Namespace, app: AppContext) -> int:
    from mi_prep.core.store.paths import db_path_in

    db_path = db_path_in(app.data_dir)
    if args.action == "list":
        return _list(app, db_path)
    if args.action == "now":
        return _now(app)
    if args.action == "repair":
        return _repair(app, db_path)
    if not args.name:
        app.print("backup restore needs a NAME from 'mi-prep backup list', or 'latest'")
        return 2
    return _restore(app, db_path, args.name)


def _list(app: AppContext, db_path) -> int:
    from mi_prep.core.store.backups import KEEP, backup_dir, backup_dir_problem, list_backups
    from mi_prep.core.store.restore import inspect

    problem = backup_dir_problem(db_path)
    if problem is not None:
        raise problem
    backups = list_backups(db_path)
    if not backups:
        app.print(
            f"no backups yet in {backup_dir(db_path)} (one is made each day mi-prep is used with some "
            f"history, and before upgrades; 'mi-prep backup now' makes one)"
        )
        return 0
    tz = app.now().tzinfo
    app.print(f"backups of {db_path} in {backup_dir(db_path)} (newest first; the newest {KEEP} are kept):")
    width = max(len(b.name) for b in backups)
    for b in backups:
        info = inspect(b)
        reviews = f"{info.reviews} reviews" if info.reviews is not None else ""
        note = f"  ! {info.problem}" if info.problem else ""
        app.print(
            f"  {b.name:<{width}}  {b.taken.astimezone(tz):%Y-%m-%d %H:%M %Z}  {_size(b.size):>9}  {reviews}{note}"
        )
    app.print("restore one with: mi-prep backup restore NAME (or 'latest')")
    return 0


def _now(app: AppContext) -> int:
    from mi_prep.core.store import open_store

    now = app.now()
    store = open_store(app.data_dir, now=now, daily_backup=False)
    try:
        b = store.backup(now)  # refuses a damaged database: the good backups stay
    finally:
        store.close()
    for warning in store.warnings:
        app.print(f"warning: {warning}")
    app.print(f"backup written: {b.path} ({_size(b.size)})")
    return 0


def _restore(app: AppContext, db_path, which: str) -> int:
    from mi_prep.core.store import open_store
    from mi_prep.core.store.restore import restore

    app.close_store()
    result = restore(db_path, which, app.now())
    b = result.restored.backup
    tz = app.now().tzinfo
    for info in result.skipped:
        app.print(f"skipped backup {info.backup.name}: it cannot be restored ({info.problem})")
    app.print(
        f"restored {b.name} (taken {b.taken.astimezone(tz):%Y-%m-%d %H:%M %Z}, {result.restored.reviews} "
        f"reviews) to {db_path}"
    )
    if result.saved_as is not None:
        app.print(f"the database it replaced was saved as backup {result.saved_as.name}")
    if result.damaged_copy is not None:
        app.print(f"the damaged database it replaced was kept as {result.damaged_copy}")
    store = open_store(db_path.parent, now=app.now(), daily_backup=False)  # migrates an older backup, checks rows
    for warning in store.warnings:
        app.print(f"warning: {warning}")
    store.close()
    return 0


def _repair(app: AppContext, db_path) -> int:
    from mi_prep.core.store import Store
    from mi_prep.core.store.repair import repair_database

    now = app.now()
    db_path.parent.mkdir(parents=True, exist_ok=True)
    store = Store(db_path, now=now, check_rows=False)
    try:
        result = repair_database(store, now)  # refuses (changing nothing) what only a backup can fix
    finally:
        store.close()
    if result.backup is not None:
        app.print(f"backup written first: {result.backup.name}")
    if result.damaged_copy is not None:
        app.print(f"the database was copied aside first as {result.damaged_copy}")
    if result.recreated:
        app.print(
            f"recreated missing table(s) {', '.join(result.recreated)} (empty; card_state is rebuilt from the "
            f"review log below)"
        )
    for warning in store.warnings:
        app.print(warning)
    for rid, problem in result.removed:
        app.print(f"set aside review_log row {rid}: {problem}")
    kept = (
        "they remain in the backup"
        if result.backup is not None
        else "they remain in the copy set aside"
        if result.damaged_copy is not None
        else "there was no history to back up"
    )
    app.print(
        f"{len(result.removed)} unreadable review_log row(s) set aside ({kept}); "
        f"{result.rebuilt} item state(s) rebuilt from the log"
    )
    return 0
