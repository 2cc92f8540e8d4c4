"""Damaged or unusable storage: one clear line (file, problem, what to do), never a traceback; backups.

Every case goes through the real CLI (``mi_prep.cli.main``). Read-only cases need a user that
file permissions bind: as root they run in a forked child that drops to ``nobody``.
"""

from __future__ import annotations

import io
import json
import os
import sqlite3
import tempfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mi_prep.cli import main
from mi_prep.context import AppContext
from mi_prep.core.store import SCHEMA_VERSION, StorageError, Store, open_store
from mi_prep.core.store.backups import KEEP, list_backups, make_backup

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def cli(data: Path, *argv: str, now: datetime = T0, store: Store | None = None) -> tuple[int, str]:
    out = io.StringIO()
    app = AppContext(data, [data.parent / "no-decks"], stdin=io.StringIO(""), stdout=out, clock=lambda: now)
    if store is not None:
        app._store = store
    code = main(list(argv), app=app)
    return code, out.getvalue()


def one_error_line(code: int, out: str, must: str) -> str:
    assert code == 1, out
    assert "Traceback" not in out
    lines = [ln for ln in out.splitlines() if ln.startswith("error: ")]
    assert len(lines) == 1, out
    assert must in lines[0], lines[0]
    return lines[0]


def make_history(data: Path, n: int = 6, now: datetime = T0) -> Path:
    s = open_store(data, now=now)
    for i in range(n):
        s.answer(f"card-{i % 3}", 3, now + timedelta(minutes=i))
    s.close()
    return data / "mi-prep.db"


# --------------------------------------------------------------------------- damaged files


