"""SQLite store: card state, an append-only event log, config, labs, drills; backups and recovery.

Every SQL statement of mi-prep's database lives in this package; typed records come out.

* ``paths``: where the database lives; ``schema``: migrations (one transaction each, ``user_version``);
  ``connection``: autocommit connections, WAL, transactions; ``store``: the :class:`Store` (config, card
  state, events); ``review_log``: appending to the log and the queries over it (:class:`LogEntry`,
  :class:`ReviewRecord`); ``replay``: an item's state rebuilt from its log rows; ``lab_runs``: lab runs and
  answers; ``opening``: :func:`open_store` (pre-checks, migrations, daily backup); ``guard``: storage
  failures as :class:`StorageError` (one-line messages, ``errors``); ``checks``: reading hand-edited rows
  safely; ``repair``: rebuilding from the log, resetting unusable settings, recreating dropped tables;
  ``backups``: writing and rotating backups (never of a database that fails its checks); ``restore``:
  inspecting and restoring them.
"""

from __future__ import annotations

from mi_prep.core.store.connection import BUSY_TIMEOUT_MS
from mi_prep.core.store.errors import DamagedRow, StorageError
from mi_prep.core.store.opening import open_store
from mi_prep.core.store.paths import DB_NAME, default_data_dir
from mi_prep.core.store.review_log import LogEntry, ReviewRecord
from mi_prep.core.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate, schema_version
from mi_prep.core.store.store import Store, utc

__all__ = [
    "Store",
    "open_store",
    "default_data_dir",
    "migrate",
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "schema_version",
    "LogEntry",
    "ReviewRecord",
    "StorageError",
    "DamagedRow",
    "DB_NAME",
    "BUSY_TIMEOUT_MS",
    "utc",
]
