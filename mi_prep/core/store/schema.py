"""Schema migrations: small numbered functions (after simonw/llm), each applied in ONE transaction.

* The schema version is ``PRAGMA user_version`` (= how many of :data:`MIGRATIONS` are applied); the
  ``_migrations`` table keeps names and times for people reading the file. Databases made before
  ``user_version`` was used (0, with ``_migrations`` rows) count their ``_migrations`` rows instead.
* :func:`migrate` runs each pending migration as ``BEGIN IMMEDIATE; <DDL>; INSERT _migrations;
  PRAGMA user_version = n; COMMIT``, re-reading the version after taking the write lock: a killed
  start-up leaves either the old or the new version, never half of one, and processes starting
  together on an empty data dir queue up and skip what another one already applied.
* The DDL is plain SQL on the raw connection (nothing commits behind our back), with ``IF NOT EXISTS``
  so a database left half-created by older mi-prep versions (which committed every statement) is
  completed. The SQL is exactly what the former sqlite-utils calls produced.
* Never edit a released migration; append a new one.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any


def m001_initial(conn: sqlite3.Connection) -> None:
    conn.execute("""CREATE TABLE IF NOT EXISTS "card_state" (
   "item_id" TEXT PRIMARY KEY,
   "card_id" TEXT,
   "scheduler" TEXT NOT NULL,
   "phase" TEXT NOT NULL,
   "due" TEXT,
   "interval" REAL,
   "ease" REAL,
   "reps" INTEGER,
   "lapses" INTEGER,
   "last_review" TEXT,
   "step" INTEGER,
   "stability" REAL,
   "difficulty" REAL,
   "suspended" INTEGER,
   "buried_until" TEXT
)""")
    conn.execute('CREATE INDEX IF NOT EXISTS "idx_card_state_due"\n    ON "card_state" ("due")')
    conn.execute('CREATE INDEX IF NOT EXISTS "idx_card_state_card_id"\n    ON "card_state" ("card_id")')
    conn.execute("""CREATE TABLE IF NOT EXISTS "review_log" (
   "id" INTEGER PRIMARY KEY,
   "item_id" TEXT NOT NULL,
   "card_id" TEXT,
   "kind" TEXT NOT NULL,
   "ts" TEXT NOT NULL,
   "ts_local" TEXT,
   "rating" INTEGER,
   "elapsed_ms" INTEGER,
   "interval_before" REAL,
   "interval_after" REAL,
   "ease" REAL,
   "scheduler" TEXT,
   "phase_before" TEXT,
   "phase_after" TEXT,
   "due_after" TEXT,
   "max_interval" REAL,
   "ref_id" INTEGER,
   "source" TEXT,
   "state_before" TEXT,
   "data" TEXT
)""")
    conn.execute('CREATE INDEX IF NOT EXISTS "idx_review_log_item_id_id"\n    ON "review_log" ("item_id", "id")')
    conn.execute('CREATE INDEX IF NOT EXISTS "idx_review_log_ts"\n    ON "review_log" ("ts")')
    conn.execute("""CREATE TABLE IF NOT EXISTS "config" (
   "key" TEXT PRIMARY KEY,
   "value" TEXT
)""")


def m002_labs_and_drills(conn: sqlite3.Connection) -> None:
    conn.execute("""CREATE TABLE IF NOT EXISTS "lab_runs" (
   "id" INTEGER PRIMARY KEY,
   "lab" TEXT,
   "seed" INTEGER,
   "device" TEXT,
   "params" TEXT,
   "started" TEXT,
   "finished" TEXT,
   "status" TEXT,
   "result" TEXT,
   "score" REAL,
   "error" TEXT
)""")
    conn.execute('CREATE INDEX IF NOT EXISTS "idx_lab_runs_lab_started"\n    ON "lab_runs" ("lab", "started")')
    conn.execute("""CREATE TABLE IF NOT EXISTS "lab_answers" (
   "id" INTEGER PRIMARY KEY,
   "run_id" INTEGER REFERENCES "lab_runs"("id"),
   "question_id" TEXT,
   "answer" TEXT,
   "score" REAL,
   "correct" INTEGER,
   "ts" TEXT
)""")
    conn.execute("""CREATE TABLE IF NOT EXISTS "drills" (
   "id" INTEGER PRIMARY KEY,
   "seed" INTEGER,
   "started" TEXT,
   "finished" TEXT,
   "minutes" REAL,
   "topics" TEXT,
   "plan" TEXT,
   "report" TEXT,
   "paused_ms" INTEGER,
   "score" REAL,
   "status" TEXT
)""")
    conn.execute("""CREATE TABLE IF NOT EXISTS "drill_answers" (
   "id" INTEGER PRIMARY KEY,
   "drill_id" INTEGER REFERENCES "drills"("id"),
   "idx" INTEGER,
   "item_id" TEXT,
   "kind" TEXT,
   "topic" TEXT,
   "prompt" TEXT,
   "answer" TEXT,
   "points" TEXT,
   "score" REAL,
   "elapsed_ms" INTEGER,
   "timed_out" INTEGER,
   "ts" TEXT
)""")


def _add_column(conn: sqlite3.Connection, table: str, column: str, decl: str) -> None:
    """``ALTER TABLE ... ADD COLUMN`` unless the column is there (SQLite has no ``IF NOT EXISTS`` for it)."""
    if column not in {row[1] for row in conn.execute(f'PRAGMA table_info("{table}")')}:
        conn.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {decl}')


def m003_zones_and_leeches(conn: sqlite3.Connection) -> None:
    """``review_log.tz``: the IANA zone an event happened in (replay does day arithmetic in it);
    ``card_state.leech``: the card lapsed ``leech-threshold`` times."""
    _add_column(conn, "review_log", "tz", "TEXT")
    _add_column(conn, "card_state", "leech", "INTEGER DEFAULT 0")


MIGRATIONS: list[Callable[[sqlite3.Connection], None]] = [m001_initial, m002_labs_and_drills, m003_zones_and_leeches]
SCHEMA_VERSION = len(MIGRATIONS)

TABLES: list[tuple[str, ...]] = [
    ("card_state", "review_log", "config"),
    ("lab_runs", "lab_answers", "drills", "drill_answers"),
    (),
]
"""The tables each migration creates (same order as :data:`MIGRATIONS`)."""


class NewerSchema(Exception):
    def __init__(self, found: int) -> None:
        super().__init__(f"schema {found} is newer than {SCHEMA_VERSION}")
        self.found = found


def _conn(db: Any) -> sqlite3.Connection:
    return getattr(db, "conn", db)


def table_names(db: Any) -> set[str]:
    """The tables in the database (a connection, or anything with ``conn``)."""
    return {r[0] for r in _conn(db).execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def schema_version(db: Any) -> int:
    """``PRAGMA user_version``, or for databases made before it was used, the applied ``_migrations`` prefix."""
    conn = _conn(db)
    version = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if version:
        return version
    if "_migrations" not in table_names(conn):
        return 0
    names = {row[0] for row in conn.execute("SELECT name FROM _migrations")}
    for fn in MIGRATIONS:
        if fn.__name__ not in names:
            break
        version += 1
    return version


def missing_tables(db: Any) -> list[str]:
    """Tables the database's schema version promises but that are not there (e.g. dropped by hand)."""
    conn = _conn(db)
    have = table_names(conn)
    version = min(schema_version(conn), SCHEMA_VERSION)
    return [t for tables in TABLES[:version] for t in tables if t not in have]


