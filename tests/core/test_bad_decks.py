"""Bad deck input: a hand-written corpus of every class of broken value, file and directory, run
through the real commands (check, due, review, export). The seeded fuzz of the bundled decks is in
test_deck_fuzz.py.

For every case: no exception escapes a command, the error names the file and the line (and the card
when there is one), the good card beside the bad one and the other deck still load, and nothing
printed carries a control character.
"""

from __future__ import annotations

import io
import os
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mi_prep.cli import main
from mi_prep.context import AppContext
from mi_prep.core.deck import MAX_DECK_BYTES, load_decks, render_cloze
from mi_prep.core.safe_text import find_control

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)

OTHER = """\
id: other
name: Other
cards:
  - id: other-a
    front: A card in another deck
    back: It must load whatever the broken deck holds.
    source: test
"""

HEAD = """\
id: broken
name: Broken
cards:
  - id: good-card
    front: This card is fine
    back: and must load
    source: test
  - id: bad-card
"""
"""Every card case is appended to this: the bad card starts on line 8, its first field is line 9."""

# (case id, the bad card's fields, the line the error must name, text the message must hold)
CARD_CASES = [
    (
        "impossible-date-in-int",
        "    front: q\n    back: a\n    difficulty: 2024-02-30\n",
        11,
        "'difficulty' must be a whole number",
    ),
    ("time-in-int", "    front: q\n    back: a\n    difficulty: 25:00\n", 11, "'difficulty' must be a whole number"),
    (
        "sexagesimal-int",
        "    front: q\n    back: a\n    difficulty: 1:2:3\n",
        11,
        "'difficulty' must be a whole number",
    ),
    ("int-over-4300-digits", "    front: q\n    back: a\n    difficulty: " + "7" * 5000 + "\n", 11, "'difficulty'"),
    (
        "hex-over-4300-digits",
        "    front: q\n    back: a\n    difficulty: 0x" + "f" * 5000 + "\n",
        11,
        "'difficulty' must be a whole number",
    ),
    (
        "binary-int",
        "    front: q\n    back: a\n    difficulty: 0b" + "1" * 5000 + "\n",
        11,
        "'difficulty' must be a whole number",
    ),
    ("tag-int-abc", "    front: q\n    back: a\n    difficulty: !!int abc\n", 11, "'abc' is not a valid !!int"),
    ("tag-float-abc", "    front: q\n    back: !!float abc\n", 10, "'abc' is not a valid !!float"),
    (
        "tag-bool-maybe",
        "    front: q\n    back: a\n    difficulty: 2\n    tags: [x]\n    source: !!bool maybe\n",
        13,
        "'maybe' is not a valid !!bool",
    ),
    ("tag-timestamp", "    front: !!timestamp x\n    back: a\n", 9, "YAML tag '!!timestamp' is not allowed"),
    (
        "tag-timestamp-valid",
        "    front: q\n    back: !!timestamp 2024-01-01\n",
        10,
        "YAML tag '!!timestamp' is not allowed",
    ),
    ("tag-binary", "    front: !!binary aGVsbG8=\n    back: a\n", 9, "YAML tag '!!binary' is not allowed"),
    ("tag-set", "    front: q\n    back: a\n    tags: !!set {a, b}\n", 11, "YAML tag '!!set' is not allowed"),
    (
        "tag-python",
        "    front: !!python/object/apply:os.system [echo pwned]\n    back: a\n",
        9,
        "'!!python/object/apply:os.system' is not allowed",
    ),
    ("tag-local", "    front: !secret q\n    back: a\n", 9, "YAML tag '!secret' is not allowed"),
    ("tag-null-text", "    front: q\n    back: !!null text\n", 10, "not a valid !!null"),
    ("difficulty-out-of-range", "    front: q\n    back: a\n    difficulty: 9\n", 11, "'difficulty'"),
    (
        "correct-not-bool",
        "    type: choice\n    front: q\n    options:\n      - text: x\n        correct: maybe\n      - text: y\n",
        13,
        "must be true or false",
    ),
    ("front-is-list", "    front: [a, b]\n    back: a\n", 9, "'front' must be text, not a list"),
    ("front-is-mapping", "    front: {a: b}\n    back: a\n", 9, "'front' must be text, not a mapping"),
    ("tags-is-mapping", "    front: q\n    back: a\n    tags: {a: 1}\n", 11, "'tags' must be a list"),
    ("options-not-mappings", "    type: choice\n    front: q\n    options: [[1], [2]]\n", 11, "must be a mapping"),
    ("empty-front", "    front:\n    back: a\n", 9, "missing required field 'front'"),
    ("escape-clears-screen", '    front: "\\e[2J\\e[Hgotcha"\n    back: a\n', 9, "control character U+001B (ESC)"),
    ("osc-window-title", '    front: q\n    back: "\\e]0;pwned\\a"\n', 10, "control character U+001B (ESC)"),
    (
        "bell-in-key-point",
        '    type: explain\n    front: q\n    back: a\n    key_points: [one, "tw\\ao", three]\n',
        12,
        "control character U+0007 (BEL)",
    ),
    ("c1-csi", '    front: "x\\x9b2J"\n    back: a\n', 9, "control character U+009B"),
    ("bidi-override", '    front: "abc\\u202Edef"\n    back: a\n', 9, "control character U+202E"),
    (
        "cloze-braces-in-math",
        "    type: cloze\n    front: '{{c1::$\\frac{e^{x_i}}{\\sum_j e^{x_j}}$}}'\n",
        10,
        "closes braces opened inside the deletion",
    ),
    ("cloze-triple-brace", "    type: cloze\n    front: '{{c1::\\frac{a}{b}}}'\n", 10, "ends in '}}}'"),
    ("cloze-unclosed", "    type: cloze\n    front: '{{c1::open'\n", 10, "is not closed"),
    ("cloze-on-basic", "    front: 'x {{c1::y}}'\n    back: a\n", 9, "only work on type: cloze"),
    ("unknown-field", "    front: q\n    back: a\n    colour: red\n", 11, "unknown field 'colour'"),
    (
        "latex-in-double-quotes",
        '    front: "a \\frac{1}{2}"\n    back: a\n',
        9,
        "'\\f' is an escape for it: write LaTeX in single quotes",
    ),
    ("str-tag-on-mapping", "    front: !!str {a: 1}\n    back: a\n", 9, "'!!str' tag is on a list or mapping"),
    ("difficulty-underscore", "    front: q\n    back: a\n    difficulty: 1_0\n", 11, "'difficulty' must be 1, 2 or 3"),
    (
        "cloze-number-huge",
        "    type: cloze\n    front: '{{c99999999999999999999::a}}'\n",
        10,
        "out of range; number deletions c1 to c999",
    ),
    ("cloze-number-1000", "    type: cloze\n    front: '{{c1000::a}}'\n", 10, "out of range"),
    ("cloze-non-ascii-digit", "    type: cloze\n    front: '{{c\u0661::a}}'\n", 10, "at least one deletion"),
]


