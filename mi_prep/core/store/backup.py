"""Automatic backups of the database, as Anki keeps them, and restoring one.

* ``<data dir>/backups/mi-prep-YYYYMMDD-HHMMSS.db`` (UTC time in the name), written with SQLite's
  online backup API (a consistent snapshot even while WAL holds recent commits), to a temporary
  name first, fsynced, then renamed: a half-written backup is never listed.
* Made before any migration of a database with data, at most once a day when mi-prep opens it
  (after ``PRAGMA quick_check`` passed: a damaged database is never rotated in), before a restore
  and before ``backup repair``. The newest :data:`KEEP` are kept.
* :func:`restore` never opens the Store: it works when the current database is damaged (that is
  when it is needed). It verifies the backup (``integrity_check``), saves the current database
  (as a backup when readable, else as a ``mi-prep.db.damaged-...`` copy), and swaps the file in
  atomically (temporary copy in the same folder, fsync, ``os.replace``).
"""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import time
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from pathlib import Path

from mi_prep.core.store.connection import connect
from mi_prep.core.store.errors import BACKUP_DIR, StorageError, _command, storage_error
from mi_prep.core.store.schema import SCHEMA_VERSION, has_data, schema_version

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


def backup_dir(db_path: Path) -> Path:
    return db_path.parent / BACKUP_DIR


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
            taken = datetime.strptime(m[1] + m[2], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc)
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
    age = now.astimezone(timezone.utc) - backups[0].taken
    return age >= DAILY or age < -DAILY


def _fsync(path: Path, directory: bool = False) -> None:
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
    stamp = now.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")
    path, n = folder / f"mi-prep-{stamp}.db", 1
    while path.exists():
        n += 1
        path = folder / f"mi-prep-{stamp}-{n}.db"
    return path


def make_backup(conn: sqlite3.Connection, db_path: Path, now: datetime, *, keep: int | None = KEEP) -> Backup:
    """Copy the open database ``conn`` (at ``db_path``) to a new backup; prune to the newest ``keep``."""
    folder = backup_dir(db_path)
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
        _fsync(tmp)
        os.replace(tmp, final)
        _fsync(folder, directory=True)
    finally:
        if tmp.exists():
            tmp.unlink()
    if keep is not None:
        prune(db_path, keep)
    st = final.stat()
    m = NAME_RE.match(final.name)
    return Backup(final, datetime.strptime(m[1] + m[2], "%Y%m%d%H%M%S").replace(tzinfo=timezone.utc),
                  int(m[3] or 1), st.st_size)


def prune(db_path: Path, keep: int = KEEP) -> list[Path]:
    """Delete all but the newest ``keep`` backups (and temporary files older than an hour). Returns deleted."""
    removed = []
    for b in list_backups(db_path)[keep:]:
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


def _open_readonly(path: Path) -> sqlite3.Connection:
    return sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True, isolation_level=None)


def inspect(backup: Backup, *, full: bool = False) -> BackupInfo:
    """Open a backup read-only: review count, schema version and (``full``) ``integrity_check``."""
    try:
        conn = _open_readonly(backup.path)
    except sqlite3.Error as exc:
        return BackupInfo(backup, None, None, str(exc))
    try:
        if full:
            rows = conn.execute("PRAGMA integrity_check").fetchall()
            if rows != [("ok",)]:
                return BackupInfo(backup, None, None, "damaged: " + "; ".join(str(r[0]) for r in rows[:3]))
        version = schema_version(conn)
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
    backups = list_backups(db_path)
    if not backups:
        raise StorageError(f"there are no backups in {backup_dir(db_path)}", path=db_path, reason="nobackup")
    if which == "latest":
        return backups[0]
    for b in backups:
        if which in (b.name, b.path.stem, str(b.path)):
            return b
    raise StorageError(f"no backup named {which!r} in {backup_dir(db_path)}; see {_command(db_path, 'backup list')}",
                       path=db_path, reason="nobackup")


def _stamp(now: datetime) -> str:
    return now.astimezone(timezone.utc).strftime("%Y%m%d-%H%M%S")


def _sidecars(db_path: Path) -> list[Path]:
    return [db_path.with_name(db_path.name + s) for s in ("-wal", "-shm", "-journal")]


def restore(db_path: Path, which: str, now: datetime) -> RestoreResult:
    """Replace the database at ``db_path`` by backup ``which`` (see module doc). Every mi-prep must be closed."""
    chosen = find(db_path, which)
    info = inspect(chosen, full=True)
    if info.problem is not None:
        raise StorageError(f"backup {chosen.path} cannot be restored ({info.problem}); choose another one: "
                           f"{_command(db_path, 'backup list')}", path=db_path, reason="badbackup")
    if db_path.is_dir():
        raise StorageError(f"{db_path} is a directory, not a database file; move it away first", path=db_path,
                           reason="isdir")
    for stale in db_path.parent.glob(f".{db_path.name}.restore-*.tmp"):  # left by a killed restore
        stale.unlink(missing_ok=True)
    tmp = db_path.with_name(f".{db_path.name}.restore-{os.getpid()}.tmp")
    try:
        shutil.copyfile(chosen.path, tmp)
        _fsync(tmp)
        saved, damaged = _set_aside_current(db_path, now)
        for side in _sidecars(db_path):  # stale WAL frames must never be applied to the restored file
            if side.exists():
                side.unlink()
        os.replace(tmp, db_path)
        _fsync(db_path.parent, directory=True)
    except OSError as exc:
        raise StorageError(f"could not restore {chosen.path} to {db_path} ({exc.strerror or exc}); nothing of the "
                           f"current database was lost; free space or fix permissions and try again", path=db_path,
                           reason="io") from exc
    finally:
        if tmp.exists():
            tmp.unlink()
    prune(db_path, KEEP)
    return RestoreResult(info, saved, damaged)


def _set_aside_current(db_path: Path, now: datetime) -> tuple[Backup | None, Path | None]:
    """Save the database about to be replaced: as a backup when readable, else a byte copy next to it."""
    if not db_path.exists():
        return None, None
    conn = None
    readable = False
    try:
        conn = connect(db_path, timeout_ms=2000)
        readable = conn.execute("PRAGMA quick_check").fetchall() == [("ok",)]
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
                raise StorageError(f"{db_path} is open in another mi-prep; close it and run the restore again",
                                   path=db_path, reason="busy") from exc
            raise (err or exc) from exc
        try:
            if mode != "delete":
                raise StorageError(f"{db_path} is open in another mi-prep; close it and run the restore again",
                                   path=db_path, reason="busy")
            saved = make_backup(conn, db_path, now, keep=None) if has_data(conn) else None
        finally:
            conn.close()
        return saved, None
    if conn is not None:
        conn.close()
    copy = db_path.with_name(f"{db_path.name}.damaged-{_stamp(now)}")
    shutil.copyfile(db_path, copy)
    for side in _sidecars(db_path):
        if side.exists():
            shutil.copyfile(side, copy.with_name(copy.name + side.name[len(db_path.name):]))
    return None, copy
