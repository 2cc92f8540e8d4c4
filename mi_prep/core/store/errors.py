"""One-line, user-facing errors for damaged or unusable storage.

Every message names the file, says what is wrong and what to do, and points to the automatic
backups when there are any. :func:`storage_error` maps a ``sqlite3`` error to a
:class:`StorageError` (or ``None`` when the error is a bug rather than a storage problem).
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

BACKUP_DIR = "backups"

# primary SQLite result codes (https://sqlite.org/rescode.html)
SQLITE_ERROR, SQLITE_PERM, SQLITE_BUSY, SQLITE_LOCKED, SQLITE_READONLY = 1, 3, 5, 6, 8
SQLITE_IOERR, SQLITE_CORRUPT, SQLITE_FULL, SQLITE_CANTOPEN, SQLITE_NOTADB = 10, 11, 13, 14, 26


class StorageError(Exception):
    """The database cannot be used. ``message`` is one line for the user; ``reason`` is a short key for code."""

    def __init__(self, message: str, *, path: Path | None = None, reason: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.path = path
        self.reason = reason

    def __str__(self) -> str:
        return self.message


class DamagedRow(ValueError):
    """A row a person (or another program) edited into something mi-prep cannot read."""

    def __init__(self, table: str, row: object, problem: str) -> None:
        super().__init__(f"{table} row {row!r}: {problem}")
        self.table = table
        self.row = row
        self.problem = problem


def check_summary(rows: list) -> str:
    """``"ok"``, or the first three complaints of ``PRAGMA quick_check``/``integrity_check`` on ONE line
    (SQLite puts several lines into one row and starts with ``*** in database main ***``)."""
    if rows == [("ok",)]:
        return "ok"
    lines = [ln.strip() for r in rows for ln in str(r[0]).splitlines()]
    lines = [ln for ln in lines if ln and not ln.startswith("***")]
    more = f" (and {len(lines) - 3} more)" if len(lines) > 3 else ""
    return "; ".join(lines[:3]) + more if lines else "not ok"


def _command(db_path: Path | None, words: str) -> str:
    """``mi-prep backup list``, with ``--data-dir`` when the database is not in the default place."""
    if db_path is None:
        return f"mi-prep {words}"
    from mi_prep.core.store.paths import default_data_dir

    data_dir = db_path.parent
    try:
        default = data_dir.resolve() == default_data_dir().resolve()
    except OSError:  # pragma: no cover - resolve() of a vanished dir
        default = False
    return f"mi-prep {words}" if default else f"mi-prep --data-dir {data_dir} {words}"


def has_backups(db_path: Path | None) -> bool:
    if db_path is None:
        return False
    try:
        return any(p.name.startswith("mi-prep-") and p.suffix == ".db" for p in (db_path.parent / BACKUP_DIR).iterdir())
    except OSError:
        return False


def backups_hint(db_path: Path | None) -> str:
    """``; backups: mi-prep backup list`` when there are backups, else ``""``."""
    return f"; backups: {_command(db_path, 'backup list')}" if has_backups(db_path) else ""


def restore_or_start_over(db_path: Path, *, recover: bool = True) -> str:
    if has_backups(db_path):
        return (
            f"restore the newest backup with `{_command(db_path, 'backup restore latest')}` "
            f"(all backups: {_command(db_path, 'backup list')})"
        )
    salvage = f" (or try `sqlite3 {db_path} .recover` to salvage what is left)" if recover else ""
    return f"there are no backups; move it away to start with an empty history{salvage}"


def _code(exc: sqlite3.Error) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF
    text = str(exc).lower()  # an error raised by hand (tests, wrappers) has no code: go by its text
    for needle, c in (
        ("malformed", SQLITE_CORRUPT),
        ("not a database", SQLITE_NOTADB),
        ("is full", SQLITE_FULL),
        ("readonly", SQLITE_READONLY),
        ("unable to open", SQLITE_CANTOPEN),
        ("locked", SQLITE_BUSY),
        ("i/o error", SQLITE_IOERR),
        ("no such", SQLITE_ERROR),
    ):
        if needle in text:
            return c
    return None


def access_problem(db_path: Path, detail: str = "") -> StorageError | None:
    """What keeps ``db_path`` from being opened for writing, found without SQLite (or None).
    ``detail``: SQLite's own words, quoted in the message."""
    folder = db_path.parent
    said = f" ({detail})" if detail else ""
    if db_path.is_dir():
        return StorageError(
            f"{db_path} is a directory, not a database file{said}; move it away (mi-prep then creates "
            f"a new database) or use another --data-dir",
            path=db_path,
            reason="isdir",
        )
    if not folder.is_dir():
        return StorageError(
            f"{db_path} cannot be created: the data directory {folder} does not exist or is not a "
            f"directory{said}; use another --data-dir",
            path=db_path,
            reason="cantopen",
        )
    # SQLite opened the file read-only and keeps it so: fixing permissions needs a new start to take effect
    if not os.access(folder, os.W_OK | os.X_OK):
        return StorageError(
            f"{db_path} cannot be written: its folder {folder} is read-only{said}, and SQLite keeps "
            f"{db_path.name}-wal next to it; make it writable (chmod u+w {folder}) and start mi-prep "
            f"again, or use another --data-dir",
            path=db_path,
            reason="readonly",
        )
    if db_path.exists() and not os.access(db_path, os.R_OK | os.W_OK):
        return StorageError(
            f"{db_path} is read-only{said}; make it writable (chmod u+rw {db_path}) and start mi-prep "
            f"again, or use another --data-dir",
            path=db_path,
            reason="readonly",
        )
    return None