# (YAML value as written, the text it must load as): YAML 1.1 would turn each into something else
TEXT_KEPT = [
    ("4:1", "4:1"),
    ("12:30", "12:30"),
    ("1:2:3", "1:2:3"),
    ("010", "010"),
    ("0x10", "0x10"),
    ("0o17", "0o17"),
    ("0b101", "0b101"),
    ("2.10", "2.10"),
    ("1e3", "1e3"),
    (".inf", ".inf"),
    ("3.14159265358979323846264338327950288", "3.14159265358979323846264338327950288"),
    ("2024-02-30", "2024-02-30"),
    ("2024-13-01", "2024-13-01"),
    ("2024-01-01 25:00:00", "2024-01-01 25:00:00"),
    ("yes", "yes"),
    ("no", "no"),
    ("on", "on"),
    ("off", "off"),
    ("true", "true"),
    ("1_000", "1_000"),
    ("7" * 5000, "7" * 5000),
    ("+12", "+12"),
    ("-0", "-0"),
    ("'quoted 010'", "quoted 010"),
]

# whole files that cannot be read as a deck: (case id, bytes, line or None, text the message must hold)
FILE_CASES = [
    ("syntax", b"id: x\nname: [unclosed\n", 3, "YAML syntax error"),
    ("tab-indent", b"id: x\nname: X\ncards:\n\t- id: a\n", 4, "tabs are not allowed"),
    ("unquoted-colon", b"id: x\nname: X\ncards:\n  - id: a\n    front: a: b\n", 5, "quote the value"),
    (
        "latex-in-double-quotes",
        b'id: x\nname: X\ncards:\n  - id: a\n    front: "\\sum"\n',
        5,
        "backslash starts an escape",
    ),
    (
        "raw-bell-byte",
        b"id: x\nname: X\ncards:\n  - id: a\n    front: ab\x07c\n",
        5,
        "character U+0007 (BEL) at column 14",
    ),
    ("raw-escape-byte", b"id: x\nname: X\n\x1b[2J\n", 3, "U+001B (ESC)"),
    ("latin-1", b"id: x\nname: X\ncards:\n  - id: a\n    front: caf\xe9\n", 5, "not UTF-8"),
    ("empty", b"", None, "file is empty"),
    ("comment-only", b"# nothing\n", None, "no YAML document"),
    ("top-level-list", b"- a\n- b\n", 1, "top level must be a mapping"),
    ("alias", b"id: x\nname: X\nbase: &b {front: q}\ncards:\n  - *b\n", 3, "aliases"),
    ("billion-laughs", b"a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n", 1, "aliases"),
    ("merge-key", b"id: x\nname: X\ncards:\n  - <<: {front: q}\n", 4, "merge keys"),
    ("duplicate-key", b"id: x\nname: X\nname: Y\n", 3, "duplicate key 'name'"),
    ("complex-key", b"id: x\nname: X\n? [a]\n: b\n", 3, "mapping key must be plain text"),
    ("deep-nesting", b"id: x\nname: X\ncards: " + b"[" * 5000 + b"]" * 5000 + b"\n", 3, "nesting"),
    ("cards-not-list", b"id: x\nname: X\ncards: 5\n", 3, "'cards' must be a list"),
    (
        "unclosed-quote",
        b'id: x\nname: X\ncards:\n  - id: a\n    front: "never closed\n    back: b\n',
        5,
        "never closed",
    ),
    (
        "apostrophe-in-single-quotes",
        b"id: x\nname: X\ncards:\n  - id: a\n    front: 'don't'\n    back: b\n",
        5,
        "quoted as a whole",
    ),
    (
        "brackets-unquoted",
        b"id: x\nname: X\ncards:\n  - id: a\n    front: [A][B] pattern\n    back: b\n",
        5,
        "quoted as a whole",
    ),
    ("at-sign-first", b"id: x\nname: X\ncards:\n  - id: a\n    front: @x\n", 5, "may not start with @"),
    ("second-document", b"id: x\nname: X\n---\nid: y\n", 3, "remove the '---' line"),
    ("cards-tagged", b"id: x\nname: X\ncards: !!python/name:os.system\n", 3, "is not allowed"),
    ("deck-id-tagged", b"id: !!int x\nname: X\n", 1, "not a valid !!int"),
    ("deck-id-not-slug", b"id: Bad Deck\nname: X\n", 1, "lowercase slug"),
]