def test_truncated_database(tmp_path):
    data = tmp_path / "data"
    db = make_history(data, 40)
    open_store(data, now=T0 + timedelta(days=1)).close()  # checkpoint; a daily backup exists
    raw = db.read_bytes()
    db.write_bytes(raw[: len(raw) // 2])
    for argv in (["config", "list"], ["stats", "--json"]):
        line = one_error_line(*cli(data, *argv), must=str(db))
        assert "is damaged" in line and "backup restore latest" in line


def test_truncated_to_zero_bytes_with_backups_is_not_silently_a_new_start(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    open_store(data, now=T0 + timedelta(days=1)).close()
    for side in (db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")):
        side.unlink(missing_ok=True)
    db.write_bytes(b"")
    line = one_error_line(*cli(data, "config", "list"), must=str(db))
    assert "empty (0 bytes)" in line and "backup restore latest" in line


@pytest.mark.parametrize(
    "content", [os.urandom(8192), b"card-a,3,2026-07-01\nthis is not a database\n"], ids=["random-bytes", "text-file"]
)
def test_not_a_database(tmp_path, content):
    data = tmp_path / "data"
    data.mkdir()
    db = data / "mi-prep.db"
    db.write_bytes(content)
    line = one_error_line(*cli(data, "config", "list"), must=str(db))
    assert "is not an SQLite database" in line and "move it away" in line
    assert db.read_bytes() == content  # untouched


def test_db_path_is_a_directory(tmp_path):
    data = tmp_path / "data"
    (data / "mi-prep.db").mkdir(parents=True)
    line = one_error_line(*cli(data, "config", "list"), must=str(data / "mi-prep.db"))
    assert "is a directory" in line


def test_data_dir_is_a_file(tmp_path):
    data = tmp_path / "data"
    data.write_text("oops")
    line = one_error_line(*cli(data, "config", "list"), must=str(data))
    assert "cannot create the data directory" in line


def test_newer_schema_is_refused_and_left_alone(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    conn = sqlite3.connect(db)
    conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 3}")
    conn.commit()
    conn.close()
    line = one_error_line(*cli(data, "config", "list"), must=str(db))
    assert f"newer mi-prep (schema {SCHEMA_VERSION + 3}, this version knows {SCHEMA_VERSION})" in line
    assert sqlite3.connect(db).execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION + 3


def test_disk_full_while_answering(tmp_path):
    data = tmp_path / "data"
    make_history(data)
    s = open_store(data, now=T0)
    pages = s.db.execute("PRAGMA page_count").fetchone()[0]
    s.db.execute(f"PRAGMA max_page_count = {pages}")  # the file may not grow: SQLITE_FULL
    before = s.db.execute("SELECT COUNT(*) FROM review_log").fetchone()[0]
    with pytest.raises(StorageError) as info:
        for i in range(400):
            s.answer(f"big-{i}", 3, T0 + timedelta(hours=1), card_id="x" * 2000)
    assert info.value.reason == "full" and str(data / "mi-prep.db") in info.value.message
    assert "the disk is full" in info.value.message
    # the failed answer left nothing half-done
    assert s.db.execute("SELECT COUNT(*) FROM review_log").fetchone()[0] == before + i
    assert s.db.execute("SELECT COUNT(*) FROM card_state").fetchone()[0] == 3 + i
    s.close()


def test_disk_full_through_the_cli(tmp_path, monkeypatch):
    data = tmp_path / "data"
    make_history(data)

    def full(conn, key, value):
        exc = sqlite3.OperationalError("database or disk is full")
        exc.sqlite_errorcode = 13  # SQLITE_FULL, as raised by sqlite3
        raise exc

    monkeypatch.setattr(Store, "_set_config", staticmethod(full))
    code, out = cli(data, "config", "set", "scheduler", "fsrs")
    line = one_error_line(code, out, must=str(data / "mi-prep.db"))
    assert "the disk is full" in line and "free some space" in line
    monkeypatch.undo()
    s = open_store(data, now=T0)
    assert s.scheduler_name == "sm2" and all(st.scheduler == "sm2" for st in s.states().values())


def test_sqlite_error_from_a_query_is_one_line(tmp_path):
    """A query failing on a dropped table (stats reads the log through the store) is one line."""
    data = tmp_path / "data"
    make_history(data)
    s = open_store(data, now=T0)
    s.db.execute("DROP TABLE review_log")
    code, out = cli(data, "stats", "--json", store=s)
    line = one_error_line(code, out, must=str(data / "mi-prep.db"))
    assert "no such table: review_log" in line


def test_locked_database(tmp_path):
    data = tmp_path / "data"
    make_history(data)
    s = Store(data / "mi-prep.db")
    s.db.execute("PRAGMA busy_timeout = 50")
    other = sqlite3.connect(data / "mi-prep.db", isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(StorageError) as info:
            s.answer("card-0", 3, T0)
        assert info.value.reason == "busy" and "close other mi-prep windows" in info.value.message
    finally:
        other.execute("ROLLBACK")
    s.answer("card-0", 3, T0)


# --------------------------------------------------------------------------- hand-edited rows


def _edit(db: Path, sql: str, *params) -> None:
    conn = sqlite3.connect(db)
    conn.execute(sql, params)
    conn.commit()
    conn.close()


def test_bad_card_state_row_is_rebuilt_with_a_warning(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    good = open_store(data, now=T0).state("card-1")
    _edit(db, "UPDATE card_state SET due = 'garbage', reps = 'many' WHERE item_id = 'card-1'")
    code, out = cli(data, "config", "list")
    assert code == 0 and "Traceback" not in out
    assert f"warning: {db}: card_state row 'card-1' could not be read (due='garbage'" in out
    assert open_store(data, now=T0).state("card-1") == good


def test_card_state_edited_while_running_names_the_row(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    s = open_store(data, now=T0)
    _edit(db, "UPDATE card_state SET phase = 'forgotten' WHERE item_id = 'card-2'")
    with pytest.raises(StorageError) as info:
        s.states()
    assert "card_state row 'card-2'" in info.value.message and "backup repair" in info.value.message


@pytest.mark.parametrize(
    "sql, problem",
    [
        ("UPDATE review_log SET rating = 9 WHERE id = 2", "rating=9 is not 1-4"),
        ("UPDATE review_log SET ts = 'yesterday' WHERE id = 2", "ts='yesterday' is not a timestamp"),
        ("UPDATE review_log SET state_before = '{oops' WHERE id = 2", "state_before is not valid JSON"),
        ("UPDATE review_log SET kind = 'dance' WHERE id = 2", "kind='dance'"),
    ],
    ids=["rating-9", "bad-ts", "bad-json", "bad-kind"],
)
def test_bad_review_log_row_then_repair(tmp_path, sql, problem):
    data = tmp_path / "data"
    db = make_history(data)
    _edit(db, sql)
    line = one_error_line(*cli(data, "config", "list"), must=str(db))
    assert f"review_log row 2 cannot be read ({problem}" in line and "backup repair" in line
    code, out = cli(data, "backup", "repair")
    assert code == 0 and "set aside review_log row 2" in out and "backup written first" in out
    code, out = cli(data, "config", "list")
    assert code == 0 and "error" not in out
    s = open_store(data, now=T0)
    assert [r["id"] for r in s.log_rows()] == [1, 3, 4, 5, 6]
    for item, state in s.states().items():
        assert s.replay_item(item) == state
    assert s.integrity_check() == "ok"


@pytest.mark.parametrize(
    "key, value, problem",
    [
        ("new-per-day", '"many"', "not a whole number from 0 to 100000"),
        ("reviews-per-day", "1e999", "not a whole number from 0 to 100000"),
        ("reviews-per-day", "-5", "not a whole number from 0 to 100000"),
        ("new-per-day", "2.5", "not a whole number from 0 to 100000"),
        ("new-per-day", "lots", "not JSON"),
        ("scheduler", '"leitner"', "not one of sm2, fsrs"),
        ("interview-date", '"next week"', "not a date like 2026-12-15"),
        ("interview-date", '"2026-02-30"', "not a date like 2026-12-15"),
        ("theme", "7", "not a string"),
    ],
    ids=[
        "str-count",
        "inf-count",
        "negative",
        "fraction",
        "not-json",
        "scheduler",
        "date-words",
        "date-invalid",
        "theme",
    ],
)
def test_unusable_setting_is_reset_on_open_with_a_warning(tmp_path, key, value, problem):
    data = tmp_path / "data"
    db = make_history(data)
    _edit(db, "INSERT OR REPLACE INTO config (key, value) VALUES (?, ?)", key, value)
    code, out = cli(data, "due")
    assert code == 0 and "Traceback" not in out, out
    assert f"warning: {db}: config {key!r} held {value!r}, which is {problem}; reset to its default" in out
    s = open_store(data, now=T0)
    assert s.warnings == [] and s.get_config(key, "default") == "default"
    assert s.db.execute("SELECT COUNT(*) FROM config WHERE key = ?", [key]).fetchone()[0] == 0
    for item, state in s.states().items():
        assert s.replay_item(item) == state
    s.close()


def test_reset_scheduler_replays_every_item_under_the_default(tmp_path):
    data = tmp_path / "data"
    s = open_store(data, now=T0)
    s.set_scheduler("fsrs")
    for i in range(4):
        s.answer(f"card-{i % 2}", 3, T0 + timedelta(minutes=i))
    s.close()
    _edit(data / "mi-prep.db", "UPDATE config SET value = '\"FSRS\"' WHERE key = 'scheduler'")
    s = open_store(data, now=T0)
    assert "config 'scheduler' held '\"FSRS\"'" in s.warnings[0]
    assert s.scheduler_name == "sm2"
    for item, state in s.states().items():
        assert state.scheduler == "sm2" and s.replay_item(item) == state


def test_setting_edited_while_running_reads_as_its_default(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    s = open_store(data, now=T0)
    s.set_config("new-per-day", 7)
    _edit(db, "UPDATE config SET value = '\"many\"' WHERE key = 'new-per-day'")
    assert s.get_config("new-per-day", 20) == 20
    assert s.all_config() == {}
    assert len(s.warnings) == 1 and "config 'new-per-day' holds '\"many\"'" in s.warnings[0]
    _edit(db, "UPDATE config SET value = '1e999' WHERE key = 'new-per-day'")
    assert s.get_config("new-per-day", 20) == 20
    with pytest.raises(ValueError, match="not a whole number"):
        s.set_config("reviews-per-day", "many")
    with pytest.raises(ValueError, match="not a date"):
        s.set_config("interview-date", "soon")
    s.set_config("interview-date", "2026-12-15")
    assert s.get_config("interview-date") == "2026-12-15"
    s.close()
    code, out = cli(data, "backup", "repair")  # repair resets it too (it opens without the start-up checks)
    assert code == 0 and "config 'new-per-day' held '1e999'" in out, out


def test_unreadable_unknown_setting_then_repair(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    _edit(db, "INSERT OR REPLACE INTO config (key, value) VALUES ('colour', 'lots')")
    line = one_error_line(*cli(data, "config", "list"), must=str(db))
    assert "config row 'colour'" in line and "reset it to its default" in line
    code, out = cli(data, "backup", "repair")
    assert code == 0 and "config 'colour' held 'lots'" in out
    assert cli(data, "config", "list")[0] == 0


FAR = "9999-12-31T23:59:59+00:00"


def test_far_future_timestamps_are_unreadable_rows_repair_sets_aside(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    _edit(db, "UPDATE review_log SET ts = ?, ts_local = ?, due_after = ? WHERE id = 5", FAR, FAR, FAR)
    _edit(db, "UPDATE card_state SET due = ?, interval = 1e9 WHERE item_id = 'card-1'", FAR)
    line = one_error_line(*cli(data, "config", "list"), must=str(db))
    assert f"review_log row 5 cannot be read (ts='{FAR}' is outside the years 2000-2200" in line
    assert "backup repair" in line
    code, out = cli(data, "backup", "repair")
    assert code == 0 and "Traceback" not in out, out
    assert "set aside review_log row 5: ts=" in out
    s = open_store(data, now=T0)
    assert 5 not in [r["id"] for r in s.log_rows()] and s.warnings == []
    for item, state in s.states().items():
        assert s.replay_item(item) == state
    assert s.state("card-1").due.year == 2026


def test_a_log_row_replay_cannot_compute_is_set_aside(tmp_path, monkeypatch):
    data = tmp_path / "data"
    db = make_history(data, 3)
    # 60 'Easy' answers within a minute: without the interval cap and the early-review rule (both lifted
    # here to stand in for any row replay cannot compute) SM-2 intervals grow past the year 9999
    monkeypatch.setattr("mi_prep.core.scheduling.model.MAX_INTERVAL_DAYS", 10**12)
    monkeypatch.setattr("mi_prep.core.scheduling.sm2.elapsed_days", lambda state, now: None)
    conn = sqlite3.connect(db)
    for i in range(60):
        ts = (T0 + timedelta(seconds=i)).isoformat()
        conn.execute(
            "INSERT INTO review_log (item_id, card_id, kind, ts, ts_local, rating, source, scheduler) "
            "VALUES ('card-x', 'card-x', 'review', ?, ?, 4, 'review', 'sm2')",
            [ts, ts],
        )
    conn.execute("UPDATE card_state SET due = 'garbage' WHERE item_id = 'card-0'")
    conn.execute(
        "INSERT INTO card_state (item_id, card_id, scheduler, phase, due, interval, ease, reps, lapses, "
        "step) VALUES ('card-x', 'card-x', 'sm2', 'review', 'garbage', 1, 2.5, 1, 0, 0)"
    )
    conn.commit()
    conn.close()
    line = one_error_line(*cli(data, "config", "list"), must=str(db))  # rebuilding card-x from the log fails
    assert "review_log row" in line and "replaying it fails" in line and "backup repair" in line
    code, out = cli(data, "backup", "repair")
    assert code == 0 and "Traceback" not in out, out
    assert "replaying it fails" in out
    s = open_store(data, now=T0)
    assert s.warnings == []
    for item, state in s.states().items():
        assert s.replay_item(item) == state
    assert 0 < s.review_count("card-x") < 60


def test_infinite_card_state_number_is_rebuilt_and_a_huge_one_is_one_line(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    good = open_store(data, now=T0).state("card-1")
    _edit(db, "UPDATE card_state SET interval = 1e999 WHERE item_id = 'card-1'")
    code, out = cli(data, "config", "list")
    assert (
        code == 0 and f"warning: {db}: card_state row 'card-1' could not be read (interval=inf is not a number)" in out
    ), out
    assert open_store(data, now=T0).state("card-1") == good
    _edit(db, "UPDATE card_state SET interval = 1e9 WHERE item_id = 'card-1'")
    s = open_store(data, now=T0)
    # a huge interval no longer overflows the calendar: answered long before that due date, the next
    # interval follows the days actually waited (and could never pass the maximum interval)
    after = s.answer("card-1", 3, T0 + timedelta(days=3))
    assert after.due is not None and after.interval < 36500
    s.close()
    assert cli(data, "backup", "repair")[0] == 0
    s = open_store(data, now=T0)
    assert s.state("card-1") == s.replay_item("card-1")


def test_undo_of_an_edited_state_before(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    before = json.dumps({"item_id": "card-2", "scheduler": "sm2", "phase": "limbo"})
    _edit(db, "UPDATE review_log SET state_before = ? WHERE id = 6", before)
    s = Store(db, check_rows=False)
    with pytest.raises(StorageError) as info:
        s.undo_last(T0 + timedelta(hours=1))
    assert "review_log row 6" in info.value.message and "phase='limbo'" in info.value.message
    assert len(s.log_rows()) == 6  # nothing written


# --------------------------------------------------------------------------- read-only (file permissions)


def _as_nobody(fn) -> tuple[int, str]:
    """Run ``fn() -> (code, out)`` with file permissions binding: as root, in a child dropped to nobody."""
    if os.geteuid() != 0:
        return fn()
    if not hasattr(os, "fork"):  # pragma: no cover
        pytest.skip("needs fork to drop root privileges")
    read_fd, write_fd = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        try:
            os.close(read_fd)
            os.setgroups([])
            os.setgid(65534)
            os.setuid(65534)
            code, out = fn()
            os.write(write_fd, json.dumps([code, out]).encode())
        except BaseException as exc:  # noqa: BLE001 - report anything to the parent
            os.write(write_fd, json.dumps([99, f"child failed: {exc!r}"]).encode())
        finally:
            os._exit(0)
    os.close(write_fd)
    chunks = []
    while chunk := os.read(read_fd, 65536):
        chunks.append(chunk)
    os.close(read_fd)
    os.waitpid(pid, 0)
    code, out = json.loads(b"".join(chunks))
    return code, out


@pytest.fixture
def shared_dir():
    """A folder ``nobody`` can reach (pytest's tmp_path is private to root)."""
    d = Path(tempfile.mkdtemp(prefix="mi-prep-ro-"))
    d.chmod(0o777)
    yield d
    for root, _dirs, _files in os.walk(d):
        os.chmod(root, 0o777)
    import shutil

    shutil.rmtree(d, ignore_errors=True)


def _give_to_nobody(path: Path) -> None:
    if os.geteuid() == 0:
        for root, _dirs, files in os.walk(path):
            os.chown(root, 65534, 65534)
            for f in files:
                os.chown(os.path.join(root, f), 65534, 65534)


def _prepare(shared_dir: Path) -> Path:
    data = shared_dir / "data"
    make_history(data)
    open_store(data, now=T0 + timedelta(days=1)).close()
    for side in ("-wal", "-shm"):
        (data / f"mi-prep.db{side}").unlink(missing_ok=True)
    _give_to_nobody(data)
    return data


def test_read_only_data_dir(shared_dir):
    data = _prepare(shared_dir)
    data.chmod(0o555)
    line = one_error_line(*_as_nobody(lambda: cli(data, "config", "list")), must=str(data / "mi-prep.db"))
    assert "read-only" in line and "chmod u+w" in line and "start mi-prep again" in line


def test_read_only_db_file(shared_dir):
    data = _prepare(shared_dir)
    (data / "mi-prep.db").chmod(0o444)
    line = one_error_line(
        *_as_nobody(lambda: cli(data, "config", "set", "new-per-day", "5")), must=str(data / "mi-prep.db")
    )
    assert "read-only" in line and "chmod u+rw" in line and "start mi-prep again" in line


def test_cannot_create_data_dir(shared_dir):
    parent = shared_dir / "locked"
    parent.mkdir()
    _give_to_nobody(parent)
    parent.chmod(0o555)
    line = one_error_line(*_as_nobody(lambda: cli(parent / "data", "config", "list")), must=str(parent / "data"))
    assert "cannot create the data directory" in line


# --------------------------------------------------------------------------- backups


def test_backups_daily_before_migration_and_pruned(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)  # fresh database: nothing to back up yet
    assert list_backups(db) == []
    open_store(data, now=T0 + timedelta(hours=1)).close()
    open_store(data, now=T0 + timedelta(hours=5)).close()  # same day: no second backup
    assert [b.name for b in list_backups(db)] == ["mi-prep-20260701-100000.db"]
    for day in range(1, KEEP + 4):
        open_store(data, now=T0 + timedelta(days=day)).close()
    names = [b.name for b in list_backups(db)]
    assert len(names) == KEEP and names[0] == f"mi-prep-202607{1 + KEEP + 3:02d}-090000.db"
    # a backup is a complete, self-contained copy
    conn = sqlite3.connect(list_backups(db)[0].path)
    assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "delete"
    assert conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0] == 6


def test_backup_list_now_restore_journey(tmp_path):
    data = tmp_path / "data"
    db = make_history(data, 6)
    code, out = cli(data, "backup", "list")
    assert code == 0 and "no backups yet" in out
    code, out = cli(data, "backup", "now", now=T0 + timedelta(hours=2))
    assert code == 0 and "mi-prep-20260701-110000.db" in out
    s = open_store(data, now=T0 + timedelta(hours=3))
    s.answer("card-9", 1, T0 + timedelta(hours=3))  # after the backup: lost by the restore
    s.close()
    code, out = cli(data, "backup", "list", now=T0 + timedelta(hours=3))
    assert code == 0 and "mi-prep-20260701-110000.db  2026-07-01 11:00 UTC" in out and "6 reviews" in out
    # the database gets damaged
    raw = bytearray(db.read_bytes())
    raw[100 : 4096 * 3] = os.urandom(4096 * 3 - 100)
    db.write_bytes(bytes(raw))
    for side in ("-wal", "-shm"):
        (data / f"mi-prep.db{side}").unlink(missing_ok=True)
    code, out = cli(data, "config", "list")
    assert code == 1 and "backup restore latest" in out
    code, out = cli(data, "backup", "restore", "latest", now=T0 + timedelta(hours=4))
    assert code == 0, out
    assert "restored mi-prep-20260701-110000.db" in out and "6 reviews" in out
    assert "damaged database it replaced was kept as" in out
    assert (data / "mi-prep.db.damaged-20260701-130000").exists()
    s = open_store(data, now=T0 + timedelta(hours=4))
    assert s.integrity_check() == "ok" and len(s.log_rows()) == 6
    assert s.state("card-9") is None
    for item, state in s.states().items():
        assert s.replay_item(item) == state


def test_restore_keeps_a_readable_current_database_as_a_backup(tmp_path):
    data = tmp_path / "data"
    db = make_history(data, 3)
    code, out = cli(data, "backup", "now")
    first = list_backups(db)[0].name
    s = open_store(data, now=T0 + timedelta(minutes=30))
    s.answer("card-7", 4, T0 + timedelta(minutes=30))
    s.close()
    code, out = cli(data, "backup", "restore", first, now=T0 + timedelta(hours=1))
    assert code == 0 and "was saved as backup mi-prep-20260701-100000.db" in out, out
    s = open_store(data, now=T0, daily_backup=False)
    assert len(s.log_rows()) == 3
    s.close()  # restore refuses while another copy has the database open
    # and back again
    code, out = cli(data, "backup", "restore", "mi-prep-20260701-100000", now=T0 + timedelta(hours=2))
    assert code == 0, out
    s = open_store(data, now=T0, daily_backup=False)
    assert len(s.log_rows()) == 4
    s.close()


def test_restore_refuses_while_another_copy_is_open_and_bad_names(tmp_path):
    data = tmp_path / "data"
    db = make_history(data, 3)
    cli(data, "backup", "now")
    running = open_store(data, now=T0)
    running.states()
    code, out = cli(data, "backup", "restore", "latest")
    one_error_line(code, out, must="is open in another mi-prep")
    running.close()
    code, out = cli(data, "backup", "restore", "nope")
    one_error_line(code, out, must="no backup named 'nope'")
    code, out = cli(data, "backup", "restore")
    assert code == 2
    # a damaged backup is refused, the database stays as it is
    b = list_backups(db)[0].path
    b.write_bytes(b.read_bytes()[:5000])
    code, out = cli(data, "backup", "restore", "latest")
    one_error_line(code, out, must="cannot be restored")
    assert len(open_store(data, now=T0, daily_backup=False).log_rows()) == 3


def test_error_messages_point_to_backups_only_when_there_are_some(tmp_path):
    data = tmp_path / "data"
    data.mkdir()
    (data / "mi-prep.db").write_bytes(b"x" * 5000)
    code, out = cli(data, "config", "list")
    assert "there are no backups" in out and "backup list" not in out


# --------------------------------------------------------------------------- a damaged database is never backed up


def _damage_an_index(db: Path) -> None:
    """Garble the card_state due index: the tables still read (mi-prep opens), ``quick_check`` fails."""
    conn = sqlite3.connect(db)
    root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'idx_card_state_due'").fetchone()[0]
    size = conn.execute("PRAGMA page_size").fetchone()[0]
    conn.close()
    with open(db, "r+b") as f:
        f.seek((root - 1) * size + 8)
        f.write(b"\xff" * 200)


def test_backup_now_and_repair_refuse_a_damaged_database_and_keep_the_good_backup(tmp_path):
    data = tmp_path / "data"
    db = make_history(data, 30)
    code, out = cli(data, "backup", "now", now=T0 + timedelta(hours=1))
    good = list_backups(db)
    assert code == 0 and len(good) == 1
    _damage_an_index(db)
    for i in range(KEEP + 2):
        later = T0 + timedelta(hours=2 + i)
        for argv, must in (
            (["backup", "now"], "so no backup was made of it (the existing backups are kept)"),
            (["backup", "repair"], "repair cannot fix that and changed nothing"),
        ):
            code, out = cli(data, *argv, now=later)
            line = one_error_line(code, out, must=f"{db} is damaged (quick_check: ")
            assert must in line and "backup restore latest" in line and out.count("\n") == 1
    assert list_backups(db) == good
    assert not list(data.glob("*.damaged-*"))  # a refused repair copies nothing aside either
    code, out = cli(data, "backup", "restore", "latest", now=T0 + timedelta(days=1))
    assert code == 0 and f"restored {good[0].name}" in out and "damaged database it replaced was kept" in out
    assert cli(data, "backup", "now", now=T0 + timedelta(days=1, hours=1))[0] == 0


def test_pruning_never_deletes_the_newest_good_backup(tmp_path):
    from mi_prep.core.store.backups import prune

    data = tmp_path / "data"
    db = make_history(data)
    cli(data, "backup", "now", now=T0)
    good = list_backups(db)[0].path
    for i in range(KEEP + 1):  # newer backups that are all damaged (made by an older mi-prep, say)
        broken = good.with_name(f"mi-prep-20260702-{i:02d}0000.db")
        broken.write_bytes(good.read_bytes()[:5000])
    removed = prune(db)
    assert good.exists() and len(removed) == 1 and good not in removed
    assert len(list_backups(db)) == KEEP + 1
    # restore latest passes over the damaged ones
    code, out = cli(data, "backup", "restore", "latest", now=T0 + timedelta(days=2))
    assert code == 0 and f"restored {good.name}" in out, out
    assert f"skipped backup mi-prep-20260702-{KEEP:02d}0000.db: it cannot be restored" in out
    # once a good backup is the newest, the old one may go
    open_store(data, now=T0 + timedelta(days=3)).close()
    assert len(list_backups(db)) == KEEP


def test_dropped_table_is_never_backed_up_and_repair_recreates_it(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    cli(data, "backup", "now", now=T0 + timedelta(hours=1))
    good = list_backups(db)
    states = open_store(data, now=T0).states()
    _edit(db, "DROP TABLE card_state")
    line = one_error_line(*cli(data, "config", "list"), must=f"{db} is missing part of its structure")
    assert "no such table: card_state" in line and "backup repair" in line
    line = one_error_line(*cli(data, "backup", "now", now=T0 + timedelta(hours=2)), must="missing part of its")
    assert "backup repair` to recreate it" in line and list_backups(db) == good
    s = Store(db, check_rows=False)
    with pytest.raises(StorageError) as info:
        make_backup(s.db.conn, db, T0 + timedelta(hours=2))
    s.close()
    assert "(no table card_state), so no backup was made of it (the existing backups are kept)" in info.value.message
    assert "backup repair` to recreate it" in info.value.message and list_backups(db) == good
    code, out = cli(data, "backup", "repair", now=T0 + timedelta(hours=3))
    assert code == 0, out
    copy = data / "mi-prep.db.damaged-20260701-120000"
    assert f"copied aside first as {copy}" in out and "recreated missing table(s) card_state" in out
    assert list_backups(db) == good  # the broken file did not go into the rotation
    conn = sqlite3.connect(copy)
    assert conn.execute("SELECT COUNT(*) FROM sqlite_master WHERE name = 'card_state'").fetchone()[0] == 0
    assert conn.execute("SELECT COUNT(*) FROM review_log").fetchone()[0] == 6
    conn.close()
    s = open_store(data, now=T0)
    assert s.states() == states and s.warnings == []
    s.close()


def test_dropped_review_log_repair_refuses_and_restore_skips_a_broken_backup(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    cli(data, "backup", "now", now=T0 + timedelta(hours=1))
    good = list_backups(db)[0]
    broken = good.path.with_name("mi-prep-20260701-110000.db")  # an older mi-prep backed up a broken file
    broken.write_bytes(good.path.read_bytes())
    _edit(broken, "DROP TABLE card_state")
    code, out = cli(data, "backup", "list")
    assert "mi-prep-20260701-110000.db" in out and "! damaged: no table card_state" in out
    _edit(db, "DROP TABLE review_log")
    line = one_error_line(
        *cli(data, "backup", "repair", now=T0 + timedelta(hours=2)), must=f"{db} has no review_log table"
    )
    assert "changed nothing" in line and "backup restore latest" in line
    assert not list(data.glob("*.damaged-*")) and len(list_backups(db)) == 2
    code, out = cli(data, "backup", "restore", "latest", now=T0 + timedelta(hours=3))
    assert code == 0 and "skipped backup mi-prep-20260701-110000.db" in out and f"restored {good.name}" in out
    assert "damaged database it replaced was kept as" in out  # not rotated in as a backup
    s = open_store(data, now=T0, daily_backup=False)
    assert len(s.log_rows()) == 6
    s.close()


# --------------------------------------------------------------------------- the backups folder is a file


def test_backups_folder_that_is_a_file(tmp_path):
    data = tmp_path / "data"
    db = make_history(data)
    (data / "backups").write_text("not a folder")
    must = f"{data / 'backups'} is a file, not the backups folder; move it away"
    for argv in (["backup", "now"], ["backup", "list"], ["backup", "repair"], ["backup", "restore", "latest"]):
        code, out = cli(data, *argv)
        one_error_line(code, out, must=must)
        assert "Errno" not in out and "no backups yet" not in out
    code, out = cli(data, "config", "list", now=T0 + timedelta(days=1))  # the daily backup: a warning only
    assert code == 0 and f"warning: the daily backup was not written: {must}" in out
    assert (data / "backups").read_text() == "not a folder"
    assert len(open_store(data, now=T0, daily_backup=False).log_rows()) == 6 and db.exists()


def test_restore_over_an_immutable_database_says_so(tmp_path):
    import shutil
    import subprocess

    data = tmp_path / "data"
    db = make_history(data)
    cli(data, "backup", "now")
    if shutil.which("chattr") is None or subprocess.run(["chattr", "+i", str(db)], capture_output=True).returncode:
        pytest.skip("needs chattr +i (root with CAP_LINUX_IMMUTABLE)")
    try:
        line = one_error_line(
            *cli(data, "backup", "restore", "latest"),
            must=f"cannot replace {db} (operation not permitted); make it writable",
        )
        assert "chattr -i" in line and "the current database was left in place" in line
        assert len(list_backups(db)) == 1
    finally:
        subprocess.run(["chattr", "-i", str(db)], check=True)
