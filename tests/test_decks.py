"""The bundled curriculum in decks/: loads cleanly, covers the topics, every card is well-formed.

These checks read the YAML independently of the loader as well, so a loader bug that silently
drops cards (or a deck that loses cards to a duplicate id) still fails here.
"""

from __future__ import annotations

import io
import re
from collections import Counter
from pathlib import Path

import jsonschema
import pytest
import yaml

from mi_prep.cli import main
from mi_prep.context import AppContext
from mi_prep.core.deck import deck_json_schema, load_decks, parse_cloze, render_cloze
from mi_prep.core.locations import bundled_decks_dir

DECKS = bundled_decks_dir()
FILES = sorted(DECKS.glob("*.yaml"))


@pytest.fixture(scope="module")
def deckset():
    return load_decks(DECKS)


@pytest.fixture(scope="module")
def raw_cards() -> list[tuple[Path, dict]]:
    out = []
    for f in FILES:
        data = yaml.safe_load(f.read_text(encoding="utf-8"))
        out.extend((f, c) for c in data["cards"])
    return out


def test_loads_with_no_errors_or_warnings(deckset):
    assert FILES, f"no deck files in {DECKS}"
    assert [str(i) for i in deckset.issues] == []
    assert len(deckset.decks) == len(FILES)


def test_mi_prep_check_passes_strict(tmp_path):
    out = io.StringIO()
    app = AppContext(tmp_path / "data", [DECKS], stdin=io.StringIO(""), stdout=out)
    code = main(["check", "--strict", str(DECKS)], app=app)
    assert code == 0, out.getvalue()
    assert re.search(r"\d+ decks, \d+ cards, 0 errors, 0 warnings", out.getvalue())


def test_size_and_card_types(deckset, raw_cards):
    cards = [c for _, c in deckset.cards()]
    assert len(deckset.decks) >= 10
    assert len(cards) >= 200
    assert len(cards) == len(raw_cards), "the loader dropped cards"
    types = Counter(c.type for c in cards)
    assert set(types) == {"basic", "reverse", "cloze", "choice", "explain"}, types
    for d in deckset.decks:
        per = {c.type for c in d.deck.cards}
        assert {"cloze", "choice", "explain"} <= per, f"{d.path.name} lacks a card type: {per}"


def test_ids_unique_across_all_files(raw_cards):
    ids = Counter(c["id"] for _, c in raw_cards)
    assert [i for i, n in ids.items() if n > 1] == []
    deck_ids = Counter(yaml.safe_load(f.read_text())["id"] for f in FILES)
    assert [i for i, n in deck_ids.items() if n > 1] == []


def test_every_card_has_a_source_and_every_deck_a_topic(deckset):
    for d in deckset.decks:
        assert len(d.deck.tags) == 1, f"{d.path.name}: one topic tag per deck (drills and stats group by it)"
        assert d.deck.description, f"{d.path.name}: needs a description"
        for c in d.deck.cards:
            assert len(c.source) >= 8, f"{c.id}: source too thin: {c.source!r}"


def test_raw_yaml_states_source_and_difficulty(raw_cards):
    """The model defaults difficulty to 2; the curriculum sets it on purpose on every card."""
    for f, c in raw_cards:
        assert "source" in c, f"{f.name}: {c['id']} has no source"
        assert "difficulty" in c, f"{f.name}: {c['id']} has no difficulty"


def test_cloze_cards_parse_and_hide_their_answers(deckset):
    n = 0
    for _, c in deckset.cards():
        if c.type != "cloze":
            continue
        for number, answer, _hint in parse_cloze(c.front):
            front = render_cloze(c.front, number, reveal=False)
            back = render_cloze(c.front, number, reveal=True)
            assert "{{" not in front and "{{" not in back, c.id
            assert f"[{answer}]" in back, c.id
            n += 1
    assert n >= 20


def test_choice_cards_have_exactly_one_right_answer_and_reasons(deckset):
    for _, c in deckset.cards():
        if c.type != "choice":
            continue
        assert sum(o.correct for o in c.options) == 1, c.id
        assert len(c.options) >= 3, f"{c.id}: give at least three options"
        for o in c.options:
            if not o.correct:
                assert o.why, f"{c.id}: wrong option {o.text!r} needs a 'why'"