def _run(data: Path, decks: list[Path], argv: list[str], stdin: str = "") -> tuple[int, str]:
    out = io.StringIO()
    app = AppContext(data, decks, stdin=io.StringIO(stdin), stdout=out, clock=lambda: T0)
    code = main(argv, app=app)
    return code, out.getvalue()


def _through_every_command(tmp_path: Path, deck_dir: Path) -> dict[str, tuple[int, str]]:
    """check, due, review (two answers) and export on ``deck_dir``: any exception fails the test."""
    data = tmp_path / "data"
    results = {
        "check": _run(data, [deck_dir], ["check"]),
        "due": _run(data, [deck_dir], ["due"]),
        "review": _run(data, [deck_dir], ["review", "--limit", "2"], stdin="\n3\n\n3\n"),
        "export": _run(data, [deck_dir], ["export", "anki", "-o", str(tmp_path / "out.apkg")]),
    }
    for name, (_, out) in results.items():
        assert "Traceback" not in out, f"{name} printed a traceback:\n{out}"
        assert find_control(out) is None, f"{name} printed a control character: {out!r}"
    return results


def _deck_dir(tmp_path: Path, name: str, content: bytes | str) -> tuple[Path, Path]:
    d = tmp_path / "decks"
    d.mkdir()
    (d / "other.yaml").write_text(OTHER, encoding="utf-8")
    bad = d / name
    bad.write_bytes(content.encode("utf-8") if isinstance(content, str) else content)
    return d, bad


