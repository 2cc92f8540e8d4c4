"""Deck loading and validation, including bad YAML."""

from __future__ import annotations

import dataclasses
import json
import textwrap
from pathlib import Path

import pytest

from mi_prep.core.deck import (
    MAX_DECK_BYTES,
    Card,
    cloze_numbers,
    deck_json_schema,
    load_deck_file,
    load_decks,
    parse_cloze,
    render_cloze,
)

GOOD = """\
id: demo
name: Demo deck
tags: [demo]
cards:
  - id: demo-basic
    type: basic
    front: What is the residual stream?
    back: The running sum every layer reads from and writes to.
    source: Elhage et al. 2021
  - id: demo-cloze
    type: cloze
    front: "EF starts at {{c1::2.5}} and never drops below {{c2::1.3::a number}}"
    source: Wozniak 1990
  - id: demo-choice
    type: choice
    front: Which head copies the token after a previous match?
    options:
      - text: Previous-token head
        why: It attends one back.
      - text: Induction head
        correct: true
    source: Olsson et al. 2022
  - id: demo-explain
    type: explain
    front: Walk me through an induction head.
    back: A previous-token head writes "my previous token was A"; the induction head's keys read it.
    key_points:
      - Previous-token head in an earlier layer
      - {text: K-composition, terms: [k-composition, keys]}
      - Copies the token that followed
    source: Olsson et al. 2022
  - id: demo-reverse
    type: reverse
    front: QK circuit
    back: Decides where a head attends
    source: Elhage et al. 2021
"""


def write(tmp_path: Path, name: str, text: str) -> Path:
    p = tmp_path / name
    p.write_text(textwrap.dedent(text), encoding="utf-8")
    return p


def test_good_deck_loads_with_lines_and_items(tmp_path):
    write(tmp_path, "demo.yaml", GOOD)
    ds = load_decks(tmp_path)
    assert ds.issues == []
    [deck] = ds.decks
    assert [c.id for c in deck.deck.cards] == [
        "demo-basic",
        "demo-cloze",
        "demo-choice",
        "demo-explain",
        "demo-reverse",
    ]
    assert deck.card_lines["demo-basic"] == 5
    assert deck.card_lines["demo-choice"] == 14
    idx = ds.card_index()
    assert idx["demo-cloze"][1].item_ids() == ["demo-cloze#c1", "demo-cloze#c2"]
    assert idx["demo-reverse"][1].item_ids() == ["demo-reverse", "demo-reverse#rev"]
    assert idx["demo-choice"][1].correct_index == 1
    kp = idx["demo-explain"][1].key_points
    assert kp[1].match_terms() == ("k composition", "keys")
    assert kp[0].match_terms() == ("previous", "token", "head", "earlier", "layer")


def test_cloze_render_and_parse():
    text = "EF starts at {{c1::2.5}} and floors at {{c2::1.3::a number}}"
    assert cloze_numbers(text) == [1, 2]
    assert render_cloze(text, 2, reveal=False) == "EF starts at 2.5 and floors at [a number]"
    assert render_cloze(text, 1, reveal=False) == "EF starts at [...] and floors at 1.3"
    assert render_cloze(text, 1, reveal=True) == "EF starts at [2.5] and floors at 1.3"
    with pytest.raises(ValueError, match="space before"):
        parse_cloze(r"ratio {{c1::$\frac{a}{b}}}$")
    assert parse_cloze(r"ratio {{c1::$\frac{a}{b}$ }}")[0][1] == r"$\frac{a}{b}$ "
    with pytest.raises(ValueError, match="not closed"):
        parse_cloze("{{c1::open")
    with pytest.raises(ValueError, match="at least one deletion"):
        parse_cloze("no deletions")