def storage_error(exc: BaseException, db_path: Path | None) -> StorageError | None:
    """The user-facing error for ``exc``, or None when ``exc`` is not a storage problem (a bug: let it raise)."""
    if isinstance(exc, StorageError):
        return exc
    if isinstance(exc, DamagedRow):
        return damaged_row_error(exc, db_path)
    if not isinstance(exc, sqlite3.Error):
        return None
    where = str(db_path) if db_path is not None else "the database"
    detail = str(exc)
    code = _code(exc)
    if code in (SQLITE_CORRUPT, SQLITE_NOTADB) and db_path is not None:
        what = "is damaged" if code == SQLITE_CORRUPT else "is not an SQLite database"
        todo = restore_or_start_over(db_path, recover=code == SQLITE_CORRUPT)
        return StorageError(
            f"{where} {what} ({detail}); {todo}", path=db_path, reason="corrupt" if code == SQLITE_CORRUPT else "notadb"
        )
    if code in (SQLITE_READONLY, SQLITE_CANTOPEN, SQLITE_PERM):
        found = access_problem(db_path, detail) if db_path is not None else None
        if found is not None:
            return found
        if code == SQLITE_READONLY:
            return StorageError(
                f"{where} is read-only ({detail}); make it and its folder writable and start mi-prep "
                f"again, or use another --data-dir",
                path=db_path,
                reason="readonly",
            )
        return StorageError(
            f"{where} cannot be opened ({detail}); check that its folder exists and is writable, or "
            f"use another --data-dir",
            path=db_path,
            reason="cantopen",
        )
    if code == SQLITE_FULL:
        return StorageError(
            f"{where}: the disk is full ({detail}); the last change was not saved; free some space "
            f"(on that disk, or in the temporary folder $TMPDIR) and try again",
            path=db_path,
            reason="full",
        )
    if code == SQLITE_IOERR:
        return StorageError(
            f"{where}: the disk failed to read or write ({detail}); check the disk and free space, "
            f"then try again{backups_hint(db_path)}",
            path=db_path,
            reason="ioerr",
        )
    if code in (SQLITE_BUSY, SQLITE_LOCKED):
        return StorageError(
            f"{where} is locked by another program ({detail}); close other mi-prep windows and try again",
            path=db_path,
            reason="busy",
        )
    if code == SQLITE_ERROR and ("no such table" in detail or "no such column" in detail):
        todo = restore_or_start_over(db_path, recover=False) if db_path else "restore a backup"
        if "no such table" in detail and "review_log" not in detail:  # derived or side tables: recreated
            todo = f"run `{_command(db_path, 'backup repair')}` to recreate it, or {todo}"
        return StorageError(
            f"{where} is missing part of its structure ({detail}); {todo}", path=db_path, reason="corrupt"
        )
    return None


def storage_message(exc: BaseException, db_path: Path | None) -> str | None:
    """The one line a frontend shows for a storage failure (any :class:`StorageError`, damaged row or
    ``sqlite3`` error), or None when ``exc`` is something else: a bug the frontend lets raise."""
    err = storage_error(exc, db_path)
    if err is not None:
        return err.message
    if isinstance(exc, sqlite3.Error):
        where = f"{db_path}: " if db_path is not None else ""
        return f"{where}database error: {exc}"
    return None


def damaged_row_error(exc: DamagedRow, db_path: Path | None) -> StorageError:
    where = str(db_path) if db_path is not None else "the database"
    if exc.table == "review_log":
        todo = (
            f"run `{_command(db_path, 'backup repair')}` to set such rows aside (a backup is made first) or "
            f"restore a backup: {_command(db_path, 'backup list')}"
        )
    elif exc.table == "config":
        todo = f"run `{_command(db_path, 'backup repair')}` to reset it to its default"
    else:
        todo = f"run `{_command(db_path, 'backup repair')}` to rebuild it from the review log"
    return StorageError(
        f"{where}: {exc.table} row {exc.row!r} cannot be read ({exc.problem}), probably edited by hand; {todo}",
        path=db_path,
        reason="badrow",
    )


def newer_schema_error(db_path: Path | None, found: int, known: int) -> StorageError:
    where = str(db_path) if db_path is not None else "the database"
    todo = f" or restore an older backup: {_command(db_path, 'backup list')}" if has_backups(db_path) else ""
    return StorageError(
        f"{where} was written by a newer mi-prep (schema {found}, this version knows {known}) and was "
        f"left unchanged; upgrade mi-prep{todo}",
        path=db_path,
        reason="newer",
    )
