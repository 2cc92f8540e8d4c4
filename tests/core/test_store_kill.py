"""Crash safety: processes killed (SIGKILL) at random points of the first start, of a migration on a
database with history, and of a scheduler switch; failures injected half-way; processes starting
together on an empty data dir; databases made by earlier mi-prep versions.

After every kill the app must start, ``PRAGMA integrity_check`` must be ok, every ``card_state`` row
must equal the replay of its log rows under the configured scheduler, and every backup must be whole.
"""

from __future__ import annotations

import os
import random
import shutil
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlite_utils

import mi_prep.core.store.schema as schema
from mi_prep.core.store import MIGRATIONS, SCHEMA_VERSION, Store, open_store, schema_version
from mi_prep.core.store.backups import list_backups

T0 = datetime(2026, 5, 1, 8, 0, tzinfo=UTC)
KILLS = int(os.environ.get("MI_PREP_KILLS", "30"))
fork_only = pytest.mark.skipif(not hasattr(os, "fork"), reason="kills forked children (POSIX)")


# --------------------------------------------------------------------------- helpers


def assert_consistent(data: Path, now: datetime = T0 + timedelta(days=30)) -> Store:
    """The app starts, the file is intact, state == replay(log), one scheduler, backups whole."""
    s = open_store(data, now=now)
    assert s.integrity_check() == "ok"
    assert schema_version(s.db) == SCHEMA_VERSION
    name = s.scheduler_name
    by_item: dict[str, list[dict]] = {}
    for r in s.log_rows():
        by_item.setdefault(r["item_id"], []).append(r)
    states = s.states()
    assert set(states) == set(by_item)
    for item, rows in by_item.items():
        assert states[item] == Store.replay(item, rows, name), item
        assert states[item].scheduler == name
    for b in list_backups(s.path):
        conn = sqlite3.connect(b.path)
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok", b.name
        conn.close()
    return s


def history(s: Store, items: int = 30, rounds: int = 4, rng: random.Random | None = None) -> None:
    rng = rng or random.Random(1)
    now = T0
    for k in range(rounds):
        for i in range(items):
            s.answer(f"card-{i}", rng.choice([1, 3, 3, 4]), now + timedelta(days=k, minutes=i))
    s.suspend("card-1", now + timedelta(days=rounds))
    s.undo_last(now + timedelta(days=rounds, minutes=1))


def run_and_kill(target: Callable[[], None], delay: float) -> bool:
    """Fork; the child runs ``target``; SIGKILL it after ``delay`` s. True when the kill came first."""
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        code = 0
        try:
            target()
        except BaseException:  # noqa: BLE001
            code = 1
        os._exit(code)
    time.sleep(delay)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:  # pragma: no cover
        pass
    _, status = os.waitpid(pid, 0)
    if os.WIFEXITED(status):
        assert os.WEXITSTATUS(status) == 0, "the child failed by itself"
        return False
    return os.WTERMSIG(status) == signal.SIGKILL


class Aim:
    """Where to aim the kills: uniformly within the calibrated run time, re-aimed shorter whenever a
    child finished before its kill (the machine got faster than when calibrated, e.g. other work
    on the cores stopped), so most kills land inside the work however busy the cores are."""

    def __init__(self, full: float) -> None:
        self.full = full

    def kill(self, target: Callable[[], None], rng: random.Random) -> bool:
        delay = rng.uniform(0, self.full * 0.9)
        killed = run_and_kill(target, delay)
        if not killed:
            self.full = max(0.005, min(self.full, delay))
        return killed


def attempts() -> range:
    """KILLS kills, and up to twice as many more while a scenario's coverage is not reached yet."""
    return range(KILLS * 3)


def duration(target: Callable[[], None]) -> float:
    """How long ``target`` takes in a forked child left to finish (where to aim the kills)."""
    t = time.perf_counter()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - the child
        try:
            target()
        finally:
            os._exit(0)
    os.waitpid(pid, 0)
    return time.perf_counter() - t


def slowed_migrations(rng: random.Random) -> None:
    """In the child: every migration does its DDL, then lingers inside its transaction (a kill lands there)."""
    for i, fn in enumerate(list(schema.MIGRATIONS)):

        def slow(conn, fn=fn):
            fn(conn)
            time.sleep(rng.uniform(0, 0.01))

        slow.__name__ = fn.__name__
        schema.MIGRATIONS[i] = slow


def downgrade_to_v1(db: Path, *, legacy: bool) -> None:
    """Undo migration 2 of a database with history (``legacy``: mark versions the pre-user_version way)."""
    conn = sqlite3.connect(db, isolation_level=None)
    for t in ("drill_answers", "drills", "lab_answers", "lab_runs"):
        conn.execute(f"DROP TABLE {t}")
    conn.execute("DELETE FROM _migrations WHERE name != ?", [MIGRATIONS[0].__name__])  # (m003's columns stay:
    conn.execute(f"PRAGMA user_version = {0 if legacy else 1}")  # re-adding them is a no-op)
    conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    conn.close()


