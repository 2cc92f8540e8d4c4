"""The parsed-deck cache: unchanged decks load from it (no YAML, no pydantic), a changed file is parsed
again, a damaged entry is rebuilt, an unwritable cache only costs speed, and what it gives back is
exactly what parsing gives."""

from __future__ import annotations

import errno
import os
import subprocess
import sys
from pathlib import Path

import pytest

from mi_prep.core.deck import DeckCache, load_decks
from mi_prep.core.deck.cache import MAGIC, SUFFIX

ROOT = Path(__file__).resolve().parents[2]

DECK = """\
id: cached
name: Cached deck
tags: [t]
cards:
  - id: c-basic
    front: What is a feature?
    back: A direction.
    source: s
  - id: c-cloze
    type: cloze
    front: "Heads {{c1::move}} information, MLPs {{c2::process}} it."
    source: s
  - id: c-choice
    type: choice
    front: Which composition?
    options:
      - {text: Q, why: no}
      - {text: K, correct: true}
    source: s
  - id: c-explain
    type: explain
    front: Explain induction.
    back: Two heads.
    key_points: [previous-token head, induction head, {text: copying, terms: [copy]}]
  - id: bad
    front: no back here
    source: s
"""


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    return path


def entries(cache_dir: Path) -> list[Path]:
    return sorted(cache_dir.glob(f"*{SUFFIX}")) if cache_dir.exists() else []


def snapshot(ds):
    """Everything a DeckSet says, for comparing a cached load with a parse."""
    return ([(d.deck, d.path, d.card_lines) for d in ds.decks], [str(i) for i in ds.issues])


def test_cached_load_equals_parsing_for_every_card_type(tmp_path):
    decks = tmp_path / "decks"
    write(decks, "a.yaml", DECK)
    write(decks, "broken.yaml", "id: x\nname: [unclosed\n")
    parsed = load_decks(decks)
    assert {c.type for _, c in parsed.cards()} == {"basic", "cloze", "choice", "explain"}
    assert parsed.errors and parsed.warnings  # the bad card, the broken file, the missing source

    first = DeckCache(tmp_path / "cache")
    assert snapshot(load_decks(decks, cache=first)) == snapshot(parsed)
    assert (first.hits, first.misses) == (0, 2)
    assert len(entries(tmp_path / "cache")) == 2

    second = DeckCache(tmp_path / "cache")
    assert snapshot(load_decks(decks, cache=second)) == snapshot(parsed)
    assert (second.hits, second.misses) == (2, 0)


def test_a_changed_file_is_parsed_again_never_read_stale(tmp_path):
    decks = tmp_path / "decks"
    path = write(decks, "a.yaml", DECK)
    load_decks(decks, cache=DeckCache(tmp_path / "cache"))
    stat = path.stat()
    # same size, same modification time: only the content tells the change
    changed = DECK.replace("What is a feature?", "What is a circuit?")
    assert len(changed) == len(DECK)
    path.write_text(changed, encoding="utf-8")
    os.utime(path, ns=(stat.st_atime_ns, stat.st_mtime_ns))

    cache = DeckCache(tmp_path / "cache")
    ds = load_decks(decks, cache=cache)
    assert cache.misses == 1
    assert ds.card_index()["c-basic"][1].front == "What is a circuit?"
    assert snapshot(ds) == snapshot(load_decks(decks))


def test_the_same_bytes_at_another_path_report_their_own_path(tmp_path):
    write(tmp_path / "one", "a.yaml", DECK)
    write(tmp_path / "two", "b.yaml", DECK)
    cache = DeckCache(tmp_path / "cache")
    load_decks(tmp_path / "one", cache=cache)
    ds = load_decks(tmp_path / "two", cache=cache)
    assert cache.hits == 1
    assert ds.decks[0].path == tmp_path / "two" / "b.yaml"
    assert all(i.path == str(tmp_path / "two" / "b.yaml") for i in ds.issues)