@pytest.mark.parametrize("case, fields, line, needle", CARD_CASES, ids=[c[0] for c in CARD_CASES])
def test_bad_card_value_names_file_line_and_card_and_the_rest_loads(tmp_path, case, fields, line, needle):
    deck_dir, bad = _deck_dir(tmp_path, "broken.yaml", HEAD + fields)
    ds = load_decks(deck_dir)
    assert sorted(c.id for _, c in ds.cards()) == ["good-card", "other-a"], ds.errors
    assert ds.errors, "the bad card must be reported"
    err = ds.errors[0]
    assert (err.path, err.line, err.card_id) == (str(bad), line, "bad-card"), str(err)
    assert needle in err.message, str(err)
    assert f"{bad}:{line}: error: card 'bad-card':" in str(err)

    results = _through_every_command(tmp_path, deck_dir)
    code, out = results["check"]
    assert code == 1 and f"{bad}:{line}:" in out
    assert re.search(r"2 decks, 2 cards, [1-9]\d* errors", out), out
    assert results["due"][0] == 0 and "Other" in results["due"][1]
    assert results["review"][0] == 0 and "2 answers saved" in results["review"][1]
    assert results["export"][0] == 0 and (tmp_path / "out.apkg").exists()


@pytest.mark.parametrize("written, expected", TEXT_KEPT, ids=[w[:20] for w, _ in TEXT_KEPT])
def test_text_fields_keep_exactly_the_characters_written(tmp_path, written, expected):
    fields = f"    front: {written}\n    back: {written}\n    source: {written}\n"
    deck_dir, _ = _deck_dir(tmp_path, "broken.yaml", HEAD + fields)
    ds = load_decks(deck_dir)
    card = ds.card_index()["bad-card"][1]
    assert (card.front, card.back, card.source) == (expected, expected, expected)


def test_tags_keep_their_text(tmp_path):
    deck_dir, _ = _deck_dir(
        tmp_path, "broken.yaml", HEAD + "    front: q\n    back: a\n    tags: [010, 4:1, 2.10, yes, 2024-02-30]\n"
    )
    card = load_decks(deck_dir).card_index()["bad-card"][1]
    assert card.tags == ("010", "4:1", "2.10", "yes", "2024-02-30")


def test_numbers_still_work_where_a_number_is_meant(tmp_path):
    fields = "    type: choice\n    front: q\n    difficulty: 3\n    options:\n      - text: 010\n        correct: true\n      - text: 4:1\n        correct: false\n"
    deck_dir, _ = _deck_dir(tmp_path, "broken.yaml", HEAD + fields)
    card = load_decks(deck_dir).card_index()["bad-card"][1]
    assert card.difficulty == 3 and [(o.text, o.correct) for o in card.options] == [("010", True), ("4:1", False)]