TABLES_AT = {
    0: set(),
    1: {"_migrations", "card_state", "review_log", "config"},
    2: {"_migrations", "card_state", "review_log", "config", "lab_runs", "lab_answers", "drills", "drill_answers"},
}
TABLES_AT[3] = TABLES_AT[2]  # m003 adds columns only


def _version_on_disk(db: Path) -> int:
    """-1: no file yet; else the schema version a fresh reader sees, whose tables must be exactly
    those of the migrations applied so far: half a migration is never visible."""
    if not db.exists():
        return -1
    conn = sqlite3.connect(db)
    try:
        version = schema_version(conn)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    finally:
        conn.close()
    assert tables == TABLES_AT[version], (version, tables)
    return version


# --------------------------------------------------------------------------- random kills


@fork_only
def test_kill_during_first_start(tmp_path):
    rng = random.Random(20260501)

    def start(data: Path) -> Callable[[], None]:
        def child() -> None:
            slowed_migrations(random.Random(rng.random()))
            s = open_store(data, now=T0)
            for i in range(10):
                s.answer(f"card-{i}", 3, T0 + timedelta(minutes=i))

        return child

    aim = Aim(duration(start(tmp_path / "calibrate")))
    killed = 0
    left_at: dict[int, int] = {}  # schema version found after the kill -> how often
    hit_setup = lambda: sum(k for v, k in left_at.items() if v < SCHEMA_VERSION) >= 3  # noqa: E731
    for n in attempts():
        if n >= KILLS and hit_setup():
            break
        data = tmp_path / f"run{n}"
        killed += aim.kill(start(data), rng)
        version = _version_on_disk(data / "mi-prep.db")
        left_at[version] = left_at.get(version, 0) + 1
        assert_consistent(data).close()
    assert killed >= KILLS / 2, f"only {killed} children were killed before finishing"
    assert hit_setup(), left_at  # kills hit the set-up


@fork_only
@pytest.mark.parametrize("legacy", [False, True], ids=["user_version-1", "pre-user_version"])
def test_kill_during_migration_of_a_database_with_history(tmp_path, legacy):
    rng = random.Random(7 + legacy)
    template = tmp_path / "template"
    s = open_store(template, now=T0, daily_backup=False)
    history(s)
    n_log = len(s.log_rows())
    s.close()
    downgrade_to_v1(template / "mi-prep.db", legacy=legacy)

    def start(data: Path) -> Callable[[], None]:
        def child() -> None:
            slowed_migrations(random.Random(rng.random()))
            s = open_store(data, now=T0 + timedelta(days=10))
            s.answer("card-0", 3, T0 + timedelta(days=10))

        return child

    def fresh(name: str) -> Path:
        shutil.copytree(template, tmp_path / name)
        return tmp_path / name

    aim = Aim(duration(start(fresh("calibrate"))))
    killed = 0
    left_at: dict[int, int] = {}
    for n in attempts():
        if n >= KILLS and left_at.get(1, 0) >= 3:
            break
        data = fresh(f"run{n}")
        killed += aim.kill(start(data), rng)
        version = _version_on_disk(data / "mi-prep.db")
        left_at[version] = left_at.get(version, 0) + 1
        s = assert_consistent(data)
        assert len(s.log_rows()) in (n_log, n_log + 1)
        s.close()
    assert killed >= KILLS / 2
    assert left_at.get(1, 0) >= 3, left_at  # kills hit the migration (or the backup before it)


@fork_only
def test_kill_during_scheduler_switch(tmp_path):
    rng = random.Random(99)
    template = tmp_path / "template"
    s = open_store(template, now=T0)
    history(s, items=60, rounds=5)
    s.close()

    def switch(data: Path) -> Callable[[], None]:
        def child() -> None:
            s = open_store(data, now=T0)
            for k in range(6):
                s.set_scheduler("fsrs" if k % 2 == 0 else "sm2")
                s.answer(f"card-{k}", 3, T0 + timedelta(days=20 + k))

        return child

    shutil.copytree(template, tmp_path / "calibrate")
    aim = Aim(duration(switch(tmp_path / "calibrate")))
    killed = 0
    switched = set()
    for n in attempts():
        if n >= KILLS and switched == {"sm2", "fsrs"}:
            break
        data = tmp_path / f"run{n}"
        shutil.copytree(template, data)
        killed += aim.kill(switch(data), rng)
        s = assert_consistent(data)
        switched.add(s.scheduler_name)
        s.close()
    assert killed >= KILLS / 2
    assert switched == {"sm2", "fsrs"}  # kills landed on both sides of a switch


