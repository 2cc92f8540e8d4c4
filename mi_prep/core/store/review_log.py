"""The review log (``review_log``): appending events and every query over them, as typed records.

* The log is append-only: :func:`append_event` is its one ``INSERT`` and runs inside the caller's
  transaction (the Store writes the item's new ``card_state`` in the same one). Nothing updates a row;
  undo appends an ``undo`` event pointing at the event it cancels.
* :class:`ReviewLogReads` holds the Store's read queries (mixed into :class:`~mi_prep.core.store.Store`,
  whose guard turns storage failures into StorageError). "Not undone" means no ``undo`` event points at it.
"""

from __future__ import annotations

import json
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from mi_prep.core.scheduling import CardState, day_start
from mi_prep.core.store import checks
from mi_prep.core.store.connection import Database, inserted_id
from mi_prep.core.store.guard import guard_public_methods

NOT_UNDONE = "id NOT IN (SELECT ref_id FROM review_log WHERE kind = 'undo' AND ref_id IS NOT NULL)"
"""SQL condition: the row is not cancelled by an ``undo`` event."""


@dataclass(frozen=True)
class LogEntry:
    """One event of an item's history, as the card info screen lists it."""

    id: int
    item_id: str
    kind: str
    ts: datetime
    rating: int | None
    elapsed_ms: int | None
    source: str | None
    ref_id: int | None = None
    """For an ``undo``: the id of the event it cancels."""
    interval_after: float | None = None
    ease: float | None = None

    @classmethod
    def from_row(cls, row: dict[str, Any]) -> LogEntry:
        ts = checks.aware(row["ts_local"] or row["ts"], "ts", "review_log", row["id"])
        return cls(
            row["id"],
            row["item_id"],
            row["kind"],
            ts,
            row["rating"],
            row["elapsed_ms"],
            row["source"],
            row["ref_id"],
            row["interval_after"],
            row["ease"],
        )


@dataclass(frozen=True)
class ReviewRecord:
    """One answer (a ``review`` event), with what statistics need."""

    id: int
    item_id: str
    ts: datetime
    """When it was answered (UTC)."""
    rating: int
    interval_before: float | None
    phase_before: str | None

    @property
    def passed(self) -> bool:
        """Hard, Good or Easy."""
        return self.rating > 1


def iso_utc(dt: datetime | None) -> str | None:
    return dt.astimezone(UTC).isoformat() if dt is not None else None


def zone_key(dt: datetime) -> str | None:
    """The IANA zone name of ``dt`` (``Europe/Berlin``), or None for a fixed offset."""
    key = getattr(dt.tzinfo, "key", None)
    return key if isinstance(key, str) else None


def event_time(row: dict[str, Any]) -> datetime:
    """When a log row happened, in the zone it happened in (IANA zone when logged, else the fixed offset)."""
    from zoneinfo import ZoneInfo

    tz = row.get("tz")
    if tz:
        try:
            return datetime.fromisoformat(row["ts"]).astimezone(ZoneInfo(tz))
        except (ValueError, OSError, KeyError):
            pass  # an unknown zone (another machine's tzdata): the recorded offset is the best we have
    return datetime.fromisoformat(row["ts_local"] or row["ts"])


def append_event(
    conn: sqlite3.Connection,
    *,
    item_id: str,
    card_id: str,
    kind: str,
    now: datetime,
    before: CardState,
    after: CardState,
    rating: int | None = None,
    elapsed_ms: int | None = None,
    max_interval: float | None = None,
    ref_id: int | None = None,
    source: str = "review",
    data: dict[str, Any] | None = None,
) -> int:
    """Append one event (inside the caller's transaction); returns its id."""
    cur = conn.execute(
        """INSERT INTO review_log (item_id, card_id, kind, ts, ts_local, rating, elapsed_ms, interval_before,
           interval_after, ease, scheduler, phase_before, phase_after, due_after, max_interval, ref_id, source,
           state_before, data, tz) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)""",
        [
            item_id,
            card_id,
            kind,
            iso_utc(now),
            now.isoformat(),
            rating,
            elapsed_ms,
            before.interval,
            after.interval,
            after.ease,
            after.scheduler,
            before.phase,
            after.phase,
            iso_utc(after.due),
            max_interval,
            ref_id,
            source,
            json.dumps(before.to_row()),
            json.dumps(data) if data else None,
            zone_key(now),
        ],
    )
    return inserted_id(cur)