@pytest.mark.parametrize("case, content, line, needle", FILE_CASES, ids=[c[0] for c in FILE_CASES])
def test_unreadable_deck_file_is_one_clear_error_and_the_others_load(tmp_path, case, content, line, needle):
    deck_dir, bad = _deck_dir(tmp_path, "broken.yaml", content)
    ds = load_decks(deck_dir)
    assert [c.id for _, c in ds.cards()] == ["other-a"]
    [err] = [e for e in ds.errors if e.path == str(bad)]
    assert needle in err.message and err.line == line, str(err)
    results = _through_every_command(tmp_path, deck_dir)
    assert results["check"][0] == 1 and str(bad) in results["check"][1]
    assert results["review"][0] == 0


def test_cloze_with_spaced_braces_in_math_renders_whole(tmp_path):
    fields = "    type: cloze\n    front: 'softmax: {{c1::$\\frac{e^{x_i} }{\\sum_j e^{x_j} }$}} done'\n"
    deck_dir, _ = _deck_dir(tmp_path, "broken.yaml", HEAD + fields)
    ds = load_decks(deck_dir)
    assert not ds.errors
    card = ds.card_index()["bad-card"][1]
    assert render_cloze(card.front, 1, reveal=False) == "softmax: [...] done"
    assert render_cloze(card.front, 1, reveal=True) == "softmax: [$\\frac{e^{x_i} }{\\sum_j e^{x_j} }$] done"


# ---------------------------------------------------------------------------- files that are not files


def _special(tmp_path: Path, kind: str) -> tuple[Path, Path, str]:
    d = tmp_path / "decks"
    d.mkdir()
    (d / "other.yaml").write_text(OTHER, encoding="utf-8")
    p = d / "special.yaml"
    if kind == "fifo":
        os.mkfifo(p)
        return d, p, "FIFO"
    if kind == "dev-zero":
        p.symlink_to("/dev/zero")
        return d, p, "character device"
    if kind == "broken-link":
        p.symlink_to(d / "gone.yaml")
        return d, p, "broken symlink"
    if kind == "loop":
        p.symlink_to(p)
        return d, p, "symlink loop"
    if kind == "directory":
        p.mkdir()
        return d, p, "directory"
    if kind == "too-big":
        p.write_bytes(b"id: big\nname: Big\ndescription: '" + b"x" * (MAX_DECK_BYTES + 10) + b"'\n")
        return d, p, "byte limit"
    raise AssertionError(kind)


@pytest.mark.skipif(sys.platform == "win32", reason="FIFOs, devices and symlinks")
@pytest.mark.parametrize("kind", ["fifo", "dev-zero", "broken-link", "loop", "directory", "too-big"])
def test_special_files_are_refused_without_hanging(tmp_path, kind):
    deck_dir, p, needle = _special(tmp_path, kind)
    ds = load_decks(deck_dir)  # a FIFO opened for a blocking read would hang here
    assert [c.id for _, c in ds.cards()] == ["other-a"]
    [err] = [e for e in ds.errors if e.path == str(p)]
    assert needle in err.message, str(err)
    results = _through_every_command(tmp_path, deck_dir)
    assert results["check"][0] == 1 and f"{p}:" in results["check"][1]


def test_unreadable_deck_directory_is_an_error_not_zero_decks(tmp_path, monkeypatch):
    d = tmp_path / "decks"
    d.mkdir()
    real_scandir = os.scandir

    def denied(path):  # chmod 000 does not bind for root, so the denial is simulated too
        if Path(path) == d:
            raise PermissionError(13, "Permission denied", str(path))
        return real_scandir(path)

    monkeypatch.setattr(os, "scandir", denied)
    code, out = _run(tmp_path / "data", [d], ["check"])
    assert code == 1
    assert f"{d}: error: cannot list this deck directory (Permission denied)" in out