def test_explain_cards_have_rubrics(deckset):
    for _, c in deckset.cards():
        if c.type != "explain":
            continue
        assert len(c.key_points) >= 3, c.id
        assert len(c.back) >= 200, f"{c.id}: the model answer is too short to learn from"
        for kp in c.key_points:
            assert kp.match_terms(), f"{c.id}: key point {kp.text!r} has no terms to match"


def test_schema_validates_every_deck_file():
    schema = deck_json_schema()
    for f in FILES:
        jsonschema.validate(yaml.safe_load(f.read_text(encoding="utf-8")), schema)


# Every question of a typical mech-interp readiness quiz has an interview-style explain card.
READINESS = {
    "induction head": r"induction head",
    "SAEs vs probes": r"(sae|sparse autoencoder).*probe|probe.*(sae|sparse autoencoder)",
    "superposition": r"superposition",
    "QK vs OV": r"\bqk\b.*\bov\b|\bov\b.*\bqk\b",
    "activation vs attribution patching": r"activation patching.*attribution patching|attribution patching.*activation patching",
    "dead features": r"dead (features|latents)",
    "steering vectors": r"steering vector",
    "residual stream": r"residual stream",
    "sleeper agents": r"sleeper agent",
    "refusal direction": r"refusal direction",
    "TopK vs L1": r"topk.*l1|l1.*topk",
    "circuit analysis / IOI": r"\bioi\b",
    "influence functions": r"influence function",
    "alignment faking": r"alignment faking",
    "RSP / ASL": r"\brsp\b|responsible scaling|\basl",
}


@pytest.mark.parametrize("topic", sorted(READINESS))
def test_readiness_quiz_topic_has_an_explain_card(deckset, topic):
    rx = re.compile(READINESS[topic], re.I | re.S)
    hits = [c.id for _, c in deckset.cards() if c.type == "explain" and rx.search(c.front)]
    assert hits, f"no explain card asks about {topic}"


_NEGATION = re.compile(r"\b(not|no|never|nor|isn't|wasn't|doesn't|didn't|myth|misquote|wrong|incorrect|false)\b", re.I)
_MYTHS = {
    "~10M monosemantic features": re.compile(r"10\s*(m|million) monosemantic", re.I),
    "induction heads form at a model scale": re.compile(
        r"induction heads? (form|appear|emerge)s? (only )?(at|above) a (specific|certain|particular|critical) (model )?(scale|size)",
        re.I,
    ),
    "constitutional classifiers are SAE-based": re.compile(
        r"constitutional classifiers? (are|is|were|was) (built|derived|made) (from|on) (an? )?(sae|sparse autoencoder)",
        re.I,
    ),
}


def _claims(card) -> list[str]:
    """What a card asserts: front, back and the correct option (wrong options may quote a myth)."""
    parts = [card.front, card.back, *(o.text for o in card.options if o.correct)]
    parts += [o.why for o in card.options]
    sentences = (s.strip() for part in parts for s in re.split(r"(?<=[.!?;])\s+|\n+", part))
    return [s for s in sentences if s and not s.endswith("?")]  # a question asserts nothing


def _myths_asserted(card) -> list[tuple[str, str]]:
    return [(myth, s) for s in _claims(card) for myth, rx in _MYTHS.items() if rx.search(s) and not _NEGATION.search(s)]


def test_facts_corrections_are_not_repeated(deckset):
    """FACTS.md marks common errors; a deck may mention one only to deny it, or as a wrong option."""
    found = [(c.id, *hit) for _, c in deckset.cards() for hit in _myths_asserted(c)]
    assert found == []


def test_myth_check_catches_an_assertion():
    from mi_prep.core.deck import Card

    bad = Card(
        id="x",
        front="What did Scaling Monosemanticity find?",
        back="About 10M monosemantic features in Claude.",
        source="s",
    )
    good = Card(
        id="y",
        front="Did it report 10M monosemantic features?",
        back="No: it never claims 10M monosemantic features.",
        source="s",
    )
    assert _myths_asserted(bad) == [("~10M monosemantic features", "About 10M monosemantic features in Claude.")]
    assert _myths_asserted(good) == []


