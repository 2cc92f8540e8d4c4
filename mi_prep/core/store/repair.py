"""Repairs: rebuilding ``card_state`` rows from the log, setting aside ``review_log`` rows nobody can read."""

from __future__ import annotations

import json
from datetime import datetime
from typing import TYPE_CHECKING

from mi_prep.core.schedule import _aware
from mi_prep.core.store import checks
from mi_prep.core.store.errors import DamagedRow, StorageError

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.core.store.store import Store


def rebuild_items(store: "Store", item_ids: list[str]) -> None:
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


def repair(store: "Store", now: datetime) -> tuple[list[tuple[int, str]], int]:
    """Set aside ``review_log`` rows replay cannot read, reset unreadable config values and rebuild every
    ``card_state`` row from the log, all in one transaction. The caller makes a backup first (the removed
    rows stay in it). Returns ((row id, problem) removed, items rebuilt); notes go to ``store.warnings``."""
    _aware(now)
    removed: list[tuple[int, str]] = []
    with store.transaction() as conn:
        for key, value in conn.execute("SELECT key, value FROM config").fetchall():
            try:
                json.loads(value)
            except (TypeError, ValueError):
                conn.execute("DELETE FROM config WHERE key = ?", [key])
                store.warnings.append(f"config {key!r} held {value!r}, which is not JSON; reset to its default")
        flagged = {r["id"]: r for r in checks.bad_log_rows(conn, limit=-1)}  # what opening refuses ...
        for r in store.db.query("SELECT * FROM review_log ORDER BY id"):  # ... and what replay cannot read
            try:
                checks.check_log_row(r, deep=True)
                if r["id"] in flagged:
                    removed.append((r["id"], checks.describe_log_row(r)))
            except DamagedRow as exc:
                removed.append((r["id"], exc.problem))
        conn.executemany("DELETE FROM review_log WHERE id = ?", [[rid] for rid, _ in removed])
        conn.execute("DELETE FROM card_state")
        try:
            name = store.get_config("scheduler", "sm2")
        except StorageError:
            name = None
        if name not in checks.SCHEDULERS:
            store._set_config(conn, "scheduler", "sm2")
            store.warnings.append(f"config 'scheduler' held {name!r}, which is not a scheduler; reset to 'sm2'")
            name = "sm2"
        n = store._rebuild_all(conn, name)
    return removed, n
