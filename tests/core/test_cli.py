"""CLI: check, review persisting across restarts, due, stats, schema, config, version, lazy imports."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from mi_prep.cli import main
from mi_prep.context import AppContext

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)
DECK = """\
id: demo
name: Demo
tags: [demo]
cards:
  - id: demo-a
    front: What does an induction head do?
    back: Finds an earlier copy of the current token and predicts what followed it.
    source: Olsson et al. 2022
  - id: demo-b
    type: choice
    front: Which layer holds the previous-token head?
    options:
      - text: An earlier layer
        correct: true
      - text: A later layer
        why: It must run before the induction head reads it.
    source: Olsson et al. 2022
"""


def run(tmp_path: Path, argv: list[str], stdin: str = "", now: datetime = T0) -> tuple[int, str]:
    out = io.StringIO()
    app = AppContext(tmp_path / "data", [tmp_path / "decks"], stdin=io.StringIO(stdin), stdout=out, clock=lambda: now)
    code = main(argv, app=app)
    return code, out.getvalue()


@pytest.fixture
def decks(tmp_path):
    d = tmp_path / "decks"
    d.mkdir()
    (d / "demo.yaml").write_text(DECK)
    return d


def test_check_ok_and_errors(tmp_path, decks):
    code, out = run(tmp_path, ["check"])
    assert code == 0 and "1 decks, 2 cards, 0 errors, 0 warnings" in out
    (decks / "bad.yaml").write_text("id: bad\nname: Bad\ncards:\n  - id: x\n    type: basic\n    front: q\n")
    code, out = run(tmp_path, ["check", str(decks)])
    assert code == 1
    assert f"{decks / 'bad.yaml'}:4: error: card 'x': a basic card needs a non-empty 'back'" in out


def test_review_persists_across_restarts(tmp_path, decks):
    code, out = run(tmp_path, ["review"], stdin="\n3\n1\n\n")
    assert code == 0, out
    assert "Correct: 1. An earlier layer" in out
    assert "2 answers saved." in out
    # restart: nothing new is left today
    code, out = run(tmp_path, ["review"], stdin="")
    assert "No more cards are due today" in out
    code, out = run(tmp_path, ["due"])
    assert "Demo" in out and "today (limits applied)      0     0     0" in out
    # the next day both are due again
    code, out = run(tmp_path, ["review"], stdin="\n4\n2\n\n", now=T0 + timedelta(days=1))
    assert "2 answers saved." in out
    from mi_prep.core.store import open_store

    rows = open_store(tmp_path / "data").log_rows()
    assert [(r["item_id"], r["rating"]) for r in rows] == [("demo-a", 3), ("demo-b", 3), ("demo-a", 4), ("demo-b", 1)]


def test_review_undo_suspend_quit(tmp_path, decks):
    code, out = run(tmp_path, ["review"], stdin="\n3\nu\n\n4\ns\nq\n")
    assert "Undid the answer (Good) to card demo-a (deck Demo)" in out and "suspended" in out
    assert "1 answers saved." in out
    from mi_prep.core.store import open_store

    store = open_store(tmp_path / "data")
    assert store.state("demo-a").ease == pytest.approx(2.6)
    assert store.state("demo-b").suspended


def test_stats_and_json(tmp_path, decks):
    run(tmp_path, ["review"], stdin="\n3\n1\n\n")
    code, out = run(tmp_path, ["stats", "--json"])
    data = json.loads(out)
    assert data["total_reviews"] == 2
    assert data["topics"][0]["topic"] == "demo" and data["topics"][0]["seen"] == 2
    code, out = run(tmp_path, ["stats"])
    assert "Reviews: 2 total" in out


def test_schema_and_config(tmp_path, decks):
    code, out = run(tmp_path, ["schema"])
    assert json.loads(out)["title"] == "mi-prep deck"
    assert run(tmp_path, ["config", "set", "interview-date", "2026-12-15"])[0] == 0
    assert run(tmp_path, ["config", "get", "interview-date"])[1].strip() == '"2026-12-15"'
    code, out = run(tmp_path, ["config", "set", "interview-date", "next week"])
    assert code == 2 and "bad value" in out
    code, out = run(tmp_path, ["config", "set", "scheduler", "fsrs"])
    assert code == 0 and "scheduler = fsrs" in out
    code, out = run(tmp_path, ["config", "set", "colour", "red"])
    assert code == 2 and "unknown key" in out


def _modules_after(code: str) -> set[str]:
    out = subprocess.run(
        [sys.executable, "-c", code + "\nimport sys, json; print(json.dumps(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        check=True,
    )
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


HEAVY = {"torch", "transformer_lens", "textual", "pandas", "numpy"}


def test_version_is_fast_and_imports_no_heavy_modules():
    from mi_prep import __version__

    out = subprocess.run([sys.executable, "-m", "mi_prep", "--version"], capture_output=True, text=True)
    assert out.returncode == 0 and out.stdout == f"mi-prep {__version__}\n"
    mods = _modules_after("from mi_prep.__main__ import main\nmain(['--version'])")
    assert not HEAVY & mods
    assert not {"mi_prep.context", "mi_prep.cli", "argparse", "sqlite3"} & mods  # answered before anything loads
    mods = _modules_after("from mi_prep.cli.main import build_parser\nbuild_parser()")
    assert not HEAVY & mods
    assert "mi_prep.core.session" not in mods  # commands load their machinery when they run


@pytest.mark.parametrize("command", [["due"], ["stats"], ["review", "--limit", "1"], ["cram"], ["check"]])
def test_daily_commands_import_no_heavy_modules(tmp_path, command):
    """No pandas or numpy (sqlite-utils imports both when installed), no torch, no Textual, and with the
    parsed-deck cache warm, neither YAML nor pydantic."""
    code = (
        "import io, contextlib, os\n"
        f"os.environ.update(MI_PREP_HOME={str(tmp_path / 'data')!r}, MI_PREP_CACHE={str(tmp_path / 'cache')!r})\n"
        "from mi_prep.__main__ import main\n"
        "sys_stdin = io.StringIO('')\n"
        "import sys; sys.stdin = sys_stdin\n"
        f"with contextlib.redirect_stdout(io.StringIO()): main({command!r})"
    )
    _modules_after(code)  # the first run parses the decks and fills the cache
    mods = _modules_after(code)
    assert not HEAVY & mods
    assert not {"yaml", "pydantic"} & mods


def test_daily_commands_skip_the_plugin_parsers_but_help_lists_every_command(tmp_path, capsys):
    from mi_prep.cli.main import command_named, main

    assert command_named(["--data-dir", "x", "--decks", "d", "due"]) == "due"
    assert command_named(["--decks=d", "lab", "list"]) == "lab"
    assert command_named(["--data", "check", "lab", "list"]) == "lab"  # argparse's abbreviation of --data-dir
    assert command_named(["--deck", "due", "stats"]) == "stats"
    assert command_named(["--help", "due"]) is None and command_named([]) is None
    assert command_named(["due", "--help"]) == "due"  # due's own help is in the core parser
    code = "from mi_prep.__main__ import main\nimport contextlib, io\nwith contextlib.redirect_stdout(io.StringIO()): main(['due'])"
    mods = _modules_after(
        f"import os\nos.environ.update(MI_PREP_HOME={str(tmp_path / 'd')!r}, MI_PREP_CACHE={str(tmp_path / 'c')!r})\n"
        + code
    )
    assert not {"mi_prep.cli.lab", "mi_prep.cli.drill", "mi_prep.cli.export", "mi_prep.cli.backup"} & mods
    with pytest.raises(SystemExit):
        main(["--help"])
    listed = capsys.readouterr().out
    assert all(name in listed for name in ("due", "review", "lab", "drill", "export", "backup", "cram"))
    with pytest.raises(SystemExit):
        main(["nosuch"])
    assert "invalid choice" in capsys.readouterr().err
