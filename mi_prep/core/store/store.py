"""The Store: card state, the append-only review log, config (every SQL statement lives in this package).

* WAL journal, a busy timeout, autocommit connections and every write in one explicit
  ``BEGIN IMMEDIATE`` transaction, so two running copies never corrupt each other and a killed
  process never leaves half a change (answer = state + log row; scheduler switch = config + every
  state, in one transaction).
* ``review_log`` is append-only. Undo appends an ``undo`` event pointing at the event it cancels
  (and restores that event's ``state_before``); :meth:`Store.replay_item` rebuilds any item's state
  from the log alone, skipping undone events, and must equal the ``card_state`` row (tested).
* History is keyed by item id (card id, ``id#rev``, ``id#cN``, ``lab:NAME``), so editing or deleting a
  card in YAML never loses its history.
* Storage problems (damaged, read-only, full, locked, newer schema, hand-edited rows) surface as
  :class:`StorageError` with a one-line message, raised by :func:`open_store` and every public method.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable

import sqlite_utils

from mi_prep.core import settings
from mi_prep.core.scheduling import SCHEDULERS, CardState, Rating, Scheduler, aware, day_start, get_scheduler
from mi_prep.core.store import checks
from mi_prep.core.store.errors import DamagedRow, check_summary
from mi_prep.core.store.guard import GuardedTransaction, guard_public_methods
from mi_prep.core.store.schema import has_data


@dataclass(frozen=True)
class LogEntry:
    id: int
    item_id: str
    kind: str
    ts: datetime
    rating: int | None
    elapsed_ms: int | None
    source: str | None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> "LogEntry":
        ts = checks.aware(row["ts_local"] or row["ts"], "ts", "review_log", row["id"])
        return cls(row["id"], row["item_id"], row["kind"], ts, row["rating"], row["elapsed_ms"], row["source"])


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat() if dt is not None else None


_DEFAULT: Any = object()


class Store:
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
        self.db: sqlite_utils.Database
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
            self._warn(f"{self._where()}: config {key!r} holds {row[0]!r}, which is {problem}; using its default "
                       f"(mi-prep resets it the next time it starts)")
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
                self._warn(f"{self._where()}: config {k!r} holds {v!r}, which is {problem}; using its default "
                           f"(mi-prep resets it the next time it starts)")
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

    def states(self, prefix: str = "") -> dict[str, CardState]:
        """Every item's state, or only those whose id starts with ``prefix`` (e.g. ``lab:``)."""
        if not prefix:
            return {r["item_id"]: checks.parse_state(r) for r in self.db.query("SELECT * FROM card_state")}
        rows = self.db.query("SELECT * FROM card_state WHERE substr(item_id, 1, ?) = ?", [len(prefix), prefix])
        return {r["item_id"]: checks.parse_state(r) for r in rows}

    def _write_state(self, conn: sqlite3.Connection, card_id: str, state: CardState) -> None:
        row = state.to_row()
        row["card_id"] = card_id
        cols = ", ".join(row)
        conn.execute(
            f"INSERT OR REPLACE INTO card_state ({cols}) VALUES ({', '.join('?' for _ in row)})", list(row.values())
        )

    def _append(self, conn: sqlite3.Connection, *, item_id: str, card_id: str, kind: str, now: datetime,
                before: CardState, after: CardState, rating: int | None = None, elapsed_ms: int | None = None,
                max_interval: float | None = None, ref_id: int | None = None, source: str = "review",
                data: dict[str, Any] | None = None) -> int:
        cur = conn.execute(
            """INSERT INTO review_log (item_id, card_id, kind, ts, ts_local, rating, elapsed_ms, interval_before,
               interval_after, ease, scheduler, phase_before, phase_after, due_after, max_interval, ref_id, source,
               state_before, data) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
            [item_id, card_id, kind, _iso(now), now.isoformat(), rating, elapsed_ms, before.interval, after.interval,
             after.ease, after.scheduler, before.phase, after.phase, _iso(after.due), max_interval, ref_id, source,
             json.dumps(before.to_row()), json.dumps(data) if data else None],
        )
        return int(cur.lastrowid)

    def _current(self, item_id: str) -> CardState:
        return self.state(item_id) or CardState(item_id=item_id, scheduler=self.scheduler_name)

    # ---- events -------------------------------------------------------------
    def answer(self, item_id: str, rating: Rating | int, now: datetime, *, card_id: str | None = None,
               elapsed_ms: int = 0, max_interval: float | None = None, source: str = "review") -> CardState:
        """Grade one item and persist state + log entry in a single transaction."""
        aware(now)
        rating = Rating(int(rating))
        with self.transaction() as conn:
            before = self._current(item_id)
            try:
                after = get_scheduler(before.scheduler if before.phase != "new" else self.scheduler_name).review(
                    before, rating, now, max_interval=max_interval
                )
            except OverflowError:  # e.g. interval=1e9 edited in: the next due date is past the year 9999
                raise DamagedRow("card_state", item_id, f"interval={before.interval!r} is too large to schedule") \
                    from None
            self._write_state(conn, card_id or item_id.split("#")[0], after)
            self._append(conn, item_id=item_id, card_id=card_id or item_id.split("#")[0], kind="review", now=now,
                         before=before, after=after, rating=int(rating), elapsed_ms=elapsed_ms,
                         max_interval=max_interval, source=source)
        return after

    def apply_rating(self, item_id: str, rating: Rating | int, now: datetime, elapsed_ms: int = 0,
                     source: str = "lab", max_interval: float | None = None) -> CardState:
        """Schedule a non-card item (a lab, ``lab:NAME``) from a computed rating."""
        return self.answer(item_id, rating, now, card_id=item_id, elapsed_ms=elapsed_ms, source=source,
                           max_interval=max_interval)

    def _event(self, item_id: str, kind: str, now: datetime, change: Callable[[CardState], CardState],
               data: dict[str, Any] | None = None, source: str = "review") -> CardState:
        aware(now)
        with self.transaction() as conn:
            before = self._current(item_id)
            after = change(before)
            card_id = item_id.split("#")[0]
            self._write_state(conn, card_id, after)
            self._append(conn, item_id=item_id, card_id=card_id, kind=kind, now=now, before=before, after=after,
                         data=data, source=source)
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
        aware(now)
        with self.transaction() as conn:
            row = conn.execute(
                """SELECT id, item_id, card_id, state_before FROM review_log
                   WHERE kind != 'undo' AND source = ? AND id NOT IN
                   (SELECT ref_id FROM review_log WHERE kind = 'undo' AND ref_id IS NOT NULL)
                   ORDER BY id DESC LIMIT 1""",
                [source],
            ).fetchone()
            if row is None:
                return None
            log_id, item_id, card_id, state_before = row
            restored = checks.state_from_json(state_before, "review_log", log_id)
            current = self._current(item_id)
            self._write_state(conn, card_id, restored)
            self._append(conn, item_id=item_id, card_id=card_id, kind="undo", now=now, before=current,
                         after=restored, ref_id=log_id, source=source)
        return item_id

    # ---- replay -------------------------------------------------------------
    def log_rows(self, item_id: str | None = None) -> list[dict[str, Any]]:
        if item_id is None:
            return list(self.db.query("SELECT * FROM review_log ORDER BY id"))
        return list(self.db.query("SELECT * FROM review_log WHERE item_id = ? ORDER BY id", [item_id]))

    def review_count(self, item_id: str) -> int:
        """How many answers the item has had (undone ones not counted)."""
        row = self.db.execute(
            """SELECT COUNT(*) FROM review_log r WHERE r.item_id = ? AND r.kind = 'review'
               AND NOT EXISTS (SELECT 1 FROM review_log u WHERE u.kind = 'undo' AND u.ref_id = r.id)""",
            [item_id],
        ).fetchone()
        return int(row[0])

    def history(self, item_id: str) -> list[LogEntry]:
        return [LogEntry.from_row(r) for r in self.log_rows(item_id)]

    @staticmethod
    def replay(item_id: str, rows: list[dict[str, Any]], scheduler: str | None = None,
               default_scheduler: str = "sm2") -> CardState:
        """Rebuild an item's state from its log rows alone (undone events skipped).

        A row replay cannot use raises :class:`DamagedRow` (a ValueError) naming it."""
        undone = {r["ref_id"] for r in rows if r["kind"] == "undo"}
        state = CardState(item_id=item_id, scheduler=scheduler or default_scheduler)
        for r in rows:
            checks.check_log_row(r)
            if r["kind"] == "undo" or r["id"] in undone:
                continue
            try:
                state = Store._replay_row(state, r, scheduler, default_scheduler)
            except DamagedRow:
                raise
            except (OverflowError, ValueError) as exc:  # dates past 9999, absurd numbers: edited by hand
                raise DamagedRow("review_log", r["id"], f"replaying it fails: {exc}") from None
        return state

    @staticmethod
    def _replay_row(state: CardState, r: dict[str, Any], scheduler: str | None, default_scheduler: str) -> CardState:
        now = datetime.fromisoformat(r["ts_local"] or r["ts"])
        data = json.loads(r["data"]) if r["data"] else {}
        if r["kind"] == "review":
            name = scheduler or (state.scheduler if state.phase != "new" else r["scheduler"] or default_scheduler)
            return get_scheduler(name).review(state, Rating(r["rating"]), now, max_interval=r["max_interval"])
        if r["kind"] == "suspend":
            return state.evolve(suspended=True)
        if r["kind"] == "unsuspend":
            return state.evolve(suspended=False)
        if r["kind"] == "bury":
            return state.evolve(buried_until=datetime.fromisoformat(data["until"]))
        if r["kind"] == "boost":
            due = datetime.fromisoformat(data["due"])
            if state.phase != "new" and state.due is not None and state.due > due:
                return state.evolve(due=due)
        return state

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

    # ---- counts -------------------------------------------------------------
    def today_counts(self, now: datetime) -> dict[str, int]:
        """Reviews done today (not undone): new cards introduced, review-phase answers, all answers."""
        start = _iso(day_start(now))
        rows = self.db.execute(
            """SELECT phase_before, COUNT(*) FROM review_log WHERE kind = 'review' AND ts >= ? AND source = 'review'
               AND id NOT IN (SELECT ref_id FROM review_log WHERE kind = 'undo' AND ref_id IS NOT NULL)
               GROUP BY phase_before""",
            [start],
        ).fetchall()
        counts = dict(rows)
        return {
            "new": counts.get("new", 0),
            "review": counts.get("review", 0),
            "total": sum(counts.values()),
        }

    def review_rows_since(self, since: datetime) -> list[dict[str, Any]]:
        return list(self.db.query(
            """SELECT * FROM review_log WHERE kind = 'review' AND ts >= ?
               AND id NOT IN (SELECT ref_id FROM review_log WHERE kind = 'undo' AND ref_id IS NOT NULL)
               ORDER BY id""",
            [_iso(since)],
        ))

    # ---- maintenance --------------------------------------------------------
    def quick_check(self) -> str:
        """``PRAGMA quick_check``: ``"ok"`` or SQLite's first complaint."""
        return check_summary(self.db.execute("PRAGMA quick_check").fetchall())

    def integrity_check(self) -> str:
        return check_summary(self.db.execute("PRAGMA integrity_check").fetchall())

    def has_data(self) -> bool:
        return has_data(self.db.conn)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc)


guard_public_methods(Store)