def recreate_missing(db: Any) -> list[str]:
    """Inside a transaction: create the tables (and indexes) of the applied migrations that are missing
    (every statement is ``IF NOT EXISTS``). Returns the tables created."""
    conn = _conn(db)
    missing = missing_tables(conn)
    if missing:
        for fn in MIGRATIONS[: min(schema_version(conn), SCHEMA_VERSION)]:
            fn(conn)
    return missing


def has_data(db: Any) -> bool:
    """Whether the database holds anything worth backing up (any row in any mi-prep table)."""
    conn = _conn(db)
    tables = table_names(conn)
    for t in ("review_log", "card_state", "config", "lab_runs", "drills"):
        if t in tables and conn.execute(f'SELECT 1 FROM "{t}" LIMIT 1').fetchone() is not None:
            return True
    return False


def migrate(db: Any, *, now: datetime | None = None, before_each: Callable[[int], None] | None = None) -> list[str]:
    """Apply pending migrations, each with its version bump in one ``BEGIN IMMEDIATE`` transaction.

    Returns the names this call applied (another process may have applied the rest).
    Raises :class:`NewerSchema` for a database written by a newer mi-prep. ``before_each(version)``
    runs inside the transaction before a migration (tests use it to fail half-way).
    """
    conn = _conn(db)
    applied: list[str] = []
    while True:
        version = schema_version(conn)  # without the lock: the usual case is "nothing to do"
        if version > SCHEMA_VERSION:
            raise NewerSchema(version)
        if version == SCHEMA_VERSION:
            return applied
        conn.execute("BEGIN IMMEDIATE")
        try:
            version = schema_version(conn)  # again, under the write lock: someone may have been first
            if version >= SCHEMA_VERSION:
                conn.execute("COMMIT")
                continue
            fn = MIGRATIONS[version]
            if before_each is not None:
                before_each(version)
            conn.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
            fn(conn)
            stamp = (now or datetime.now(UTC)).astimezone(UTC).isoformat()  # audit only
            conn.execute("INSERT OR REPLACE INTO _migrations (name, applied_at) VALUES (?, ?)", [fn.__name__, stamp])
            conn.execute(f"PRAGMA user_version = {version + 1}")
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:
                conn.execute("ROLLBACK")
            raise
        applied.append(fn.__name__)


__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "TABLES",
    "NewerSchema",
    "migrate",
    "schema_version",
    "has_data",
    "missing_tables",
    "recreate_missing",
]
