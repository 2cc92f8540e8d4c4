"""The Store: config, card state and the events that change it (every SQL statement lives in this package).

* WAL journal, a busy timeout, autocommit connections and every write in one explicit
  ``BEGIN IMMEDIATE`` transaction, so two running copies never corrupt each other and a killed
  process never leaves half a change (answer = state + log row; scheduler switch = config + every
  state, in one transaction).
* ``review_log`` is append-only. Undo appends an ``undo`` event pointing at the event it cancels
  (and restores that event's ``state_before``); :meth:`Store.replay_item` rebuilds any item's state
  from the log alone, skipping undone events, and must equal the ``card_state`` row (tested). Appending
  and the queries over the log: :mod:`~mi_prep.core.store.review_log`; replay: :mod:`~mi_prep.core.store.replay`.
* History is keyed by item id (card id, ``id#rev``, ``id#cN``, ``lab:NAME``), so editing or deleting a
  card in YAML never loses its history.
* Storage problems (damaged, read-only, full, locked, newer schema, hand-edited rows) surface as
  :class:`StorageError` with a one-line message, raised by :func:`open_store` and every public method.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mi_prep.core import settings
from mi_prep.core.scheduling import SCHEDULERS, CardState, Rating, Scheduler, aware, get_scheduler
from mi_prep.core.store import checks
from mi_prep.core.store import replay as replaying
from mi_prep.core.store.backups import Backup, make_backup
from mi_prep.core.store.connection import Database
from mi_prep.core.store.errors import DamagedRow, check_summary
from mi_prep.core.store.guard import GuardedTransaction, guard_public_methods
from mi_prep.core.store.review_log import LogEntry, ReviewLogReads, append_event, last_undoable
from mi_prep.core.store.schema import has_data

__all__ = ["Store", "LogEntry", "utc"]

_DEFAULT: Any = object()


class Store(ReviewLogReads):
    """The database: config, card state and events (review-log queries: :class:`ReviewLogReads`)."""

    def __init__(self, path: Path | str, *, now: datetime | None = None, check_rows: bool = True) -> None:
        """Open (creating and migrating) the database at ``path`` (or ``":memory:"``).

        Before a migration of a database that holds data, a backup is written to ``backups/``
        (named after ``now``, default: the current time). With ``check_rows``, unreadable
        ``card_state`` rows are rebuilt from the log (noted in :attr:`warnings`) and an unreadable
        ``review_log`` row raises StorageError (see :mod:`mi_prep.core.store.opening`).
        """
        from mi_prep.core.store.opening import open_database

        self.path = Path(path) if str(path) != ":memory:" else None
        self.warnings: list[str] = []
        """Problems found and fixed while opening (one line each), for the UI to show."""
        self.db: Database
        self._states: tuple[tuple[int, int], dict[str, CardState]] | None = None
        """Every item's state, with the database version it was read at (see :meth:`states`)."""
        open_database(self, now, check_rows)  # sets self.db

    def close(self) -> None:
        """Fold the WAL into the main file (so the data never lives only in ``-wal``), then close."""
        try:
            if self.path is not None:
                self.db.conn.execute("PRAGMA wal_checkpoint(PASSIVE)")
        except sqlite3.Error:
            pass  # read-only, damaged or busy: closing must still work
        self.db.conn.close()

    # ---- transactions -------------------------------------------------------
    def transaction(self) -> GuardedTransaction:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock up front (waits up to the busy timeout).

        Storage failures inside the block (and at commit) are raised as :class:`StorageError`."""
        return GuardedTransaction(self)

    # ---- config -------------------------------------------------------------
    def _where(self) -> str:
        return str(self.path) if self.path is not None else "the database"

    def _warn(self, message: str) -> None:
        if message not in self.warnings:
            self.warnings.append(message)

    def get_config(self, key: str, default: Any = _DEFAULT) -> Any:
        """The setting, or ``default`` when unset (for a known key: its default in :mod:`mi_prep.core.settings`). A known key (:data:`mi_prep.core.settings.SETTINGS`) always comes back
        usable: a hand-edited bad value reads as ``default`` (with a note in :attr:`warnings`; the next start
        or ``backup repair`` deletes it). An unknown key that is not JSON raises DamagedRow."""
        if default is _DEFAULT:
            default = settings.SETTINGS[key].default if key in settings.SETTINGS else None
        row = self.db.execute("SELECT value FROM config WHERE key = ?", [key]).fetchone()
        if not row:
            return default
        problem = settings.stored_problem(key, row[0])
        if problem is None:
            return json.loads(row[0])
        if key in settings.SETTINGS:
            self._warn(
                f"{self._where()}: config {key!r} holds {row[0]!r}, which is {problem}; using its default "
                f"(mi-prep resets it the next time it starts)"
            )
            return default
        raise DamagedRow("config", key, f"value={row[0]!r} is not JSON")

    def set_config(self, key: str, value: Any) -> None:
        """Store a setting (``None`` deletes it). A known key with a value it cannot use raises ValueError."""
        problem = settings.value_problem(key, value) if value is not None else None
        if problem is not None:
            raise ValueError(f"config {key!r}: {value!r} is {problem}")
        with self.transaction() as conn:
            self._set_config(conn, key, value)

    @staticmethod
    def _set_config(conn: sqlite3.Connection, key: str, value: Any) -> None:
        if value is None:
            conn.execute("DELETE FROM config WHERE key = ?", [key])
        else:
            conn.execute("INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)", [key, json.dumps(value)])

    def all_config(self) -> dict[str, Any]:
        """Every stored setting; a known key with an unusable value is left out (it means its default)."""
        out = {}
        for k, v in self.db.execute("SELECT key, value FROM config").fetchall():
            problem = settings.stored_problem(k, v)
            if problem is None:
                out[k] = json.loads(v)
            elif k in settings.SETTINGS:
                self._warn(
                    f"{self._where()}: config {k!r} holds {v!r}, which is {problem}; using its default "
                    f"(mi-prep resets it the next time it starts)"
                )
            else:
                raise DamagedRow("config", k, f"value={v!r} is not JSON")
        return out

    @property
    def scheduler_name(self) -> str:
        name = self.get_config("scheduler")
        return name if name in SCHEDULERS else settings.default("scheduler")  # get_config already checked it

    def scheduler(self) -> Scheduler:
        return get_scheduler(self.scheduler_name)

    # ---- state --------------------------------------------------------------
    def state(self, item_id: str) -> CardState | None:
        rows = list(self.db.query("SELECT * FROM card_state WHERE item_id = ?", [item_id]))
        return checks.parse_state(rows[0]) if rows else None

    def _version(self) -> tuple[int, int]:
        """Changes whenever the database does: ``PRAGMA data_version`` counts commits by other connections
        (another mi-prep), ``total_changes`` the rows this connection wrote."""
        return self.db.execute("PRAGMA data_version").fetchone()[0], self.db.conn.total_changes

    def states(self, prefix: str = "") -> dict[str, CardState]:
        """Every item's state, or only those whose id starts with ``prefix`` (e.g. ``lab:``).

        The full read is kept until the database changes (by this or any other connection), so the
        several views of one screen (counts, queue, statistics) parse the table once."""
        if not prefix:
            version = self._version()
            if self._states is None or self._states[0] != version:
                rows = self.db.query("SELECT * FROM card_state")
                self._states = version, {r["item_id"]: checks.parse_state(r) for r in rows}
            return dict(self._states[1])
        rows = self.db.query("SELECT * FROM card_state WHERE substr(item_id, 1, ?) = ?", [len(prefix), prefix])
        return {r["item_id"]: checks.parse_state(r) for r in rows}

    def _write_state(self, conn: sqlite3.Connection, card_id: str | None, state: CardState) -> None:
        row = state.to_row()
        row["card_id"] = card_id
        cols = ", ".join(row)
        conn.execute(
            f"INSERT OR REPLACE INTO card_state ({cols}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
        )

    def _append(self, conn: sqlite3.Connection, **event: Any) -> int:
        return append_event(conn, **event)

    def _current(self, item_id: str) -> CardState:
        return self.state(item_id) or CardState(item_id=item_id, scheduler=self.scheduler_name)

    # ---- events -------------------------------------------------------------
    def answer(
        self,
        item_id: str,
        rating: Rating | int,
        now: datetime,
        *,
        card_id: str | None = None,
        elapsed_ms: int = 0,
        max_interval: float | None = None,
        source: str = "review",
        leeches: bool = True,
    ) -> CardState:
        """Grade one item and persist state + log entry in a single transaction.

        The interval is capped at ``max_interval`` (an interview date) and the ``max-interval`` setting,
        whichever is lower; the cap used is logged with the answer. A lapse that reaches the
        ``leech-threshold`` setting tags the item a leech and suspends it (the threshold is logged too,
        so replay does the same; ``leeches=False`` for items that are not cards, such as labs)."""
        aware(now)
        rating = Rating(int(rating))
        setting_cap = self.get_config("max-interval")
        max_interval = setting_cap if max_interval is None else min(float(max_interval), float(setting_cap))
        leech = int(self.get_config("leech-threshold")) if leeches else 0
        with self.transaction() as conn:
            before = self._current(item_id)
            try:
                after = get_scheduler(before.scheduler if before.phase != "new" else self.scheduler_name).review(
                    before, rating, now, max_interval=max_interval
                )
            except OverflowError:  # e.g. interval=1e9 edited in: the next due date is past the year 9999
                raise DamagedRow(
                    "card_state", item_id, f"interval={before.interval!r} is too large to schedule"
                ) from None
            after = replaying.leech_check(before, after, leech)
            self._write_state(conn, card_id or item_id.split("#")[0], after)
            self._append(
                conn,
                item_id=item_id,
                card_id=card_id or item_id.split("#")[0],
                kind="review",
                now=now,
                before=before,
                after=after,
                rating=int(rating),
                elapsed_ms=elapsed_ms,
                max_interval=max_interval,
                source=source,
                data={"leech": leech} if leech else None,
            )
        return after

    def cram(
        self, item_id: str, rating: Rating | int, now: datetime, *, card_id: str | None = None, elapsed_ms: int = 0
    ) -> CardState:
        """Log a cram answer ("study more" on a card that is not due): a ``cram`` event that changes no
        scheduling state and stays out of retention statistics. Returns the (unchanged) state."""
        aware(now)
        rating = Rating(int(rating))
        with self.transaction() as conn:
            state = self._current(item_id)
            self._append(
                conn,
                item_id=item_id,
                card_id=card_id or item_id.split("#")[0],
                kind="cram",
                now=now,
                before=state,
                after=state,
                rating=int(rating),
                elapsed_ms=elapsed_ms,
                source="cram",
            )
        return state

    def apply_rating(
        self,
        item_id: str,
        rating: Rating | int,
        now: datetime,
        elapsed_ms: int = 0,
        source: str = "lab",
        max_interval: float | None = None,
    ) -> CardState:
        """Schedule a non-card item (a lab, ``lab:NAME``) from a computed rating (never a leech: a lab's
        score is computed from a fresh run, so a lab is not suspended for failing)."""
        return self.answer(
            item_id,
            rating,
            now,
            card_id=item_id,
            elapsed_ms=elapsed_ms,
            source=source,
            max_interval=max_interval,
            leeches=False,
        )

    def _event(
        self,
        item_id: str,
        kind: str,
        now: datetime,
        change: Callable[[CardState], CardState],
        data: dict[str, Any] | None = None,
        source: str = "review",
    ) -> CardState:
        aware(now)
        with self.transaction() as conn:
            before = self._current(item_id)
            after = change(before)
            card_id = item_id.split("#")[0]
            self._write_state(conn, card_id, after)
            self._append(
                conn,
                item_id=item_id,
                card_id=card_id,
                kind=kind,
                now=now,
                before=before,
                after=after,
                data=data,
                source=source,
            )
        return after

    def suspend(self, item_id: str, now: datetime) -> CardState:
        return self._event(item_id, "suspend", now, lambda s: s.evolve(suspended=True))

    def unsuspend(self, item_id: str, now: datetime) -> CardState:
        return self._event(item_id, "unsuspend", now, lambda s: s.evolve(suspended=False))

    def bury(self, item_id: str, now: datetime, until: datetime) -> CardState:
        return self._event(item_id, "bury", now, lambda s: s.evolve(buried_until=until), {"until": until.isoformat()})

    def boost(self, item_id: str, now: datetime, due: datetime, source: str = "drill") -> CardState:
        """Make an item due no later than ``due`` (drills bring missed topics forward)."""

        def change(s: CardState) -> CardState:
            if s.phase == "new" or (s.due is not None and s.due <= due):
                return s
            return s.evolve(due=due)

        return self._event(item_id, "boost", now, change, {"due": due.isoformat()}, source)

    def undo_last(self, now: datetime, source: str = "review") -> str | None:
        """Undo the most recent not-yet-undone event from ``source``. Returns its item id."""
        undone = self.undo_last_event(now, source)
        return undone.item_id if undone is not None else None

    def undo_last_event(self, now: datetime, source: str = "review") -> LogEntry | None:
        """Undo the most recent not-yet-undone event from ``source``; returns that event (what was undone).

        The item's state is then rebuilt by replaying its log without the undone event, so it always
        equals what replay gives, even when later events from other sources (a drill's boost) exist."""
        aware(now)
        with self.transaction() as conn:
            row = last_undoable(conn, source)
            if row is None:
                return None
            log_id, item_id, card_id, state_before = row
            checks.state_from_json(state_before, "review_log", log_id)  # a damaged row is named, not replayed
            current = self._current(item_id)
            rows = self.log_rows(item_id)
            undone = next(LogEntry.from_row(r) for r in rows if r["id"] == log_id)
            restored = self.replay(item_id, [r for r in rows if r["id"] != log_id], self.scheduler_name)
            self._write_state(conn, card_id, restored)
            self._append(
                conn,
                item_id=item_id,
                card_id=card_id,
                kind="undo",
                now=now,
                before=current,
                after=restored,
                ref_id=log_id,
                source=source,
            )
        return undone

    # ---- replay -------------------------------------------------------------
    replay = staticmethod(replaying.replay)
    """Rebuild an item's state from its log rows alone (see :func:`mi_prep.core.store.replay.replay`)."""

    def replay_item(self, item_id: str, scheduler: str | None = None) -> CardState:
        """Replay under ``scheduler`` (default: the collection's, which :meth:`set_scheduler` applied to all
        history)."""
        return self.replay(item_id, self.log_rows(item_id), scheduler or self.scheduler_name)

    def _rebuild_all(self, conn: sqlite3.Connection, scheduler: str) -> int:
        """Inside a transaction: recompute every ``card_state`` row from the log, read under the same lock."""
        by_item: dict[str, list[dict[str, Any]]] = {}
        cards: dict[str, str] = {}
        for r in self.db.query("SELECT * FROM review_log ORDER BY id"):
            by_item.setdefault(r["item_id"], []).append(r)
            cards[r["item_id"]] = r["card_id"]
        for item_id, rows in by_item.items():
            self._write_state(conn, cards[item_id] or item_id.split("#")[0], self.replay(item_id, rows, scheduler))
        return len(by_item)

    def rebuild(self, scheduler: str | None = None) -> int:
        """Recompute every ``card_state`` row from the log (optionally under another scheduler), in one transaction."""
        with self.transaction() as conn:
            return self._rebuild_all(conn, scheduler or self.scheduler_name)

    def set_scheduler(self, name: str) -> int:
        """Switch the collection's scheduler; existing histories are replayed under it.

        The setting and every rebuilt state are written in ONE transaction: a crash leaves either
        the old scheduler with the old states or the new one with the new states."""
        get_scheduler(name)  # validates
        with self.transaction() as conn:
            self._set_config(conn, "scheduler", name)
            return self._rebuild_all(conn, name)

    # ---- maintenance --------------------------------------------------------
    def quick_check(self) -> str:
        """``PRAGMA quick_check``: ``"ok"`` or SQLite's first complaint."""
        return check_summary(self.db.execute("PRAGMA quick_check").fetchall())

    def integrity_check(self) -> str:
        return check_summary(self.db.execute("PRAGMA integrity_check").fetchall())

    def has_data(self) -> bool:
        return has_data(self.db.conn)

    def backup(self, now: datetime) -> Backup:
        """Write a backup now (rotated like the daily one). A database failing its checks is refused
        (StorageError, nothing written): the good backups stay."""
        if self.path is None:
            raise ValueError("an in-memory database has no backups")
        return make_backup(self.db.conn, self.path, now)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(UTC)


guard_public_methods(Store)