@pytest.mark.parametrize(
    "damage",
    [
        lambda b: b[: len(b) // 2],  # truncated (a crash while writing, a full disk)
        lambda b: b[:-40] + bytes(40),  # zeroed tail
        lambda b: b[: len(MAGIC) + 10] + bytes([b[len(MAGIC) + 10] ^ 0xFF]) + b[len(MAGIC) + 11 :],  # one bit flip
        lambda b: b"",  # empty
        lambda b: b"not a cache file at all",
        lambda b: MAGIC + b"\x00\x00\x00\x00" + b"\xff" * 50,  # right header, garbage payload
    ],
    ids=["truncated", "zeroed", "bit-flip", "empty", "foreign", "garbage"],
)
def test_a_damaged_entry_is_rebuilt_from_the_file(tmp_path, damage):
    decks = tmp_path / "decks"
    write(decks, "a.yaml", DECK)
    expected = snapshot(load_decks(decks))
    load_decks(decks, cache=DeckCache(tmp_path / "cache"))
    (entry,) = entries(tmp_path / "cache")
    entry.write_bytes(damage(entry.read_bytes()))

    cache = DeckCache(tmp_path / "cache")
    assert snapshot(load_decks(decks, cache=cache)) == expected
    assert (cache.hits, cache.misses) == (0, 1)
    # rebuilt: the next load reads it again
    again = DeckCache(tmp_path / "cache")
    assert snapshot(load_decks(decks, cache=again)) == expected
    assert again.hits == 1


def test_new_parsing_code_makes_new_keys(tmp_path, monkeypatch):
    """An entry written by other deck-parsing code (another mi-prep version, an edited module) is not used."""
    decks = tmp_path / "decks"
    write(decks, "a.yaml", DECK)
    load_decks(decks, cache=DeckCache(tmp_path / "cache"))
    import mi_prep.core.deck.cache as cache_module

    monkeypatch.setattr(cache_module, "_code_fingerprint", lambda: b"other parsing code")
    cache = DeckCache(tmp_path / "cache")
    load_decks(decks, cache=cache)
    assert cache.misses == 1 and len(entries(tmp_path / "cache")) == 2


def test_a_full_disk_costs_speed_not_correctness(tmp_path, monkeypatch):
    decks = tmp_path / "decks"
    write(decks, "a.yaml", DECK)

    def no_space(self, data):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(Path, "write_bytes", no_space)
    cache = DeckCache(tmp_path / "cache")
    assert snapshot(load_decks(decks, cache=cache)) == snapshot(load_decks(decks))
    assert entries(tmp_path / "cache") == [] and list((tmp_path / "cache").iterdir()) == []


def test_a_cache_folder_that_is_a_file_is_ignored(tmp_path):
    decks = tmp_path / "decks"
    write(decks, "a.yaml", DECK)
    (tmp_path / "cache").write_text("a file where the folder should be")
    assert snapshot(load_decks(decks, cache=DeckCache(tmp_path / "cache"))) == snapshot(load_decks(decks))


def test_trimming_keeps_what_this_load_uses(tmp_path, monkeypatch):
    monkeypatch.setattr(DeckCache, "max_entries", 3)
    decks = tmp_path / "decks"
    for n in range(5):
        write(decks, f"d{n}.yaml", DECK.replace("id: cached", f"id: cached{n}").replace("c-", f"d{n}-"))
    cache = DeckCache(tmp_path / "cache")
    load_decks(decks, cache=cache)
    assert len(entries(tmp_path / "cache")) == 5  # all in use: none trimmed
    for n in range(5):  # edit every file: five new entries, the five old ones are unused now
        path = decks / f"d{n}.yaml"
        path.write_text(path.read_text() + "\n# edited\n")
    later = DeckCache(tmp_path / "cache")
    load_decks(decks, cache=later)
    kept = {p.stem for p in entries(tmp_path / "cache")}
    assert kept == later.used and len(kept) == 5


def test_reading_unchanged_decks_imports_neither_yaml_nor_pydantic(tmp_path):
    decks = tmp_path / "decks"
    write(decks, "a.yaml", DECK)
    code = (
        "import sys; from pathlib import Path; from mi_prep.core.deck import DeckCache, load_decks; "
        f"ds = load_decks(Path({str(decks)!r}), cache=DeckCache(Path({str(tmp_path / 'cache')!r}))); "
        "print(len(list(ds.cards())), 'yaml' in sys.modules, 'pydantic' in sys.modules)"
    )
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    first = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    second = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, check=True)
    assert first.stdout.split() == ["4", "True", "True"]  # parsed: the bad card left out
    assert second.stdout.split() == ["4", "False", "False"]


