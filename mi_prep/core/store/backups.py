"""Making backups of the database, as Anki keeps them, and rotating them; copying a damaged file aside.

* ``<data dir>/backups/mi-prep-YYYYMMDD-HHMMSS.db`` (UTC time in the name), written with SQLite's
  online backup API (a consistent snapshot even while WAL holds recent commits), to a temporary
  name first, fsynced, then renamed: a half-written backup is never listed.
* Made before any migration of a database with data, at most once a day when mi-prep opens it,
  before a restore and before ``backup repair``. The newest :data:`KEEP` are kept, and pruning never
  deletes the newest backup that passes its checks.
* A database that fails ``PRAGMA quick_check`` or lacks a table of its schema is never backed up
  (:func:`make_backup` refuses with one line): ten copies of a damaged file would otherwise push out
  every good backup. ``backup repair`` copies such a file aside as ``mi-prep.db.damaged-<ts>`` instead
  (:func:`copy_aside`).
* Inspecting and restoring a backup: :mod:`mi_prep.core.store.restore`.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from mi_prep.core.store.errors import (
    BACKUP_DIR,
    StorageError,
    _command,
    check_summary,
    has_backups,
    restore_or_start_over,
    storage_error,
)
from mi_prep.core.store.schema import missing_tables

KEEP = 10
DAILY = timedelta(days=1)
NAME_RE = re.compile(r"^mi-prep-(\d{8})-(\d{6})(?:-(\d+))?\.db$")


@dataclass(frozen=True)
class Backup:
    path: Path
    taken: datetime
    """UTC, from the name."""
    seq: int
    size: int

    @property
    def name(self) -> str:
        return self.path.name


def backup_dir(db_path: Path) -> Path:
    return db_path.parent / BACKUP_DIR


def backup_dir_problem(db_path: Path) -> StorageError | None:
    """``backups`` exists but is not a folder (a file, a dangling link): nothing can be listed or written."""
    folder = backup_dir(db_path)
    if os.path.lexists(folder) and not folder.is_dir():
        return StorageError(
            f"{folder} is a file, not the backups folder; move it away (mi-prep keeps its backups there)",
            path=db_path,
            reason="backupdir",
        )
    return None


def quick_problem(conn: sqlite3.Connection) -> str | None:
    """``PRAGMA quick_check`` (every page read, structure checked): None, or SQLite's first complaints."""
    try:
        rows = conn.execute("PRAGMA quick_check").fetchall()
    except sqlite3.DatabaseError as exc:
        return f"quick_check: {exc}"
    return None if rows == [("ok",)] else "quick_check: " + check_summary(rows)


def database_problem(conn: sqlite3.Connection) -> tuple[str, str] | None:
    """Why ``conn``'s database must not become a backup: (``"damaged"`` or ``"structure"``, details), or None."""
    problem = quick_problem(conn)
    if problem is not None:
        return "damaged", problem
    try:
        missing = missing_tables(conn)
    except sqlite3.DatabaseError as exc:
        return "damaged", str(exc)
    if missing:
        return "structure", f"no table {', '.join(missing)}"
    return None


def refuse_backup(db_path: Path, kind: str, problem: str) -> StorageError:
    """The one line for a database that fails its checks: no backup of it is written (the good ones stay)."""
    kept = " (the existing backups are kept)" if has_backups(db_path) else ""
    if kind == "structure" and "review_log" not in problem:
        what = "is missing part of its structure"
        todo = f"run `{_command(db_path, 'backup repair')}` to recreate it, or {restore_or_start_over(db_path)}"
    else:
        what = "is damaged" if kind == "damaged" else "is missing part of its structure"
        todo = restore_or_start_over(db_path, recover=kind == "damaged")
    return StorageError(
        f"{db_path} {what} ({problem}), so no backup was made of it{kept}; {todo}", path=db_path, reason="corrupt"
    )


def list_backups(db_path: Path) -> list[Backup]:
    """Newest first."""
    out = []
    try:
        entries = list(backup_dir(db_path).iterdir())
    except OSError:
        return []
    for p in entries:
        m = NAME_RE.match(p.name)
        if not m:
            continue
        try:
            taken = datetime.strptime(m[1] + m[2], "%Y%m%d%H%M%S").replace(tzinfo=UTC)
            size = p.stat().st_size
        except (ValueError, OSError):
            continue
        out.append(Backup(p, taken, int(m[3] or 1), size))
    return sorted(out, key=lambda b: (b.taken, b.seq), reverse=True)


def daily_backup_due(db_path: Path, now: datetime) -> bool:
    """No backup taken in the day before ``now`` (or the newest one is dated in the future: clock changed)."""
    backups = list_backups(db_path)
    if not backups:
        return True
    age = now.astimezone(UTC) - backups[0].taken
    return age >= DAILY or age < -DAILY


def fsync_path(path: Path, directory: bool = False) -> None:
    try:
        fd = os.open(path, os.O_RDONLY | (getattr(os, "O_DIRECTORY", 0) if directory else 0))
    except OSError:  # pragma: no cover - e.g. directories on Windows
        return
    try:
        os.fsync(fd)
    except OSError:  # pragma: no cover
        pass
    finally:
        os.close(fd)