# --------------------------------------------------------------------------- processes starting together

CHILD = """
import sys
from datetime import datetime, timedelta, timezone
from mi_prep.core.store import open_store
print("ready", flush=True)
sys.stdin.readline()
t0 = datetime(2026, 5, 1, 8, 0, tzinfo=timezone.utc)
s = open_store(sys.argv[1], now=t0)
for i in range(5):
    s.answer(f"{sys.argv[2]}-{i}", 3, t0 + timedelta(minutes=i))
s.close()
print("ok", flush=True)
"""


@pytest.mark.parametrize("n", [5])
def test_processes_starting_together_on_an_empty_data_dir(tmp_path, n):
    for rnd in range(4):
        data = tmp_path / f"round{rnd}"
        procs = [
            subprocess.Popen(
                [sys.executable, "-c", CHILD, str(data), f"p{k}"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                text=True,
            )
            for k in range(n)
        ]
        for p in procs:
            assert p.stdout.readline().strip() == "ready"
        for p in procs:
            p.stdin.write("go\n")
            p.stdin.flush()
        for p in procs:
            out, err = p.communicate(timeout=60)
            assert p.returncode == 0 and out.strip() == "ok", err[-2000:]
        s = assert_consistent(data)
        assert len(s.log_rows()) == 5 * n
        s.close()


# --------------------------------------------------------------------------- injected failures


class Boom(Exception):
    pass


def test_failure_inside_the_first_migration_leaves_nothing(tmp_path, monkeypatch):
    def half(conn):
        schema.m001_initial(conn)
        raise Boom

    half.__name__ = "m001_initial"
    monkeypatch.setattr(schema, "MIGRATIONS", [half, *MIGRATIONS[1:]])
    with pytest.raises(Boom):
        open_store(tmp_path, now=T0)
    conn = sqlite3.connect(tmp_path / "mi-prep.db")
    assert conn.execute("SELECT name FROM sqlite_master").fetchall() == []
    assert conn.execute("PRAGMA user_version").fetchone()[0] == 0
    conn.close()
    monkeypatch.undo()
    assert_consistent(tmp_path).close()


def test_failure_inside_a_later_migration_keeps_the_earlier_one_and_the_data(tmp_path, monkeypatch):
    s = open_store(tmp_path, now=T0)
    history(s, items=5, rounds=2)
    s.close()
    downgrade_to_v1(tmp_path / "mi-prep.db", legacy=False)

    def half(conn):
        schema.m002_labs_and_drills(conn)
        raise Boom

    half.__name__ = "m002_labs_and_drills"
    monkeypatch.setattr(schema, "MIGRATIONS", [MIGRATIONS[0], half])
    with pytest.raises(Boom):
        open_store(tmp_path, now=T0 + timedelta(days=3))
    db = sqlite_utils.Database(tmp_path / "mi-prep.db")
    assert not db["lab_runs"].exists() and db.execute("PRAGMA user_version").fetchone()[0] == 1
    assert [r[0] for r in db.execute("SELECT name FROM _migrations")] == ["m001_initial"]
    db.close()
    [backup] = list_backups(tmp_path / "mi-prep.db")  # taken before the migration
    assert backup.name == "mi-prep-20260504-080000.db"
    monkeypatch.undo()
    s = assert_consistent(tmp_path)
    assert len(s.log_rows()) == 5 * 2 + 2


def test_failure_half_way_through_a_scheduler_switch_changes_nothing(tmp_path, monkeypatch):
    s = open_store(tmp_path, now=T0)
    history(s, items=10, rounds=3)
    before = s.states()
    calls = []
    real = Store._write_state

    def flaky(self, conn, card_id, state):
        calls.append(card_id)
        if len(calls) == 5:
            raise Boom
        real(self, conn, card_id, state)

    monkeypatch.setattr(Store, "_write_state", flaky)
    with pytest.raises(Boom):
        s.set_scheduler("fsrs")
    monkeypatch.undo()
    assert s.scheduler_name == "sm2" and s.states() == before
    assert s.set_scheduler("fsrs") == 10
    s.close()
    s = assert_consistent(tmp_path)
    assert s.scheduler_name == "fsrs"


def test_transaction_nests_as_a_savepoint(tmp_path):
    s = open_store(tmp_path, now=T0)
    with s.transaction() as conn:
        conn.execute("INSERT INTO config (key, value) VALUES ('a', '1')")
        with pytest.raises(Boom):
            with s.transaction() as inner:
                inner.execute("INSERT INTO config (key, value) VALUES ('b', '2')")
                raise Boom
    assert s.all_config() == {"a": 1}


# --------------------------------------------------------------------------- databases from earlier versions


def legacy_migrate(db: sqlite_utils.Database, upto: int = 2) -> None:
    """What mi-prep did before this change: sqlite-utils DDL, one ``_migrations`` row each, user_version 0."""
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    if upto >= 1:
        db["card_state"].create(
            {
                "item_id": str,
                "card_id": str,
                "scheduler": str,
                "phase": str,
                "due": str,
                "interval": float,
                "ease": float,
                "reps": int,
                "lapses": int,
                "last_review": str,
                "step": int,
                "stability": float,
                "difficulty": float,
                "suspended": int,
                "buried_until": str,
            },
            pk="item_id",
            not_null={"scheduler", "phase"},
        )
        db["card_state"].create_index(["due"])
        db["card_state"].create_index(["card_id"])
        db["review_log"].create(
            {
                "id": int,
                "item_id": str,
                "card_id": str,
                "kind": str,
                "ts": str,
                "ts_local": str,
                "rating": int,
                "elapsed_ms": int,
                "interval_before": float,
                "interval_after": float,
                "ease": float,
                "scheduler": str,
                "phase_before": str,
                "phase_after": str,
                "due_after": str,
                "max_interval": float,
                "ref_id": int,
                "source": str,
                "state_before": str,
                "data": str,
            },
            pk="id",
            not_null={"item_id", "kind", "ts"},
        )
        db["review_log"].create_index(["item_id", "id"])
        db["review_log"].create_index(["ts"])
        db["config"].create({"key": str, "value": str}, pk="key")
        db.execute("INSERT INTO _migrations VALUES ('m001_initial', '2026-01-01T00:00:00+00:00')")
    if upto >= 2:
        db["lab_runs"].create(
            {
                "id": int,
                "lab": str,
                "seed": int,
                "device": str,
                "params": str,
                "started": str,
                "finished": str,
                "status": str,
                "result": str,
                "score": float,
                "error": str,
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
                "id": int,
                "seed": int,
                "started": str,
                "finished": str,
                "minutes": float,
                "topics": str,
                "plan": str,
                "report": str,
                "paused_ms": int,
                "score": float,
                "status": str,
            },
            pk="id",
        )
        db["drill_answers"].create(
            {
                "id": int,
                "drill_id": int,
                "idx": int,
                "item_id": str,
                "kind": str,
                "topic": str,
                "prompt": str,
                "answer": str,
                "points": str,
                "score": float,
                "elapsed_ms": int,
                "timed_out": int,
                "ts": str,
            },
            pk="id",
            foreign_keys=[("drill_id", "drills", "id")],
        )
        db.execute("INSERT INTO _migrations VALUES ('m002_labs_and_drills', '2026-01-01T00:00:00+00:00')")


def _schema_sql(path: Path) -> set[tuple[str, str]]:
    conn = sqlite3.connect(path)
    rows = {
        (n, " ".join(s.split()))
        for n, s in conn.execute("SELECT name, sql FROM sqlite_master WHERE sql IS NOT NULL AND name != '_migrations'")
    }
    conn.close()
    return rows


def test_database_made_by_the_previous_version_opens_unchanged(tmp_path):
    old = tmp_path / "old"
    old.mkdir()
    legacy_migrate(sqlite_utils.Database(old / "mi-prep.db"))
    new = tmp_path / "new"
    open_store(new, now=T0).close()
    s = open_store(old, now=T0)  # the later migrations (m003: time zones and leeches) are applied
    assert _schema_sql(old / "mi-prep.db") == _schema_sql(new / "mi-prep.db")  # same tables, same SQL
    history(s, items=3, rounds=2)
    assert schema_version(s.db) == SCHEMA_VERSION
    s.close()
    assert_consistent(old).close()


def test_half_created_database_of_the_previous_version_is_completed(tmp_path):
    """Before this change a kill could leave tables without their ``_migrations`` row ("already exists")."""
    db = sqlite_utils.Database(tmp_path / "mi-prep.db")
    db.execute("CREATE TABLE IF NOT EXISTS _migrations (name TEXT PRIMARY KEY, applied_at TEXT)")
    db["card_state"].create(
        {
            "item_id": str,
            "card_id": str,
            "scheduler": str,
            "phase": str,
            "due": str,
            "interval": float,
            "ease": float,
            "reps": int,
            "lapses": int,
            "last_review": str,
            "step": int,
            "stability": float,
            "difficulty": float,
            "suspended": int,
            "buried_until": str,
        },
        pk="item_id",
        not_null={"scheduler", "phase"},
    )
    db.close()
    s = assert_consistent(tmp_path)
    s.answer("card-0", 3, T0)
    assert [r[0] for r in s.db.execute("SELECT name FROM _migrations ORDER BY name")] == [
        m.__name__ for m in MIGRATIONS
    ]
    assert s.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
