"""Reading rows defensively: hand-edited or foreign rows become :class:`DamagedRow` (named table, row
and problem), never a stray ``ValueError`` deep inside a scheduler.

* :func:`parse_state` turns a ``card_state`` row into a :class:`CardState` or raises DamagedRow.
* :func:`bad_state_rows` / :func:`bad_log_rows` find such rows with one SQL scan each (cheap enough
  for every start); ``card_state`` is derived data and is rebuilt from the log, while a bad
  ``review_log`` row stops the app with a message until it is repaired or a backup restored.
"""

from __future__ import annotations

import json
import math
import sqlite3
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from mi_prep.core.scheduling import SCHEDULERS, CardState
from mi_prep.core.store.errors import DamagedRow

PHASES = ("new", "learning", "review", "relearning")
EVENT_KINDS = ("review", "undo", "suspend", "unsuspend", "bury", "boost", "cram")

LOG_YEARS = (2000, 2200)
"""A log timestamp outside these years (inclusive) was not written by a clock: replaying it would
overflow date arithmetic (``9999-12-31`` plus an interval), so such a row counts as unreadable."""

# an aware ISO timestamp as this program writes it: 2026-05-01T06:00:00[.ffffff]+00:00 (or Z)
_TS_SQL = (
    "({c} GLOB '[0-9][0-9][0-9][0-9]-[0-9][0-9]-[0-9][0-9]T[0-9][0-9]:[0-9][0-9]*' "
    "AND ({c} GLOB '*[+-][0-9][0-9]:[0-9][0-9]' OR {c} GLOB '*Z') AND julianday({c}) IS NOT NULL)"
)
_TS_LOG_SQL = _TS_SQL[:-1] + f" AND substr({{c}}, 1, 4) BETWEEN '{LOG_YEARS[0]}' AND '{LOG_YEARS[1]}')"


def _ts_ok(col: str, nullable: bool = True, log: bool = False) -> str:
    check = (_TS_LOG_SQL if log else _TS_SQL).format(c=col)
    return f"({col} IS NULL OR {check})" if nullable else f"({col} IS NOT NULL AND {check})"


def _num_ok(col: str, nullable: bool = False) -> str:
    ok = f"(typeof({col}) IN ('integer', 'real') AND abs({col}) <= 1e308)"  # finite: inf > 1e308
    return f"({col} IS NULL OR {ok})" if nullable else ok


def _all(conds: list[str]) -> str:
    """Every condition true; NULL counts as false (so ``NOT (...)`` never lets a NULL row slip through)."""
    return " AND ".join(f"COALESCE(({c}), 0)" for c in conds)


_STATE_OK = _all(
    [
        f"scheduler IN {SCHEDULERS!r}",
        f"phase IN {PHASES!r}",
        _ts_ok("due"),
        _ts_ok("last_review"),
        _ts_ok("buried_until"),
        _num_ok("interval"),
        _num_ok("ease"),
        "typeof(reps) = 'integer'",
        "typeof(lapses) = 'integer'",
        "typeof(step) = 'integer'",
        _num_ok("stability", True),
        _num_ok("difficulty", True),
        "(suspended IS NULL OR suspended IN (0, 1))",
        "(leech IS NULL OR leech IN (0, 1))",
    ]
)

_LOG_OK = _all(
    [
        "item_id IS NOT NULL",
        "item_id != ''",
        f"kind IN {EVENT_KINDS!r}",
        _ts_ok("ts", nullable=False, log=True),
        _ts_ok("ts_local", log=True),
        "(kind NOT IN ('review', 'cram') OR (typeof(rating) = 'integer' AND rating BETWEEN 1 AND 4))",
        "(kind != 'review' OR scheduler IS NULL OR scheduler IN " + repr(SCHEDULERS) + ")",
        _num_ok("max_interval", nullable=True),
        "(kind != 'undo' OR typeof(ref_id) = 'integer')",
        "(state_before IS NULL OR json_valid(state_before))",
        "(kind != 'bury' OR (json_valid(data) AND " + _TS_LOG_SQL.format(c="json_extract(data, '$.until')") + "))",
        "(kind != 'boost' OR (json_valid(data) AND " + _TS_LOG_SQL.format(c="json_extract(data, '$.due')") + "))",
    ]
)


def bad_state_rows(conn: sqlite3.Connection, limit: int = 1000) -> list[dict[str, Any]]:
    cur = conn.execute(f"SELECT * FROM card_state WHERE NOT ({_STATE_OK}) LIMIT {int(limit)}")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def bad_log_rows(conn: sqlite3.Connection, limit: int = 1000) -> list[dict[str, Any]]:
    cur = conn.execute(f"SELECT * FROM review_log WHERE NOT ({_LOG_OK}) ORDER BY id LIMIT {int(limit)}")
    cols = [d[0] for d in cur.description]
    return [dict(zip(cols, r)) for r in cur.fetchall()]


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def aware(value: Any, what: str, table: str, row: Any, *, log: bool = False) -> datetime:
    """An aware datetime written as this program writes them (the same rule as the SQL checks);
    ``log``: also within :data:`LOG_YEARS`."""
    try:
        if not (isinstance(value, str) and len(value) >= 16 and value[10] == "T"):
            raise ValueError(value)
        dt = datetime.fromisoformat(value)
    except (TypeError, ValueError):
        raise DamagedRow(
            table, row, f"{what}={_short(value)} is not a timestamp like 2026-05-01T08:00:00+00:00"
        ) from None
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise DamagedRow(table, row, f"{what}={_short(value)} has no time zone")
    if log and not LOG_YEARS[0] <= dt.year <= LOG_YEARS[1]:
        raise DamagedRow(table, row, f"{what}={_short(value)} is outside the years {LOG_YEARS[0]}-{LOG_YEARS[1]}")
    return dt


