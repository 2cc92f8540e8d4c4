"""Opening the SQLite file: autocommit connections, WAL set up robustly, explicit transactions.

Connections use ``isolation_level=None``: Python's sqlite3 never opens or commits a transaction by
itself, so every multi-statement write is an explicit ``BEGIN IMMEDIATE ... COMMIT`` (see
:func:`transaction`) and nothing half-done is ever committed.
"""

from __future__ import annotations

import random
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

BUSY_TIMEOUT_MS = 10_000


def connect(path: Path | str, *, timeout_ms: int = BUSY_TIMEOUT_MS) -> sqlite3.Connection:
    conn = sqlite3.connect(str(path), timeout=timeout_ms / 1000, isolation_level=None, check_same_thread=False)
    conn.execute(f"PRAGMA busy_timeout = {timeout_ms}")
    return conn


class Database:
    """A connection with the two calls the store makes: :meth:`execute` and :meth:`query` (rows as dicts).

    The store used ``sqlite_utils.Database`` for these; importing sqlite-utils imports pandas and numpy
    when they are installed (they are, with the labs), half a second before the first card. This is
    the same interface on the standard library's ``sqlite3`` alone.
    """

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn

    def execute(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    def query(self, sql: str, params: Sequence[Any] | dict[str, Any] = ()) -> Iterator[dict[str, Any]]:
        """The rows of ``sql`` as ``{column: value}`` dicts, read lazily."""
        cur = self.conn.execute(sql, params)
        keys = [d[0] for d in cur.description]
        for row in cur:
            yield dict(zip(keys, row, strict=True))


def _busy(exc: sqlite3.Error) -> bool:
    code = getattr(exc, "sqlite_errorcode", None)
    if code is not None:
        return code & 0xFF in (5, 6)  # SQLITE_BUSY, SQLITE_LOCKED
    return "locked" in str(exc) or "busy" in str(exc)  # pragma: no cover - Python < 3.11


def enable_wal(conn: sqlite3.Connection, *, timeout_ms: int = BUSY_TIMEOUT_MS) -> bool:
    """Switch to WAL (persistent). Changing the journal mode does not wait for locks (it fails with
    SQLITE_BUSY at once while another process is setting up the same new file), so retry until the
    busy timeout. Returns False when the file system keeps another mode (WAL unsupported)."""
    deadline = time.monotonic() + timeout_ms / 1000
    while True:
        try:
            if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
                return True
            return conn.execute("PRAGMA journal_mode = WAL").fetchone()[0] == "wal"
        except sqlite3.OperationalError as exc:
            if not _busy(exc) or time.monotonic() > deadline:
                raise
            time.sleep(random.uniform(0.005, 0.03))


def inserted_id(cur: sqlite3.Cursor) -> int:
    """The rowid of the row an ``INSERT`` on ``cur`` just wrote."""
    if cur.lastrowid is None:  # only when the statement inserted nothing
        raise RuntimeError("the INSERT wrote no row")
    return cur.lastrowid


@contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """``BEGIN IMMEDIATE`` ... ``COMMIT`` (a savepoint when already inside one); rolled back on any error."""
    if conn.in_transaction:
        name = f"sp_{random.getrandbits(48):x}"
        conn.execute(f"SAVEPOINT {name}")
        try:
            yield conn
        except BaseException:
            if conn.in_transaction:
                conn.execute(f"ROLLBACK TO {name}")
                conn.execute(f"RELEASE {name}")
            raise
        conn.execute(f"RELEASE {name}")
        return
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