@pytest.mark.parametrize(
    "text, needle",
    [
        ("id: x\nname: [unclosed\n", "YAML syntax error"),
        ("", "file is empty"),
        ("# only a comment\n", "no YAML document"),
        ("- just\n- a list\n", "top level must be a mapping"),
        ("id: x\nname: X\ncards: !!python/name:os.system\n", "YAML tag '!!python/name:os.system' is not allowed"),
        ("id: x\nname: X\nbase: &b {front: q}\ncards:\n  - *b\n", "aliases"),
        ("id: x\nname: X\nname: Y\ncards: []\n", "duplicate key 'name'"),
        ("id: x\nname: X\ncards: 5\n", "'cards' must be a list"),
        ("id: Bad Deck\nname: X\ncards: []\n", "lowercase slug"),
        ("id: x\ncards: []\n", "missing required field 'name'"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path, text, needle):
    p = write(tmp_path, "bad.yaml", text)
    deck, issues = load_deck_file(p)
    assert deck is None
    assert issues and needle in issues[0].message, issues
    assert str(p) in str(issues[0])


def test_unsafe_tag_never_executes(tmp_path):
    marker = tmp_path / "pwned"
    write(tmp_path, "evil.yaml", f"id: x\nname: X\ncards:\n  - !!python/object/apply:os.system ['touch {marker}']\n")
    ds = load_decks(tmp_path)
    assert not marker.exists()
    assert ds.errors and "YAML tag '!!python/object/apply:os.system' is not allowed" in ds.errors[0].message


@pytest.mark.parametrize(
    "card, needle, line",
    [
        ("  - id: a\n    type: basic\n    front: q\n", "needs a non-empty 'back'", 4),
        ("  - id: a\n    type: flash\n    front: q\n    back: b\n", "'type'", 5),
        ("  - id: a\n    front: q\n    back: b\n    difficulty: 7\n", "'difficulty'", 7),
        ("  - id: a\n    front: q\n    back: b\n    tags: {x: 5}\n", "'tags'", 7),
        ("  - id: a\n    front: q\n    back: b\n    colour: red\n", "unknown field 'colour'", 7),
        ("  - id: a\n    type: cloze\n    front: no deletion\n", "at least one deletion", 6),
        (
            "  - id: a\n    front: !!python/object/apply:os.system [ls]\n    back: b\n",
            "'!!python/object/apply:os.system' is not allowed",
            5,
        ),
        ("  - id: a\n    type: choice\n    front: q\n    options: [{text: x}, {text: y}]\n", "exactly one option", 4),
        (
            "  - id: a\n    type: choice\n    front: q\n    options: [{text: x, correct: true}, {text: y, correct: true}]\n",
            "exactly one option",
            4,
        ),
        (
            "  - id: a\n    type: explain\n    front: q\n    back: b\n    key_points: [one, two]\n",
            "at least 3 'key_points'",
            4,
        ),
        ("  - id: a\n    type: basic\n    front: 'x {{c1::y}}'\n    back: b\n", "only work on type: cloze", 6),
        ("  - just a string\n", "must be a mapping", 4),
    ],
)
def test_bad_cards_name_file_line_and_card(tmp_path, card, needle, line):
    p = write(
        tmp_path,
        "d.yaml",
        "id: d\nname: D\ncards:\n" + card + "  - id: ok\n    front: fine\n    back: good\n    source: s\n",
    )
    ds = load_decks(tmp_path)
    assert [c.id for _, c in ds.cards()] == ["ok"], "the good card must still load"
    [err] = ds.errors
    assert needle in err.message
    assert err.path == str(p)
    assert err.line == line
    if "mapping" not in needle:
        assert err.card_id == "a"
        assert "card 'a'" in str(err)


def test_duplicate_ids_name_both_places(tmp_path):
    write(tmp_path, "a.yaml", "id: a\nname: A\ncards:\n  - id: same\n    front: q\n    back: b\n    source: s\n")
    write(
        tmp_path,
        "b.yaml",
        "id: b\nname: B\ncards:\n  - id: other\n    front: q\n    back: b\n    source: s\n  - id: same\n    front: q2\n    back: b2\n    source: s\n",
    )
    ds = load_decks(tmp_path)
    [err] = ds.errors
    assert err.card_id == "same" and err.path.endswith("b.yaml") and err.line == 8
    assert "a.yaml:4" in err.message
    assert sorted(c.id for _, c in ds.cards()) == ["other", "same"]


def test_duplicate_deck_id_and_missing_source_warning(tmp_path):
    write(tmp_path, "a.yaml", "id: a\nname: A\ncards:\n  - id: x\n    front: q\n    back: b\n")
    write(tmp_path, "b.yaml", "id: a\nname: B\ncards:\n  - id: y\n    front: q\n    back: b\n    source: s\n")
    ds = load_decks(tmp_path)
    assert any("deck id 'a' is already used" in e.message for e in ds.errors)
    assert [w.card_id for w in ds.warnings] == ["x"]
    assert "source" in ds.warnings[0].message


def test_one_bad_deck_never_stops_the_others(tmp_path):
    write(tmp_path, "good.yaml", GOOD)
    write(tmp_path, "broken.yaml", "id: [\n")
    write(tmp_path, "empty.yaml", "")
    ds = load_decks(tmp_path)
    assert [d.id for d in ds.decks] == ["demo"]
    assert len(ds.errors) == 2


def test_huge_file_refused_without_reading(tmp_path):
    p = tmp_path / "huge.yaml"
    with p.open("w") as f:
        f.write("id: huge\nname: Huge\ncards:\n")
        chunk = "  - id: c{}\n    front: " + "x" * 200 + "\n    back: y\n"
        i = 0
        while f.tell() <= MAX_DECK_BYTES:
            f.write(chunk.format(i))
            i += 1
    deck, issues = load_deck_file(p)
    assert deck is None and "limit" in issues[0].message and "split" in issues[0].message


def test_large_but_allowed_deck_loads(tmp_path):
    lines = ["id: big", "name: Big", "cards:"]
    for i in range(3000):
        lines += [f"  - id: c{i}", f"    front: question {i}", f"    back: answer {i}", "    source: s"]
    write(tmp_path, "big.yaml", "\n".join(lines) + "\n")
    ds = load_decks(tmp_path)
    assert not ds.issues and len(ds.decks[0].deck.cards) == 3000
    assert ds.decks[0].card_lines["c2999"] == 4 + 4 * 2999


def test_not_utf8(tmp_path):
    (tmp_path / "latin.yaml").write_bytes(b"id: x\nname: caf\xe9\ncards: []\n")
    _, issues = load_deck_file(tmp_path / "latin.yaml")
    assert "UTF-8" in issues[0].message


def test_json_schema_validates_like_pydantic():
    schema = deck_json_schema()
    assert schema["title"] == "mi-prep deck"
    card = schema["$defs"]["Card"]
    assert set(card["properties"]["type"]["enum"]) == {"basic", "reverse", "cloze", "choice", "explain"}
    assert "id" in card["required"] and "front" in card["required"]
    json.dumps(schema)
    jsonschema = pytest.importorskip("jsonschema")
    import yaml

    jsonschema.validate(yaml.safe_load(GOOD), schema)
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate({"id": "x", "name": "X", "cards": [{"id": "a", "front": "q", "colour": 1}]}, schema)


def test_card_is_immutable():
    c = Card(id="a", front="q", back="b")
    with pytest.raises(dataclasses.FrozenInstanceError):
        c.front = "changed"  # type: ignore[misc]


def test_yaml_12_booleans_and_numbers_stay_text(tmp_path):
    write(
        tmp_path,
        "d.yaml",
        "id: d\nname: D\ncards:\n  - id: a\n    front: Is the EF floor 1.3?\n    back: yes\n    source: s\n"
        "  - id: b\n    front: 2.5\n    back: no\n    source: s\n"
        "  - id: c\n    type: choice\n    front: q\n    options: [{text: on, correct: true}, {text: off}]\n    source: s\n",
    )
    ds = load_decks(tmp_path)
    assert not ds.issues
    idx = ds.card_index()
    assert idx["a"][1].back == "yes"
    assert (idx["b"][1].front, idx["b"][1].back) == ("2.5", "no")
    assert idx["c"][1].options[0].text == "on" and idx["c"][1].correct_index == 0