# Choice cards: the correct option's position in the YAML must vary. The review screen shuffles,
# but the Anki export keeps deck order, so a deck where the answer is always first is a giveaway.
def _correct_positions(raw_cards) -> list[tuple[int, int]]:
    """(number of options, 1-based position of the correct one) per choice card, as written in the file."""
    out = []
    for _, c in raw_cards:
        if c.get("type") == "choice":
            flags = [o.get("correct") is True for o in c["options"]]
            out.append((len(flags), flags.index(True) + 1))
    return out


def test_choice_answer_position_varies(raw_cards, deckset):
    positions = _correct_positions(raw_cards)
    assert len(positions) == sum(c.type == "choice" for _, c in deckset.cards())
    assert len(positions) >= 20
    overall = Counter(pos for _, pos in positions)
    assert max(overall.values()) <= 0.4 * len(positions), f"correct answers pile up at one position: {overall}"
    for n in sorted({n for n, _ in positions}):
        at = Counter(pos for k, pos in positions if k == n)
        total = sum(at.values())
        if total < 2 * n:
            continue  # too few cards with n options to ask for a spread
        assert at[1] * 2 <= total, f"{n}-option cards: the first option is correct on {at[1]}/{total}"
        assert set(at) == set(range(1, n + 1)), f"{n}-option cards never put the answer at some position: {at}"


def test_loader_keeps_the_correct_option(raw_cards, deckset):
    """The position test reads the files; the loader must agree on which option is right."""
    raw = {
        c["id"]: next(o["text"] for o in c["options"] if o.get("correct") is True)
        for _, c in raw_cards
        if c.get("type") == "choice"
    }
    loaded = {c.id: next(o.text for o in c.options if o.correct) for _, c in deckset.cards() if c.type == "choice"}
    assert loaded == raw


# Toy Models of Superposition: the ReLU makes negative interference "free" only in the 1-sparse case
# (at most one feature active). With several active features it can cancel real signal.
_COSTLESS = re.compile(
    r"\b(costs? nothing|cost-free|costless|no cost|at no cost|for free)\b|(?<![-\w])free\b(?!-)", re.I
)
_ONE_SPARSE = re.compile(
    r"\b(1|one)-sparse\b|\b(only|at most|exactly|just) one (feature|of them|of the features)( is)? active", re.I
)


def _unqualified_costless_interference(card) -> list[str]:
    """Text parts that call interference free / costless without the 1-sparse qualification."""
    parts = [card.front, card.back, *(o.text for o in card.options if o.correct), *(o.why for o in card.options)]
    parts += [kp.text for kp in card.key_points]
    return [p for p in parts if re.search(r"interferen", p, re.I) and _COSTLESS.search(p) and not _ONE_SPARSE.search(p)]


def test_no_card_calls_interference_free_without_the_1_sparse_case(deckset):
    found = [(c.id, p) for _, c in deckset.cards() for p in _unqualified_costless_interference(c)]
    assert found == []


def test_sup_why_relu_scopes_free_negative_interference(deckset):
    _, card = deckset.card_index()["sup-why-relu"]
    back = " ".join(card.back.split())
    assert _ONE_SPARSE.search(back), "say that negative interference is free only when one feature is active"
    assert re.search(r"\b(several|multiple|more than one|two or more)\b[^.]*\bactive\b", back, re.I), (
        "say what happens when several features are active at once"
    )
    assert re.search(r"\bpositive\b[^.;]*\binterference\b", back, re.I) and re.search(r"negative bias", back, re.I)
    assert "2209.10652" in card.source
    assert _unqualified_costless_interference(card) == []


def test_costless_check_catches_the_old_wording():
    from mi_prep.core.deck import Card

    old = Card(
        id="x",
        front="Why does the ReLU matter?",
        source="s",
        back="- **negative** interference is clipped to zero by the ReLU, so it costs nothing;",
    )
    new = Card(
        id="y",
        front="Why does the ReLU matter?",
        source="s",
        back="Negative interference is clipped by the ReLU, which is free only in the 1-sparse case.",
    )
    tier = Card(
        id="z", front="Who is trained on?", back="Only free-tier chats; interference is irrelevant.", source="s"
    )
    assert _unqualified_costless_interference(old) == [old.back]
    assert _unqualified_costless_interference(new) == []
    assert _unqualified_costless_interference(tier) == []
