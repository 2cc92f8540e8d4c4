"""The one key-point grader (mi_prep.core.grading): good, bad, negated and keyword-stuffed answers.

The last tests run every explain card of the bundled decks through the grader, so a new card with
careless terms (a bare ``what``, a prefix that only matched inside other words) fails here.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mi_prep.core.deck import load_decks
from mi_prep.core.grading import Point, coverage, forms, suggest_rating, words

OV = Point("OV decides what is copied", ("ov", "copies"))
QK = Point("QK decides where to attend", ("qk", "attention pattern"))
RSP = [
    Point("Capability thresholds trigger required safeguards", ("threshold", "safeguard")),
    Point("ASL levels are modelled on biosafety levels", ("biosafety", "bsl")),
    Point("ASL-3 means substantially raised catastrophic misuse risk", ("catastrophic", "misuse")),
]


def test_whole_words_only():
    assert coverage([OV], "look at it and move on") == [False]  # 'ov' inside 'move'
    assert coverage([OV], "the OV circuit decides what moves") == [True]
    assert coverage([QK], "inattention everywhere") == [False]


@pytest.mark.parametrize(
    "term, word",
    [
        ("head", "heads"),
        ("bias", "biases"),
        ("copy", "copies"),
        ("copy", "copied"),
        ("copy", "copying"),
        ("move", "moving"),
        ("move", "moved"),
        ("use", "used"),
        ("stop", "stopped"),
        ("process", "processes"),
        ("causal", "causally"),
        ("interpretab", "interpretability"),
    ],
)
def test_simple_inflections_match(term, word):
    assert coverage([Point("p", (term,))], f"here the model {word} it") == [True]


@pytest.mark.parametrize("term, word", [("ov", "move"), ("head", "ahead"), ("key", "monkey"), ("attend", "intend")])
def test_other_words_do_not_match(term, word):
    assert coverage([Point("p", (term,))], f"here the model will {word} it") == [False]


def test_phrases_need_their_words_in_a_row():
    point = Point("p", ("attention pattern",))
    assert coverage([point], "it sets the attention pattern of the head") == [True]
    assert coverage([point], "it sets the pattern of attention") == [False]
    hyphen = Point("p", ("k-composition",))
    assert coverage([hyphen], "it works through K composition with layer 0") == [True]
    assert coverage([hyphen], "it works through K-composition with layer 0") == [True]


def test_negated_terms_do_not_count():
    assert coverage(RSP, "not a threshold, not biosafety, not catastrophic") == [False, False, False]
    assert coverage(RSP, "there is no threshold and it has nothing to do with biosafety") == [False, False, False]
    assert coverage(RSP, "it isn't about biosafety at all") == [False, False, False]
    # negation is scoped to its clause
    assert coverage(RSP, "it is not a pause, but a threshold that triggers safeguards") == [True, False, False]
    # a term that is itself negative is matched as written
    assert coverage([Point("p", ("not causal",))], "probing alone is not causal evidence") == [True]


def test_keyword_lists_earn_nothing():
    assert coverage(RSP, "threshold biosafety catastrophic") == [False, False, False]
    assert coverage(RSP, "threshold, biosafety, catastrophic, misuse") == [False, False, False]
    assert coverage(RSP, "threshold and biosafety and catastrophic") == [False, False, False]
    good = (
        "Crossing a capability threshold requires the matching safeguards; the levels copy the idea of "
        "biosafety levels, and ASL-3 is about models that raise catastrophic misuse risk."
    )
    assert coverage(RSP, good) == [True, True, True]
    # a short answer naming one point is not a list
    assert coverage(RSP, "safeguards before deployment") == [True, False, False]


def test_derived_terms_need_half():
    derived = Point("Superposition packs sparse features densely")
    assert [w for [w] in derived.term_words()] == ["superposition", "packs", "sparse", "features", "densely"]
    assert coverage([derived], "superposition and sparse") == [False]  # 2 of 5
    assert coverage([derived], "superposition stores sparse features") == [True]  # 3 of 5


def test_forms_and_words():
    assert words("K-composition, W_Q^T W_K; don't") == ["k", "composition", "w", "q", "t", "w", "k", "don't"]
    assert "copy" in forms("copies") and "mov" in forms("moving") and "move" in forms("moving")


def test_suggest_rating_thresholds():
    assert [suggest_rating(x) for x in (0, 0.29, 0.3, 0.59, 0.6, 0.89, 0.9, 1)] == [1, 1, 2, 2, 3, 3, 4, 4]


# --------------------------------------------------------------------------- every bundled explain card

DECKS = Path(__file__).resolve().parents[2] / "decks"
JUNK = [
    "I would look at it and move on.",
    "I'm not sure what this is or where it goes.",
    "I would run some experiments and see what happens.",
    "It depends on the model and the data.",
    "You can check the output and compare it with the input.",
    "This is a hard question; I would read the paper again.",
    "The model learns things during training and then uses them.",
    "I think it is important for safety.",
]


def explain_cards():
    ds = load_decks(DECKS)
    assert not ds.errors
    return [c for _, c in ds.cards() if c.type == "explain"]


@pytest.fixture(scope="module")
def cards():
    return explain_cards()


def _share(card, answer):
    cov = coverage([kp.grading_point() for kp in card.key_points], answer)
    return sum(cov) / len(cov)


def test_model_answers_cover_their_key_points(cards):
    low = {c.id: _share(c, c.back) for c in cards if _share(c, c.back) < 0.8}
    assert not low, f"model answers that the grader finds below 80% of their own key points: {low}"
    restated = {c.id: s for c in cards if (s := _share(c, ". ".join(kp.text for kp in c.key_points))) < 1}
    assert not restated, f"restating the key points does not cover them: {restated}"


def test_generic_answers_cover_nothing(cards):
    hits = [(c.id, j) for c in cards for j in JUNK if _share(c, j) > 0]
    assert not hits, f"generic sentences tick key points (terms too common?): {hits}"


def test_keyword_stuffing_and_negation_do_not_pay(cards):
    for c in cards:
        terms = [" ".join(t) for kp in c.key_points for t in kp.grading_point().term_words()]
        assert _share(c, " ".join(terms)) == 0, c.id
        assert _share(c, ", ".join(terms)) == 0, c.id
        negated = ", ".join(f"not {t}" for t in terms)
        assert _share(c, negated) <= 0.4, c.id
