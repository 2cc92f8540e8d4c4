"""Opening the database: checks before SQLite touches the file, WAL, migrations (with a backup first),
hand-edited rows, and the daily backup. Every failure is a one-line :class:`StorageError`."""

from __future__ import annotations

import sqlite3
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

from mi_prep.core.store import checks
from mi_prep.core.store.backups import daily_backup_due, database_problem, list_backups, make_backup, refuse_backup
from mi_prep.core.store.connection import Database, connect, enable_wal
from mi_prep.core.store.errors import (
    DamagedRow,
    StorageError,
    access_problem,
    newer_schema_error,
    restore_or_start_over,
    storage_error,
)
from mi_prep.core.store.paths import DB_NAME, default_data_dir
from mi_prep.core.store.repair import rebuild_items, reset_bad_config
from mi_prep.core.store.schema import SCHEMA_VERSION, NewerSchema, has_data, migrate, schema_version

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.core.store.store import Store

FULL_CHECK_ROWS = 20_000
"""Up to this many log rows every open checks every row (~50 ms); bigger logs are checked once a day."""


def precheck(path: Path) -> StorageError | None:
    """Problems visible before SQLite opens the file (it would create or misread it)."""
    if path.is_dir() or not path.parent.is_dir():
        return access_problem(path)
    try:
        empty = path.exists() and path.stat().st_size == 0
    except OSError:
        empty = False
    if empty and list_backups(path):
        return StorageError(
            f"{path} is empty (0 bytes) although backups exist, so its history was probably lost; "
            f"{restore_or_start_over(path)}",
            path=path,
            reason="empty",
        )
    return None


def open_database(store: Store, now: datetime | None, check_rows: bool) -> sqlite3.Connection:
    """Connect ``store`` (sets ``store.db``), set up WAL, migrate and check rows. Returns the connection."""
    path = store.path
    if path is not None:
        problem = precheck(path)
        if problem is not None:
            raise problem
    try:
        conn = connect(":memory:" if path is None else path)
    except sqlite3.Error as exc:
        raise (storage_error(exc, path) or exc) from exc
    store.db = Database(conn)
    try:
        if path is not None:
            enable_wal(conn)
        conn.execute("PRAGMA synchronous = NORMAL")
        conn.execute("PRAGMA foreign_keys = ON")
        try:
            version = schema_version(conn)
            if version > SCHEMA_VERSION:
                raise NewerSchema(version)
            if version < SCHEMA_VERSION and path is not None and has_data(conn):
                _backup_before_migrating(conn, path, now or datetime.now(UTC))
            migrate(conn, now=now)
        except NewerSchema as exc:
            raise newer_schema_error(path, exc.found, SCHEMA_VERSION) from None
        if path is not None:
            checkpoint(conn)
        if check_rows:
            check_rows_of(store, full=False)
    except BaseException as exc:
        conn.close()
        err = storage_error(exc, path)
        if err is None:
            raise
        raise err from exc
    return conn


def checkpoint(conn: sqlite3.Connection) -> None:
    """Copy what the WAL holds (a new database: its whole schema) into the main file, so losing ``-wal``
    after a crash never loses the structure or earlier sessions. PASSIVE: never waits for other
    connections (what they still use stays in the WAL until later), and errors are not fatal."""
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    except sqlite3.OperationalError:
        pass  # SQLITE_BUSY or LOCKED: another process is checkpointing; it does the same work


def _backup_before_migrating(conn: sqlite3.Connection, path: Path, now: datetime) -> None:
    try:
        make_backup(conn, path, now)
    except StorageError as exc:
        if exc.reason not in ("backup", "backupdir"):
            raise  # the database itself is damaged: that message says what to do
        raise StorageError(
            f"{path} needs an upgrade, but the backup made first failed: {exc.message} (the database was not changed)",
            path=path,
            reason="backup",
        ) from exc


def check_rows_of(store: Store, *, full: bool) -> None:
    """Reset unusable settings and rebuild unreadable ``card_state`` rows from the log (with a warning each);
    raise for an unreadable ``review_log`` row. The log is scanned when ``full`` or when it is small (see
    :data:`FULL_CHECK_ROWS`)."""
    conn = store.db.conn
    reset_bad_config(store)
    if full or (conn.execute("SELECT MAX(id) FROM review_log").fetchone()[0] or 0) <= FULL_CHECK_ROWS:
        bad_log = checks.bad_log_rows(conn, limit=1)
        if bad_log:
            raise DamagedRow("review_log", bad_log[0]["id"], checks.describe_log_row(bad_log[0]))
    bad = checks.bad_state_rows(conn)
    if not bad:
        return
    names = [r["item_id"] for r in bad]
    rebuild_items(store, names)
    try:
        checks.parse_state(bad[0])
        why = "unreadable"
    except DamagedRow as exc:
        why = exc.problem
    more = f" and {len(names) - 1} more" if len(names) > 1 else ""
    store.warnings.append(
        f"{store.path}: card_state row {names[0]!r}{more} could not be read ({why}); rebuilt from the review log"
    )


def open_store(data_dir: Path | str | None = None, *, now: datetime | None = None, daily_backup: bool = True) -> Store:
    """Open (creating and migrating) the store in ``data_dir`` (default: :func:`default_data_dir`).

    With ``daily_backup``, a database with data and no backup from the last day is checked
    (``PRAGMA quick_check``), copied to ``backups/`` (``now`` names it; default: the current time)
    and all its log rows are checked. Raises :class:`StorageError` (one-line message) for every
    storage problem.
    """
    from mi_prep.core.store.store import Store

    if data_dir == ":memory:":
        return Store(":memory:")
    path = Path(data_dir) if data_dir is not None else default_data_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise StorageError(
            f"cannot create the data directory {path} ({exc.strerror}); pass --data-dir or set MI_PREP_HOME",
            path=path / DB_NAME,
            reason="cantopen",
        ) from exc
    now = now or datetime.now(UTC)
    store = Store(path / DB_NAME, now=now)
    if daily_backup:
        try:
            daily(store, now)
        except BaseException as exc:
            store.close()
            err = storage_error(exc, store.path)
            if err is None:
                raise
            raise err from exc
    return store


def daily(store: Store, now: datetime) -> None:
    """Once a day: ``quick_check`` (a damaged database is never rotated into the backups), back up, check rows."""
    assert store.path is not None
    if not daily_backup_due(store.path, now) or not has_data(store.db.conn):
        return
    found = database_problem(store.db.conn)
    if found is not None:
        kind, problem = found
        if kind == "damaged":
            raise StorageError(
                f"{store.path} is damaged ({problem}); {restore_or_start_over(store.path)}",
                path=store.path,
                reason="corrupt",
            )
        raise refuse_backup(store.path, kind, problem)
    try:
        make_backup(store.db.conn, store.path, now, checked=True)
    except StorageError as exc:
        if exc.reason not in ("backup", "backupdir"):
            raise
        store.warnings.append(f"the daily backup was not written: {exc.message}")
    check_rows_of(store, full=True)