def test_check_no_cache_parses_every_file(tmp_path, capsys):
    from mi_prep.cli.main import main
    from mi_prep.context import AppContext

    decks = tmp_path / "decks"
    write(decks, "a.yaml", DECK)
    app = AppContext(tmp_path / "data", [decks], deck_cache_dir=tmp_path / "cache")
    assert main(["check"], app=app) == 1
    with_cache = capsys.readouterr().out
    assert len(entries(tmp_path / "cache")) == 1
    (entry,) = entries(tmp_path / "cache")
    entry.unlink()
    assert main(["check", "--no-cache"], app=app) == 1
    assert capsys.readouterr().out == with_cache
    assert entries(tmp_path / "cache") == []


@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "folder"])
def test_an_entry_that_is_not_a_regular_file_is_a_miss_never_a_hang(tmp_path, kind):
    decks = tmp_path / "decks"
    write(decks, "a.yaml", DECK)
    load_decks(decks, cache=DeckCache(tmp_path / "cache"))
    (entry,) = entries(tmp_path / "cache")
    entry.unlink()
    if kind == "fifo":
        os.mkfifo(entry)
    elif kind == "dev-zero":
        entry.symlink_to("/dev/zero")
    else:
        entry.mkdir()
    cache = DeckCache(tmp_path / "cache")
    assert snapshot(load_decks(decks, cache=cache)) == snapshot(load_decks(decks))
    assert cache.misses == 1
    if kind == "folder":  # an empty folder in the entry's place is cleared, so the entry is written again
        again = DeckCache(tmp_path / "cache")
        load_decks(decks, cache=again)
        assert again.hits == 1


def test_a_cold_cache_lists_the_folder_once_per_load(tmp_path, monkeypatch):
    decks = tmp_path / "decks"
    for n in range(30):
        write(decks, f"d{n}.yaml", DECK.replace("id: cached", f"id: cached{n}").replace("c-", f"d{n}-"))
    calls = []
    original = DeckCache.trim
    monkeypatch.setattr(DeckCache, "trim", lambda self: (calls.append(1), original(self)))
    cache = DeckCache(tmp_path / "cache")
    load_decks(decks, cache=cache)
    assert cache.written == 30 and len(calls) == 1
    load_decks(decks, cache=DeckCache(tmp_path / "cache"))
    assert len(calls) == 1  # nothing written: nothing to trim


def test_trimming_clears_temporary_files_a_crash_left(tmp_path):
    decks = tmp_path / "decks"
    write(decks, "a.yaml", DECK)
    folder = tmp_path / "cache"
    folder.mkdir()
    old, fresh = folder / ".abc.123.tmp", folder / ".def.456.tmp"
    old.write_bytes(b"half")
    fresh.write_bytes(b"being written")
    os.utime(old, (1, 1))
    load_decks(decks, cache=DeckCache(folder))
    assert not old.exists() and fresh.exists()


def test_the_key_covers_the_code_and_libraries_a_parse_depends_on():
    from mi_prep.core.deck.cache import _code_fingerprint

    text = _code_fingerprint().decode()
    for needed in ("validation.py", "parsing.py", "yaml_loading.py", "safe_text.py", "pydantic", "yaml"):
        assert needed in text, needed