def last_undoable(conn: sqlite3.Connection, source: str) -> tuple[int, str, str | None, Any] | None:
    """(id, item_id, card_id, state_before) of the newest not-undone event from ``source`` (not an undo)."""
    return conn.execute(
        f"""SELECT id, item_id, card_id, state_before FROM review_log
            WHERE kind != 'undo' AND source = ? AND {NOT_UNDONE} ORDER BY id DESC LIMIT 1""",
        [source],
    ).fetchone()


class ReviewLogReads:
    """The Store's queries over ``review_log`` (needs ``self.db``)."""

    db: Database

    def log_rows(self, item_id: str | None = None) -> list[dict[str, Any]]:
        """Raw rows (every column), oldest first: what replay and repair read."""
        if item_id is None:
            return list(self.db.query("SELECT * FROM review_log ORDER BY id"))
        return list(self.db.query("SELECT * FROM review_log WHERE item_id = ? ORDER BY id", [item_id]))

    def history(self, item_id: str) -> list[LogEntry]:
        """Every event of the item, oldest first (undone ones and the undo events included)."""
        return [LogEntry.from_row(r) for r in self.log_rows(item_id)]

    def review_count(self, item_id: str) -> int:
        """How many answers the item has had (undone ones not counted)."""
        row = self.db.execute(
            """SELECT COUNT(*) FROM review_log r WHERE r.item_id = ? AND r.kind = 'review'
               AND NOT EXISTS (SELECT 1 FROM review_log u WHERE u.kind = 'undo' AND u.ref_id = r.id)""",
            [item_id],
        ).fetchone()
        return int(row[0])

    def today_counts(self, now: datetime) -> dict[str, int]:
        """Reviews done today (not undone): new cards introduced, review-phase answers, all answers."""
        rows = self.db.execute(
            f"""SELECT phase_before, COUNT(*) FROM review_log WHERE kind = 'review' AND ts >= ? AND source = 'review'
                AND {NOT_UNDONE} GROUP BY phase_before""",
            [iso_utc(day_start(now))],
        ).fetchall()
        counts = dict(rows)
        return {"new": counts.get("new", 0), "review": counts.get("review", 0), "total": sum(counts.values())}

    def again_counts(self) -> dict[str, int]:
        """How many times each item was answered Again in review (not undone; cram answers left out)."""
        rows = self.db.execute(
            f"SELECT item_id, COUNT(*) FROM review_log WHERE kind = 'review' AND rating = 1 AND {NOT_UNDONE} "
            "GROUP BY item_id"
        ).fetchall()
        return {item_id: int(n) for item_id, n in rows}

    def answered_on_study_day(self, now: datetime) -> list[tuple[str, str]]:
        """(item_id, card_id) of the items answered in review (not undone) during ``now``'s study day."""
        rows = self.db.execute(
            f"""SELECT DISTINCT item_id, card_id FROM review_log WHERE kind = 'review' AND ts >= ?
                AND source = 'review' AND card_id IS NOT NULL AND {NOT_UNDONE}""",
            [iso_utc(day_start(now))],
        ).fetchall()
        return [(item_id, card_id) for item_id, card_id in rows]

    def review_rows_since(self, since: datetime) -> list[dict[str, Any]]:
        return list(
            self.db.query(
                f"SELECT * FROM review_log WHERE kind = 'review' AND ts >= ? AND {NOT_UNDONE} ORDER BY id",
                [iso_utc(since)],
            )
        )

    def reviews(self) -> list[ReviewRecord]:
        """Every answer not undone (any source), oldest first."""
        rows = self.db.execute(
            f"""SELECT id, item_id, ts, rating, interval_before, phase_before FROM review_log
                WHERE kind = 'review' AND {NOT_UNDONE} ORDER BY id"""
        ).fetchall()
        return [
            ReviewRecord(rid, item, checks.aware(ts, "ts", "review_log", rid), rating, interval, phase)
            for rid, item, ts, rating, interval, phase in rows
        ]

    def review_times(self) -> list[datetime]:
        """When each answer not undone was given (UTC): an undone answer does not make a study day."""
        rows = self.db.execute(f"SELECT id, ts FROM review_log WHERE kind = 'review' AND {NOT_UNDONE}").fetchall()
        return [checks.aware(ts, "ts", "review_log", rid) for rid, ts in rows]


guard_public_methods(ReviewLogReads)
