"""Repairs: rebuilding ``card_state`` rows from the log, setting aside ``review_log`` rows nobody can read,
resetting unusable settings, recreating dropped tables.

* :func:`reset_bad_config` runs on every open (only writes when something is wrong) and in :func:`repair`.
* :func:`repair_database` is ``mi-prep backup repair``: it refuses a database that fails ``quick_check``
  or lost its ``review_log`` (only a backup helps; nothing is written, so no damaged copy is ever
  rotated into the backups), copies a database with dropped tables aside as ``mi-prep.db.damaged-<ts>``
  before recreating them, and otherwise makes a backup first.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mi_prep.core import settings
from mi_prep.core.scheduling import aware
from mi_prep.core.store import checks
from mi_prep.core.store.errors import DamagedRow, StorageError, restore_or_start_over

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.core.store.backups import Backup
    from mi_prep.core.store.store import Store


def rebuild_items(store: Store, item_ids: list[str]) -> None:
    """Recompute the given items from the log in one transaction (items without history lose their row)."""
    with store.transaction() as conn:
        name = store.scheduler_name
        for item_id in item_ids:
            rows = store.log_rows(item_id)
            if not rows:
                conn.execute("DELETE FROM card_state WHERE item_id = ?", [item_id])
                continue
            card_id = rows[-1]["card_id"] or item_id.split("#")[0]
            store._write_state(conn, card_id, store.replay(item_id, rows, name))


def _bad_config(conn: Any, *, all_keys: bool) -> list[tuple[str, Any, str]]:
    """(key, stored text, problem) of known keys with unusable values (``all_keys``: also non-JSON unknown keys)."""
    if all_keys:
        rows = conn.execute("SELECT key, value FROM config").fetchall()
    else:
        keys = list(settings.SETTINGS)
        rows = conn.execute(
            f"SELECT key, value FROM config WHERE key IN ({', '.join('?' for _ in keys)})", keys
        ).fetchall()
    out = []
    for key, value in rows:
        problem = settings.stored_problem(key, value)
        if problem is not None and (key in settings.SETTINGS or problem == "not JSON"):
            out.append((key, value, problem))
    return out


def reset_bad_config(store: Store, *, all_keys: bool = False, rebuild: bool = True) -> list[str]:
    """Delete settings that cannot be used (they fall back to their defaults), one warning each; a reset
    ``scheduler`` replays every item under the default ``sm2`` in the same transaction (``rebuild``). Inside
    or outside a transaction; writes nothing when every value is fine. Returns the keys reset."""
    conn = store.db.conn
    if not _bad_config(conn, all_keys=all_keys):  # the usual case: no write lock taken
        return []
    with store.transaction() as conn:
        bad = _bad_config(conn, all_keys=all_keys)  # again, under the lock
        for key, _value, _problem in bad:
            conn.execute("DELETE FROM config WHERE key = ?", [key])
        if rebuild and any(key == "scheduler" for key, _, _ in bad):
            store._rebuild_all(conn, "sm2")
    where = str(store.path) if store.path is not None else "the database"
    for key, value, problem in bad:
        store._warn(f"{where}: config {key!r} held {value!r}, which is {problem}; reset to its default")
    return [key for key, _, _ in bad]


def _replay_setting_aside(
    store: Store, item_id: str, rows: list[dict[str, Any]], scheduler: str, removed: list[tuple[int, str]]
):
    """Replay ``rows``, dropping each row replay fails on (noted in ``removed``). None when no row is left."""
    while rows:
        try:
            return store.replay(item_id, rows, scheduler)
        except DamagedRow as exc:
            damaged = next((r["id"] for r in rows if r["id"] == exc.row), None)
            if exc.table != "review_log" or damaged is None:
                raise
            removed.append((damaged, exc.problem))
            rows = [r for r in rows if r["id"] != exc.row]
    return None


def repair(store: Store, now: datetime) -> tuple[list[tuple[int, str]], int]:
    """Set aside ``review_log`` rows replay cannot read or compute, reset unusable config values and rebuild
    every ``card_state`` row from the log, all in one transaction. The caller makes a backup first (the
    removed rows stay in it). Returns ((row id, problem) removed, items rebuilt); notes go to ``store.warnings``."""
    aware(now)
    removed: list[tuple[int, str]] = []
    with store.transaction() as conn:
        reset_bad_config(store, all_keys=True, rebuild=False)  # every state is rebuilt below
        flagged = {r["id"]: r for r in checks.bad_log_rows(conn, limit=-1)}  # what opening refuses ...
        by_item: dict[str, list[dict[str, Any]]] = {}
        for r in store.db.query("SELECT * FROM review_log ORDER BY id"):  # ... and what replay cannot read
            try:
                checks.check_log_row(r, deep=True)
                if r["id"] in flagged:
                    removed.append((r["id"], checks.describe_log_row(r)))
                    continue
            except DamagedRow as exc:
                removed.append((r["id"], exc.problem))
                continue
            by_item.setdefault(r["item_id"], []).append(r)
        conn.execute("DELETE FROM card_state")
        name = store.scheduler_name  # valid: reset_bad_config ran
        n = 0
        for item_id, rows in by_item.items():
            state = _replay_setting_aside(store, item_id, rows, name, removed)
            if state is not None:
                card_id = next((r["card_id"] for r in reversed(rows) if r["card_id"]), None)
                store._write_state(conn, card_id or item_id.split("#")[0], state)
                n += 1
        removed.sort()
        conn.executemany("DELETE FROM review_log WHERE id = ?", [[rid] for rid, _ in removed])
    return removed, n


@dataclass
class RepairResult:
    backup: Backup | None = None
    """The backup made first (the database passed its checks and had data)."""
    damaged_copy: Path | None = None
    """The database copied aside first because tables were missing."""
    recreated: list[str] = field(default_factory=list)
    removed: list[tuple[int, str]] = field(default_factory=list)
    rebuilt: int = 0


def repair_database(store: Store, now: datetime) -> RepairResult:
    """``mi-prep backup repair`` (see the module doc). Raises StorageError, changing nothing, when only a
    backup can help."""
    from mi_prep.core.store.backups import copy_aside, make_backup, quick_problem
    from mi_prep.core.store.schema import missing_tables, recreate_missing

    aware(now)
    conn = store.db.conn
    path = store.path
    where = str(path) if path is not None else "the database"
    result = RepairResult()
    problem = quick_problem(conn)
    if problem is not None:
        todo = restore_or_start_over(path) if path is not None else "restore a backup"
        raise StorageError(
            f"{where} is damaged ({problem}); repair cannot fix that and changed nothing (no backup "
            f"was made of it); {todo}",
            path=path,
            reason="corrupt",
        )
    missing = missing_tables(conn)
    if "review_log" in missing:
        todo = restore_or_start_over(path, recover=False) if path is not None else "restore a backup"
        raise StorageError(
            f"{where} has no review_log table, so its review history is gone; repair changed nothing; {todo}",
            path=path,
            reason="corrupt",
        )
    if missing:
        if path is not None:
            result.damaged_copy = copy_aside(conn, path, now)
        with store.transaction() as tx:
            result.recreated = recreate_missing(tx)
    elif path is not None and store.has_data():
        result.backup = make_backup(conn, path, now, checked=True)
    result.removed, result.rebuilt = repair(store, now)
    return result


__all__ = ["rebuild_items", "reset_bad_config", "repair", "repair_database", "RepairResult"]
