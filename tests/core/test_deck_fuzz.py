"""Seeded fuzz of the bundled decks: value swaps, wrong types, byte flips and truncation.

Each mutation breaks one copy of one bundled deck file. Loading the whole deck folder must never
raise; every error names its file and, for anything inside a file, its line; every untouched deck
still loads all its cards; nothing printed carries a control character. A sample of the mutations
also goes through check, due, review and export.

The figures (mutations tried, exceptions, errors without a line) are printed with ``-s``.
"""

from __future__ import annotations

import random
import re
import shutil
from collections import Counter

import pytest

from mi_prep.core.deck import load_decks
from mi_prep.core.locations import bundled_decks_dir
from mi_prep.core.safe_text import find_control
from tests.core.test_bad_decks import _through_every_command

SEED = 20261125
N_MUTATIONS = 600
FULL_COMMANDS_EVERY = 30  # 20 of the 600 also run check, due, review and export

NASTY_VALUES = [
    "2024-02-30",
    "2024-13-01",
    "2024-01-01 25:00:00",
    "25:00",
    "4:1",
    "12:30",
    "1:2:3",
    "010",
    "0x10",
    "2.10",
    "3.14159265358979323846264338327950288",
    "7" * 5000,
    "0x" + "f" * 5000,
    "0b" + "1" * 4400,
    "!!int abc",
    "!!float abc",
    "!!bool maybe",
    "!!timestamp x",
    "!!binary aGk=",
    "!!python/name:os.system",
    "!!set {a, b}",
    "!custom x",
    "!!null x",
    "~",
    "",
    "yes",
    "no",
    ".nan",
    "-.inf",
    "[a, b]",
    "{a: 1}",
    "[[[[[[[[x]]]]]]]]",
    "'{{c1::$\\frac{a}{b}}}'",
    "'{{c1::$\\frac{e^{x_i}}{y}$}}'",
    '"\\e[2J\\e]0;t\\a"',
    '"\\x9b31m"',
    "&a x",
    "*a",
    "@at",
    "`tick",
    "| ",
    "> ",
    "- item",
    "? q",
    "'unclosed",
    '"unclosed',
    "null",
    "true",
    "false",
    "0",
    "-1",
    "4",
    "1e400",
    "\u202eevil",
    "%YAML 1.1",
]

_FIELD = re.compile(r"^(?P<indent>\s*(?:- )?)(?P<key>[A-Za-z_]+):(?P<sep>\s+)(?P<value>\S.*)$")


def _mutate(text: bytes, rng: random.Random) -> tuple[str, bytes]:
    kind = rng.choice(["value", "value", "type", "byte", "truncate", "delete-line", "dup-line"])
    lines = text.split(b"\n")
    if kind in ("value", "type"):
        fields = [i for i, ln in enumerate(lines) if _FIELD.match(ln.decode())]
        i = rng.choice(fields)
        m = _FIELD.match(lines[i].decode())
        assert m
        value = rng.choice(NASTY_VALUES) if kind == "value" else rng.choice(["[1, 2]", "{x: y}", "~", "[]", "{}", "5"])
        lines[i] = f"{m['indent']}{m['key']}:{m['sep']}{value}".encode()
        return f"{kind} line {i + 1} {m['key']}", b"\n".join(lines)
    if kind == "byte":
        out = bytearray(text)
        for _ in range(rng.randint(1, 4)):
            pos = rng.randrange(len(out))
            out[pos] = rng.randrange(256)
        return "byte", bytes(out)
    if kind == "truncate":
        return "truncate", text[: rng.randrange(len(text))]
    i = rng.randrange(len(lines))
    if kind == "delete-line":
        del lines[i]
    else:
        lines.insert(i, lines[i])
    return f"{kind} {i + 1}", b"\n".join(lines)


@pytest.fixture(scope="module")
def bundled() -> dict[str, tuple[bytes, int]]:
    """Each bundled deck file's bytes and card count (all load cleanly to start with)."""
    src = bundled_decks_dir()
    ds = load_decks(src)
    assert not ds.errors
    counts = {d.path.name: len(d.deck.cards) for d in ds.decks}
    return {p.name: (p.read_bytes(), counts[p.name]) for p in sorted(src.glob("*.yaml"))}


@pytest.mark.slow
def test_fuzzed_bundled_decks_never_crash_and_always_say_where(tmp_path, bundled):
    rng = random.Random(SEED)
    names = sorted(bundled)
    stats: Counter[str] = Counter()
    for n in range(N_MUTATIONS):
        case = tmp_path / f"m{n}"
        deck_dir = case / "decks"
        deck_dir.mkdir(parents=True)
        for name in names:
            shutil.copyfile(bundled_decks_dir() / name, deck_dir / name)
        target = rng.choice(names)
        what, mutated = _mutate(bundled[target][0], rng)
        (deck_dir / target).write_bytes(mutated)
        label = f"mutation {n} ({what}) of {target}"

        ds = load_decks(deck_dir)  # must not raise
        stats["mutations"] += 1
        stats["with errors"] += bool(ds.errors)
        loaded = {d.path.name: len(d.deck.cards) for d in ds.decks}
        dup = any("duplicate" in e.message or "already used" in e.message for e in ds.errors)
        for name in names:
            if name != target and not dup:
                assert loaded.get(name) == bundled[name][1], f"{label}: the untouched deck {name} did not fully load"
        for issue in ds.issues:
            text = str(issue)
            assert find_control(text) is None, f"{label}: {text!r}"
            assert issue.path.endswith(".yaml"), f"{label}: {text}"
            if issue.line is None:
                stats["errors without a line"] += 1
                assert issue.message.startswith(("file is empty", "file holds no YAML document")), f"{label}: {text}"
        if n % FULL_COMMANDS_EVERY == 0:
            _through_every_command(case, deck_dir)
            stats["run through check/due/review/export"] += 1
        shutil.rmtree(case)
    print(dict(stats))
    assert stats["mutations"] == N_MUTATIONS
    assert stats["with errors"] > N_MUTATIONS // 3, "the mutations should mostly break something"
