"""Inspecting backups and restoring one (``mi-prep backup list`` / ``backup restore``).

* :func:`inspect` opens a backup read-only: review count, schema version, (``full``) ``integrity_check``.
* :func:`restore` never opens the Store: it works when the current database is damaged (that is
  when it is needed). It verifies the backup (``integrity_check``; ``latest`` = the newest that
  passes), saves the current database (as a backup when readable, else as a ``mi-prep.db.damaged-...``
  copy), and swaps the file in atomically (temporary copy in the same folder, fsync, ``os.replace``).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from mi_prep.core.store.backups import (
    KEEP,
    Backup,
    backup_dir,
    backup_dir_problem,
    damaged_name,
    database_problem,
    fsync_path,
    list_backups,
    make_backup,
    open_readonly,
    prune,
)
from mi_prep.core.store.connection import connect
from mi_prep.core.store.errors import StorageError, _command, check_summary, storage_error
from mi_prep.core.store.schema import SCHEMA_VERSION, has_data, missing_tables, schema_version


@dataclass(frozen=True)
class BackupInfo:
    backup: Backup
    reviews: int | None
    schema: int | None
    problem: str | None
    """None when the backup opens (and, if checked, passes ``integrity_check``)."""


@dataclass(frozen=True)
class RestoreResult:
    restored: BackupInfo
    saved_as: Backup | None
    """The database that was replaced, saved as a backup (it was readable and had data)."""
    damaged_copy: Path | None
    """The replaced database when it was not readable, copied aside for inspection."""
    skipped: tuple[BackupInfo, ...] = ()
    """For ``latest``: newer backups passed over because they cannot be restored."""


def inspect(backup: Backup, *, full: bool = False) -> BackupInfo:
    """Open a backup read-only: review count, schema version and (``full``) ``integrity_check``."""
    try:
        conn = open_readonly(backup.path)
    except sqlite3.Error as exc:
        return BackupInfo(backup, None, None, str(exc))
    try:
        if full:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            if rows != [("ok",)]:
                return BackupInfo(backup, None, None, "damaged: " + check_summary(rows))
        version = schema_version(conn)
        missing = missing_tables(conn)
        if missing:
            return BackupInfo(backup, None, version, f"damaged: no table {', '.join(missing)}")
        reviews = conn.execute("SELECT COUNT(*) FROM review_log WHERE kind = 'review'").fetchone()[0]
        problem = None
        if version > SCHEMA_VERSION:
            problem = f"written by a newer mi-prep (schema {version}, this version knows {SCHEMA_VERSION})"
        return BackupInfo(backup, int(reviews), version, problem)
    except sqlite3.Error as exc:
        return BackupInfo(backup, None, None, str(exc))
    finally:
        conn.close()


def find(db_path: Path, which: str) -> Backup:
    """``latest``, a file name, or a name without ``.db``."""
    problem = backup_dir_problem(db_path)
    if problem is not None:
        raise problem
    backups = list_backups(db_path)
    if not backups:
        raise StorageError(f"there are no backups in {backup_dir(db_path)}", path=db_path, reason="nobackup")
    if which == "latest":
        return backups[0]
    for b in backups:
        if which in (b.name, b.path.stem, str(b.path)):
            return b
    raise StorageError(
        f"no backup named {which!r} in {backup_dir(db_path)}; see {_command(db_path, 'backup list')}",
        path=db_path,
        reason="nobackup",
    )


def _sidecars(db_path: Path) -> list[Path]:
    return [db_path.with_name(db_path.name + s) for s in ("-wal", "-shm", "-journal")]


def _choose(db_path: Path, which: str) -> tuple[BackupInfo, tuple[BackupInfo, ...]]:
    """The backup to restore, verified; for ``latest`` the newest one that passes (and those skipped)."""
    if which != "latest":
        chosen = find(db_path, which)
        info = inspect(chosen, full=True)
        if info.problem is not None:
            raise StorageError(
                f"backup {chosen.path} cannot be restored ({info.problem}); choose another one: "
                f"{_command(db_path, 'backup list')}",
                path=db_path,
                reason="badbackup",
            )
        return info, ()
    skipped: list[BackupInfo] = []
    for b in list_backups(db_path) or [find(db_path, which)]:  # find() raises when there are none
        info = inspect(b, full=True)
        if info.problem is None:
            return info, tuple(skipped)
        skipped.append(info)
    newest = skipped[0]
    others = f" (nor can the {len(skipped) - 1} older one(s))" if len(skipped) > 1 else ""
    raise StorageError(
        f"backup {newest.backup.path} cannot be restored ({newest.problem}){others}; see "
        f"{_command(db_path, 'backup list')}",
        path=db_path,
        reason="badbackup",
    )


def _cannot_replace(db_path: Path, detail: str) -> StorageError:
    return StorageError(
        f"cannot replace {db_path} ({detail}); make it writable (chmod u+rw {db_path}; if it is "
        f"marked immutable: chattr -i {db_path}) and run the restore again; the current database was "
        f"left in place",
        path=db_path,
        reason="readonly",
    )


def restore(db_path: Path, which: str, now: datetime) -> RestoreResult:
    """Replace the database at ``db_path`` by backup ``which`` (see module doc). Every mi-prep must be closed."""
    problem = backup_dir_problem(db_path)
    if problem is not None:
        raise problem
    info, skipped = _choose(db_path, which)
    chosen = info.backup
    if db_path.is_dir():
        raise StorageError(
            f"{db_path} is a directory, not a database file; move it away first", path=db_path, reason="isdir"
        )
    if db_path.exists():  # read-only or immutable (chattr +i): found before anything changes
        try:
            with open(db_path, "r+b"):
                pass
        except OSError as exc:
            raise _cannot_replace(db_path, (exc.strerror or str(exc)).lower()) from exc
    for stale in db_path.parent.glob(f".{db_path.name}.restore-*.tmp"):  # left by a killed restore
        stale.unlink(missing_ok=True)
    tmp = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}.tmp")
    try:
        shutil.copyfile(chosen.path, tmp)
        fsync_path(tmp)
        saved, damaged = _set_aside_current(db_path, now)
        for side in _sidecars(db_path):  # stale WAL frames must never be applied to the restored file
            if side.exists():
                side.unlink()
        try:
            os.replace(tmp, db_path)
        except PermissionError as exc:
            raise _cannot_replace(db_path, (exc.strerror or "operation not permitted").lower()) from exc
        fsync_path(db_path.parent, directory=True)
    except OSError as exc:
        raise StorageError(
            f"could not restore {chosen.path} to {db_path} ({exc.strerror or exc}); nothing of the "
            f"current database was lost; free space or fix permissions and try again",
            path=db_path,
            reason="io",
        ) from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    prune(db_path, KEEP)
    return RestoreResult(info, saved, damaged, skipped)


def _set_aside_current(db_path: Path, now: datetime) -> tuple[Backup | None, Path | None]:
    """Save the database about to be replaced: as a backup when readable, else a byte copy next to it."""
    if not db_path.exists():
        return None, None
    conn = None
    readable = False
    try:
        conn = connect(db_path, timeout_ms=2000)
        readable = database_problem(conn) is None  # damaged or missing tables: never a rotated backup
    except sqlite3.DatabaseError:
        readable = False
    if readable:
        assert conn is not None
        try:
            # leaving WAL needs every other connection closed: the check that no mi-prep is running, and
            # it checkpoints so nothing of this database lives outside its main file any more
            mode = conn.execute("PRAGMA journal_mode = DELETE").fetchone()[0]
        except sqlite3.OperationalError as exc:
            conn.close()
            err = storage_error(exc, db_path)
            if err is not None and err.reason == "busy":
                raise StorageError(
                    f"{db_path} is open in another mi-prep; close it and run the restore again",
                    path=db_path,
                    reason="busy",
                ) from exc
            raise (err or exc) from exc
        try:
            if mode != "delete":
                raise StorageError(
                    f"{db_path} is open in another mi-prep; close it and run the restore again",
                    path=db_path,
                    reason="busy",
                )
            saved = make_backup(conn, db_path, now, keep=None, checked=True) if has_data(conn) else None
        finally:
            conn.close()
        return saved, None
    if conn is not None:
        conn.close()
    copy = damaged_name(db_path, now)
    shutil.copyfile(db_path, copy)
    for side in _sidecars(db_path):
        if side.exists():
            shutil.copyfile(side, copy.with_name(copy.name + side.name[len(db_path.name) :]))
    return None, copy