def parse_state(row: Mapping[str, Any]) -> CardState:
    """A ``card_state`` row as a CardState, or DamagedRow naming the first bad column.

    Each value is checked and converted once (a collection's states are read at every start)."""
    item = row.get("item_id")
    if row.get("scheduler") not in SCHEDULERS:
        raise DamagedRow("card_state", item, f"scheduler={_short(row.get('scheduler'))} is not one of {SCHEDULERS}")
    if row.get("phase") not in PHASES:
        raise DamagedRow("card_state", item, f"phase={_short(row.get('phase'))} is not one of {PHASES}")
    times = {}
    for col in ("due", "last_review", "buried_until"):
        v = row.get(col)
        times[col] = aware(v, col, "card_state", item) if v is not None else None
    for col, kind in _NUMBERS:
        v = row.get(col)
        if v is None and col in ("stability", "difficulty"):
            continue
        ok = isinstance(v, int) if kind is int else isinstance(v, (int, float)) and math.isfinite(v)
        if not ok or isinstance(v, bool):
            raise DamagedRow("card_state", item, f"{col}={_short(v)} is not a number")
    for col in ("suspended", "leech"):
        if row.get(col) not in (None, 0, 1):
            raise DamagedRow("card_state", item, f"{col}={_short(row.get(col))} is not 0 or 1")
    return CardState(
        item_id=row["item_id"],
        scheduler=row["scheduler"],
        phase=row["phase"],
        due=times["due"] or None,
        interval=row["interval"],
        ease=row["ease"],
        reps=row["reps"],
        lapses=row["lapses"],
        last_review=times["last_review"] or None,
        step=row["step"],
        stability=row.get("stability"),
        difficulty=row.get("difficulty"),
        suspended=bool(row.get("suspended") or 0),
        buried_until=times["buried_until"] or None,
        leech=bool(row.get("leech") or 0),
    )


_NUMBERS = (
    ("interval", float),
    ("ease", float),
    ("reps", int),
    ("lapses", int),
    ("step", int),
    ("stability", float),
    ("difficulty", float),
)


def state_from_json(text: Any, table: str, row: Any, what: str = "state_before") -> CardState:
    try:
        data = json.loads(text)
    except (TypeError, ValueError):
        raise DamagedRow(table, row, f"{what} is not valid JSON") from None
    if not isinstance(data, dict):
        raise DamagedRow(table, row, f"{what} is not a JSON object")
    try:
        return parse_state(data)
    except DamagedRow as exc:
        raise DamagedRow(table, row, f"{what}: {exc.problem}") from None


def describe_log_row(r: Mapping[str, Any]) -> str:
    """Why a ``review_log`` row found by :func:`bad_log_rows` is bad (the first reason)."""
    try:
        check_log_row(r, deep=True)
    except DamagedRow as exc:
        return exc.problem
    return "a value is not in the format mi-prep writes"


def check_log_row(r: Mapping[str, Any], *, deep: bool = False) -> None:
    """Raise DamagedRow for a ``review_log`` row replay cannot use (``deep``: also its ``state_before``,
    which only undo reads)."""
    rid = r.get("id")
    if not r.get("item_id"):
        raise DamagedRow("review_log", rid, "item_id is empty")
    kind = r.get("kind")
    if kind not in EVENT_KINDS:
        raise DamagedRow("review_log", rid, f"kind={_short(kind)} is not one of {EVENT_KINDS}")
    aware(r.get("ts"), "ts", "review_log", rid, log=True)
    if r.get("ts_local") is not None:
        aware(r["ts_local"], "ts_local", "review_log", rid, log=True)
    if kind in ("review", "cram"):
        rating = r.get("rating")
        if not isinstance(rating, int) or isinstance(rating, bool) or not 1 <= rating <= 4:
            raise DamagedRow("review_log", rid, f"rating={_short(rating)} is not 1-4")
        if r.get("scheduler") is not None and r["scheduler"] not in SCHEDULERS:
            raise DamagedRow("review_log", rid, f"scheduler={_short(r['scheduler'])} is not one of {SCHEDULERS}")
        mi = r.get("max_interval")
        if mi is not None and (not isinstance(mi, (int, float)) or isinstance(mi, bool) or not math.isfinite(mi)):
            raise DamagedRow("review_log", rid, f"max_interval={_short(mi)} is not a number")
    if kind == "undo" and not isinstance(r.get("ref_id"), int):
        raise DamagedRow("review_log", rid, f"ref_id={_short(r.get('ref_id'))} of an undo is not a row id")
    if deep and r.get("state_before") is not None:
        try:
            json.loads(r["state_before"])
        except (TypeError, ValueError):
            raise DamagedRow("review_log", rid, "state_before is not valid JSON") from None
    if kind in ("bury", "boost"):
        key = "until" if kind == "bury" else "due"
        try:
            data = json.loads(r.get("data") or "")
        except (TypeError, ValueError):
            raise DamagedRow("review_log", rid, "data is not valid JSON") from None
        if not isinstance(data, dict):
            raise DamagedRow("review_log", rid, "data is not a JSON object")
        aware(data.get(key), f"data.{key}", "review_log", rid, log=True)