def _unique_name(folder: Path, now: datetime) -> Path:
    stamp = now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
    path, n = folder / f"mi-prep-{stamp}.db", 1
    while path.exists():
        n += 1
        path = folder / f"mi-prep-{stamp}-{n}.db"
    return path


def make_backup(
    conn: sqlite3.Connection, db_path: Path, now: datetime, *, keep: int | None = KEEP, checked: bool = False
) -> Backup:
    """Copy the open database ``conn`` (at ``db_path``) to a new backup; prune to the newest ``keep``.

    A database that fails ``quick_check`` or lacks tables of its schema is refused (StorageError, nothing
    written): a damaged copy must never push the good backups out. ``checked``: the caller just checked.
    Every failure is a StorageError."""
    if not checked:
        found = database_problem(conn)
        if found is not None:
            raise refuse_backup(db_path, *found)
    folder = backup_dir(db_path)
    problem = backup_dir_problem(db_path)
    if problem is not None:
        raise problem
    try:
        folder.mkdir(exist_ok=True)
        final = _unique_name(folder, now)
        tmp = folder / f".{final.name}.{os.getpid()}.tmp"
        try:
            target = sqlite3.connect(str(tmp), isolation_level=None)
            try:
                conn.backup(target)
                target.execute("PRAGMA journal_mode = DELETE")  # one self-contained file
            finally:
                target.close()
            fsync_path(tmp)
            os.replace(tmp, final)
            fsync_path(folder, directory=True)
        finally:
            if tmp.exists():
                tmp.unlink()
        st = final.stat()
    except (OSError, sqlite3.OperationalError) as exc:
        detail = getattr(exc, "strerror", None) or str(exc)
        if isinstance(exc, sqlite3.OperationalError):
            err = storage_error(exc, db_path)
            if err is not None and err.reason in ("corrupt", "notadb", "busy"):
                raise err from exc  # the database itself, not the backups folder
        raise StorageError(
            f"could not write a backup of {db_path} to {folder} ({detail}); free some space or make "
            f"that folder writable, then try again",
            path=db_path,
            reason="backup",
        ) from exc
    if keep is not None:
        prune(db_path, keep, good=final)
    m = NAME_RE.match(final.name)
    if m is None:  # _unique_name always makes a matching name
        raise RuntimeError(f"backup name {final.name!r} does not match {NAME_RE.pattern}")
    return Backup(final, datetime.strptime(m[1] + m[2], "%Y%m%d%H%M%S").replace(tzinfo=UTC), int(m[3] or 1), st.st_size)


def backup_ok(backup: Backup) -> bool:
    """The backup opens, passes ``quick_check`` and has every table of its schema."""
    try:
        conn = open_readonly(backup.path)
    except sqlite3.Error:
        return False
    try:
        return database_problem(conn) is None
    except sqlite3.Error:
        return False
    finally:
        conn.close()


def prune(db_path: Path, keep: int = KEEP, *, good: Path | None = None) -> list[Path]:
    """Delete all but the newest ``keep`` backups (and temporary files older than an hour), but never the
    newest backup that passes :func:`backup_ok` (``good``: one known to pass). Returns deleted."""
    removed = []
    backups = list_backups(db_path)
    doomed = backups[keep:]
    if doomed and not any(b.path == good for b in backups[:keep]) and not any(backup_ok(b) for b in backups[:keep]):
        spared = next((b for b in doomed if backup_ok(b)), None)  # the newest good one is older: keep it too
        doomed = [b for b in doomed if b is not spared]
    for b in doomed:
        try:
            b.path.unlink()
            removed.append(b.path)
        except OSError:
            pass
    try:
        for p in backup_dir(db_path).glob(".mi-prep-*.tmp"):
            if time.time() - p.stat().st_mtime > 3600:
                p.unlink()
    except OSError:
        pass
    return removed


def damaged_name(db_path: Path, now: datetime) -> Path:
    """``mi-prep.db.damaged-YYYYMMDD-HHMMSS`` next to the database (``-2``, ... when taken)."""
    copy, n = db_path.with_name(f"{db_path.name}.damaged-{stamp(now)}"), 1
    while os.path.lexists(copy):
        n += 1
        copy = db_path.with_name(f"{db_path.name}.damaged-{stamp(now)}-{n}")
    return copy


def copy_aside(conn: sqlite3.Connection, db_path: Path, now: datetime) -> Path:
    """Copy the open (readable but broken) database to :func:`damaged_name`, outside the rotated backups."""
    copy = damaged_name(db_path, now)
    try:
        target = sqlite3.connect(str(copy), isolation_level=None)
        try:
            conn.backup(target)
            target.execute("PRAGMA journal_mode = DELETE")
        finally:
            target.close()
        fsync_path(copy)
    except (OSError, sqlite3.Error) as exc:
        copy.unlink(missing_ok=True)
        raise StorageError(
            f"could not copy {db_path} aside to {copy} before repairing it "
            f"({getattr(exc, 'strerror', None) or exc}); nothing was changed; free some space and "
            f"try again",
            path=db_path,
            reason="backup",
        ) from exc
    return copy


def open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)


def stamp(now: datetime) -> str:
    return now.astimezone(UTC).strftime("%Y%m%d-%H%M%S")