@pytest.mark.skipif(not hasattr(os, "geteuid") or os.geteuid() == 0, reason="root reads any directory")
def test_unreadable_deck_directory_for_real(tmp_path):
    d = tmp_path / "decks"
    d.mkdir()
    (d / "a.yaml").write_text(OTHER)
    d.chmod(0)
    try:
        code, out = _run(tmp_path / "data", [d], ["check"])
    finally:
        d.chmod(0o755)
    assert code == 1 and "cannot list this deck directory" in out


def test_missing_deck_path_is_an_error(tmp_path):
    code, out = _run(tmp_path / "data", [tmp_path / "nope"], ["check"])
    assert code == 1 and "no such file or directory" in out


# ---------------------------------------------------------------------------- what reaches the terminal


def test_check_never_prints_control_characters_from_a_deck(tmp_path):
    # a control character in a key (reported by name) and in a card id
    content = HEAD.replace("bad-card", "bad\x1bcard") + "    front: q\n    back: a\n    \x7fkey: 1\n"
    deck_dir, bad = _deck_dir(tmp_path, "broken.yaml", content)
    code, out = _run(tmp_path / "data", [deck_dir], ["check"])
    assert code == 1 and find_control(out) is None and str(bad) in out


ENCODINGS = ["ascii", "latin-1"]


@pytest.mark.parametrize("encoding", ENCODINGS)
def test_review_on_a_terminal_that_is_not_utf8_degrades_instead_of_crashing(tmp_path, encoding):
    import subprocess

    d = tmp_path / "decks"
    d.mkdir()
    (d / "u.yaml").write_text(
        'id: u\nname: Ünïcode → deck\ncards:\n  - id: u1\n    front: "Is café — x→y “quoted” 𝛼?"\n'
        '    back: "Yes — ∑ and ▓"\n    source: test\n',
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONIOENCODING": encoding, "MI_PREP_HOME": str(tmp_path / "data")}
    proc = subprocess.run(
        [sys.executable, "-m", "mi_prep", "--decks", str(d), "review", "--limit", "1"],
        input="\n3\n".encode(encoding),
        capture_output=True,
        env=env,
        timeout=60,
    )
    out = proc.stdout.decode(encoding)
    assert proc.returncode == 0, proc.stderr.decode(errors="replace")
    assert "Traceback" not in proc.stderr.decode(errors="replace")
    assert "1 answers saved" in out and "caf" in out and "x->y" in out


def test_error_lines_always_name_file_and_line_for_card_errors(tmp_path):
    body = "".join(f"  - id: bad-{i}\n{fields}" for i, (_, fields, _, _) in enumerate(CARD_CASES))
    deck_dir, bad = _deck_dir(tmp_path, "broken.yaml", HEAD.replace("  - id: bad-card\n", "") + body)
    ds = load_decks(deck_dir)
    assert sorted(c.id for _, c in ds.cards()) == ["good-card", "other-a"]
    cards_with_errors = {e.card_id for e in ds.errors}
    assert cards_with_errors == {f"bad-{i}" for i in range(len(CARD_CASES))}
    for e in ds.errors:
        assert re.match(rf"{re.escape(str(bad))}:\d+: error: card 'bad-\d+':", str(e)), str(e)


def test_the_same_deck_given_twice_is_read_once(tmp_path):
    deck_dir, _ = _deck_dir(tmp_path, "broken.yaml", HEAD + "    front: q\n    back: a\n")
    ds = load_decks(deck_dir, deck_dir / "other.yaml", deck_dir)
    assert not ds.errors and sorted(c.id for _, c in ds.cards()) == ["bad-card", "good-card", "other-a"]


def test_a_folder_without_decks_is_a_warning(tmp_path):
    (tmp_path / "empty").mkdir()
    code, out = _run(tmp_path / "data", [tmp_path / "empty"], ["check"])
    assert "no deck files (*.yaml, *.yml) in this folder" in out and "1 warnings" in out
