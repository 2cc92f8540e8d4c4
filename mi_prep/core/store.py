"""SQLite store (sqlite-utils): card state, an append-only event log, config, labs, drills.

* One file, ``<data dir>/mi-prep.db``; the data dir is ``--data-dir``, else ``$MI_PREP_HOME``,
  else platformdirs' user data dir.
* WAL journal, a busy timeout, and every answer written in one ``BEGIN IMMEDIATE``
  transaction, so two running copies never corrupt each other.
* ``review_log`` is append-only. Undo appends an ``undo`` event pointing at the event it
  cancels (and restores that event's ``state_before``); :meth:`Store.replay_item` rebuilds
  any item's state from the log alone, skipping undone events, and must equal the
  incrementally kept ``card_state`` row (tested).
* History is keyed by item id (card id, ``id#rev``, ``id#cN``, ``lab:NAME``), so editing or
  deleting a card in YAML never loses its history.
"""

from __future__ import annotations

import json
import os
import sqlite3
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Callable, Iterator

import sqlite_utils

from mi_prep.core.schedule import CardState, Rating, Scheduler, _aware, day_start, get_scheduler

DB_NAME = "mi-prep.db"
BUSY_TIMEOUT_MS = 10_000


def default_data_dir() -> Path:
    env = os.environ.get("MI_PREP_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("mi-prep", appauthor=False))


# --------------------------------------------------------------------------- migrations
# Small numbered functions (after simonw/llm). Never edit a released one; append a new one.


def m001_initial(db: sqlite_utils.Database) -> None:
    db["card_state"].create(
        {
            "item_id": str, "card_id": str, "scheduler": str, "phase": str, "due": str, "interval": float,
            "ease": float, "reps": int, "lapses": int, "last_review": str, "step": int,
            "stability": float, "difficulty": float, "suspended": int, "buried_until": str,
        },
        pk="item_id",
        not_null={"scheduler", "phase"},
    )
    db["card_state"].create_index(["due"])
    db["card_state"].create_index(["card_id"])
    db["review_log"].create(
        {
            "id": int, "item_id": str, "card_id": str, "kind": str, "ts": str, "ts_local": str,
            "rating": int, "elapsed_ms": int, "interval_before": float, "interval_after": float,
            "ease": float, "scheduler": str, "phase_before": str, "phase_after": str, "due_after": str,
            "max_interval": float, "ref_id": int, "source": str, "state_before": str, "data": str,
        },
        pk="id",
        not_null={"item_id", "kind", "ts"},
    )
    db["review_log"].create_index(["item_id", "id"])
    db["review_log"].create_index(["ts"])
    db["config"].create({"key": str, "value": str}, pk="key")


def m002_labs_and_drills(db: sqlite_utils.Database) -> None:
    db["lab_runs"].create(
        {
            "id": int, "lab": str, "seed": int, "device": str, "params": str, "started": str, "finished": str,
            "status": str, "result": str, "score": float, "error": str,
        },
        pk="id",
    )
    db["lab_runs"].create_index(["lab", "started"])
    db["lab_answers"].create(
        {"id": int, "run_id": int, "question_id": str, "answer": str, "score": float, "correct": int, "ts": str},
        pk="id",
        foreign_keys=[("run_id", "lab_runs", "id")],
    )
    db["drills"].create(
        {
            "id": int, "seed": int, "started": str, "finished": str, "minutes": float, "topics": str,
            "plan": str, "report": str, "paused_ms": int, "score": float, "status": str,
        },
        pk="id",
    )
    db["drill_answers"].create(
        {
            "id": int, "drill_id": int, "idx": int, "item_id": str, "kind": str, "topic": str, "prompt": str,
            "answer": str, "points": str, "score": float, "elapsed_ms": int, "timed_out": int, "ts": str,
        },
        pk="id",
        foreign_keys=[("drill_id", "drills", "id")],
    )


MIGRATIONS: list[Callable[[sqlite_utils.Database], None]] = [m001_initial, m002_labs_and_drills]


def migrate(db: sqlite_utils.Database) -> list[str]:
    """Apply pending migrations, each in its own transaction. Returns the names applied."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    done = {row[0] for row in db.execute("SELECT name FROM _migrations").fetchall()}
    applied = []
    for fn in MIGRATIONS:
        if fn.__name__ in done:
            continue
        with db.conn:
            fn(db)
            db.execute(
                "INSERT INTO _migrations (name, applied_at) VALUES (?, ?)",
                [fn.__name__, datetime.now(timezone.utc).isoformat()],  # audit only, never read by logic
            )
        applied.append(fn.__name__)
    return applied


# --------------------------------------------------------------------------- store


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
        return cls(row["id"], row["item_id"], row["kind"], datetime.fromisoformat(row["ts_local"] or row["ts"]),
                   row["rating"], row["elapsed_ms"], row["source"])


def _iso(dt: datetime | None) -> str | None:
    return dt.astimezone(timezone.utc).isoformat() if dt is not None else None


class Store:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path) if path != ":memory:" else None
        conn = sqlite3.connect(str(path), timeout=BUSY_TIMEOUT_MS / 1000, check_same_thread=False)
        self.db = sqlite_utils.Database(conn)
        self.db.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        if self.path is not None:
            self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute("PRAGMA synchronous = NORMAL")
        self.db.execute("PRAGMA foreign_keys = ON")
        migrate(self.db)

    def close(self) -> None:
        self.db.conn.close()

    # ---- transactions -------------------------------------------------------
    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        """``BEGIN IMMEDIATE`` ... ``COMMIT``: takes the write lock up front (waits up to the busy timeout)."""
        conn = self.db.conn
        if conn.in_transaction:
            conn.commit()
        conn.execute("BEGIN IMMEDIATE")
        try:
            yield conn
        except BaseException:
            conn.execute("ROLLBACK")
            raise
        conn.execute("COMMIT")

    # ---- config -------------------------------------------------------------
    def get_config(self, key: str, default: Any = None) -> Any:
        row = self.db.execute("SELECT value FROM config WHERE key = ?", [key]).fetchone()
        return json.loads(row[0]) if row else default

    def set_config(self, key: str, value: Any) -> None:
        with self.transaction() as conn:
            if value is None:
                conn.execute("DELETE FROM config WHERE key = ?", [key])
            else:
                conn.execute("INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)", [key, json.dumps(value)])

    def all_config(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM config").fetchall()}

    @property
    def scheduler_name(self) -> str:
        return self.get_config("scheduler", "sm2")

    def scheduler(self) -> Scheduler:
        return get_scheduler(self.scheduler_name)

    # ---- state --------------------------------------------------------------
    def state(self, item_id: str) -> CardState | None:
        rows = list(self.db.query("SELECT * FROM card_state WHERE item_id = ?", [item_id]))
        return CardState.from_row(rows[0]) if rows else None

    def states(self, prefix: str = "") -> dict[str, CardState]:
        """Every item's state, or only those whose id starts with ``prefix`` (e.g. ``lab:``)."""
        if not prefix:
            return {r["item_id"]: CardState.from_row(r) for r in self.db.query("SELECT * FROM card_state")}
        rows = self.db.query("SELECT * FROM card_state WHERE substr(item_id, 1, ?) = ?", [len(prefix), prefix])
        return {r["item_id"]: CardState.from_row(r) for r in rows}

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
        _aware(now)
        rating = Rating(int(rating))
        with self.transaction() as conn:
            before = self._current(item_id)
            after = get_scheduler(before.scheduler if before.phase != "new" else self.scheduler_name).review(
                before, rating, now, max_interval=max_interval
            )
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
        _aware(now)
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
        _aware(now)
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
            restored = CardState.from_row(json.loads(state_before))
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
        """Rebuild an item's state from its log rows alone (undone events skipped)."""
        undone = {r["ref_id"] for r in rows if r["kind"] == "undo"}
        state = CardState(item_id=item_id, scheduler=scheduler or default_scheduler)
        for r in rows:
            if r["kind"] == "undo" or r["id"] in undone:
                continue
            now = datetime.fromisoformat(r["ts_local"] or r["ts"])
            data = json.loads(r["data"]) if r["data"] else {}
            if r["kind"] == "review":
                name = scheduler or (state.scheduler if state.phase != "new" else r["scheduler"])
                state = get_scheduler(name).review(state, Rating(r["rating"]), now, max_interval=r["max_interval"])
            elif r["kind"] == "suspend":
                state = state.evolve(suspended=True)
            elif r["kind"] == "unsuspend":
                state = state.evolve(suspended=False)
            elif r["kind"] == "bury":
                state = state.evolve(buried_until=datetime.fromisoformat(data["until"]))
            elif r["kind"] == "boost":
                due = datetime.fromisoformat(data["due"])
                if state.phase != "new" and state.due is not None and state.due > due:
                    state = state.evolve(due=due)
            else:
                raise ValueError(f"unknown event kind {r['kind']!r} in review_log row {r['id']}")
        return state

    def replay_item(self, item_id: str, scheduler: str | None = None) -> CardState:
        """Replay under ``scheduler`` (default: the collection's, which :meth:`set_scheduler` applied to all history)."""
        return self.replay(item_id, self.log_rows(item_id), scheduler or self.scheduler_name)

    def rebuild(self, scheduler: str | None = None) -> int:
        """Recompute every ``card_state`` row from the log (optionally under another scheduler)."""
        by_item: dict[str, list[dict[str, Any]]] = {}
        cards: dict[str, str] = {}
        for r in self.log_rows():
            by_item.setdefault(r["item_id"], []).append(r)
            cards[r["item_id"]] = r["card_id"]
        with self.transaction() as conn:
            for item_id, rows in by_item.items():
                self._write_state(conn, cards[item_id], self.replay(item_id, rows, scheduler or self.scheduler_name))
        return len(by_item)

    def set_scheduler(self, name: str) -> int:
        """Switch the collection's scheduler; existing histories are replayed under it."""
        get_scheduler(name)  # validates
        self.set_config("scheduler", name)
        return self.rebuild(name)

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


def open_store(data_dir: Path | str | None = None) -> Store:
    """Open (creating and migrating) the store in ``data_dir`` (default: :func:`default_data_dir`)."""
    if data_dir == ":memory:":
        return Store(":memory:")
    path = Path(data_dir) if data_dir is not None else default_data_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise OSError(f"cannot create data directory {path}: {exc.strerror}; pass --data-dir or set MI_PREP_HOME") from exc
    return Store(path / DB_NAME)


def utc(dt: datetime) -> datetime:
    return dt.astimezone(timezone.utc)


__all__ = ["Store", "open_store", "default_data_dir", "migrate", "MIGRATIONS", "LogEntry"]
