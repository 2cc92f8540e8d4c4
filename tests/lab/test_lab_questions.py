"""Every lab in the registry, run as a drill runs it (small settings, the drill's model seeds): its
questions can be answered from what is shown, no question's text names the answer of a question
asked after it (a later one may build on an answer already given),
and its free-text model answers cover their own key points under the one grader."""

from __future__ import annotations

import re

import pytest

from mi_prep.core.grading import coverage
from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent
from mi_prep.lab import registry
from mi_prep.lab.drill_provider import MODEL_SEEDS

LABS = sorted(registry.discover())
SEEDS = MODEL_SEEDS[:2]


@pytest.fixture
def runs(small_result):
    """``runs[name, seed]``: the session's shared small runs (tests/lab/conftest.py)."""

    class Runs:
        def __getitem__(self, key):
            return small_result(*key)

    return Runs()


def key_marks(q) -> list[str]:
    """How ``q``'s answer would look if another question's text gave it away."""
    if isinstance(q, PickComponent):
        return [c for c in q.correct if len(c) >= 2]  # "1" of "1, 2 or 3" would match any digit
    if isinstance(q, MultipleChoice) and re.search(r"\d", q.options[q.correct]):
        return [q.options[q.correct]]  # a measured value ("S = 0.7", "position 7")
    if isinstance(q, Numeric) and f"{q.answer:.3g}".count(".") and abs(q.answer) >= 1e-3:
        return [f"{q.answer:.3g}"]
    return []


def lists_every_alternative(text: str, q) -> bool:
    names = q.components if isinstance(q, PickComponent) else q.options if isinstance(q, MultipleChoice) else ()
    return len(names) > 1 and all(mentions(text, n) for n in names)


def mentions(text: str, mark: str) -> bool:
    return re.search(r"(?<![\w.])" + re.escape(mark) + r"(?![\w])", text, re.I) is not None


@pytest.mark.slow
@pytest.mark.parametrize("name", LABS)
def test_no_question_gives_away_another(runs, name):
    for seed in SEEDS:
        qs = runs[name, seed].questions
        for i, q in enumerate(qs):
            for other in qs[: i + 1]:  # what the learner has read when q is asked: its own and earlier prompts
                shown = other.prompt  # (option and component lists are shared by design: not a giveaway)
                if lists_every_alternative(shown, q):
                    continue  # "Answer ReLU, TopK or JumpReLU" names them all: not a verdict
                for mark in key_marks(q):
                    assert not mentions(shown, mark), (
                        f"{name} seed {seed}: question {other.id!r} shows {mark!r}, the answer to {q.id!r}"
                    )


@pytest.mark.slow
@pytest.mark.parametrize("name", LABS)
def test_answers_have_a_format_and_free_text_keys_grade_their_model_answer(runs, name):
    for seed in SEEDS:
        for q in runs[name, seed].questions:
            assert q.answer_hint(), f"{name}: {q.id} has no answer format"
            if isinstance(q, FreeText):
                points = q.points()
                share = sum(coverage(points, q.model_answer)) / len(points)
                assert share >= 0.75, f"{name}: {q.id}'s model answer covers {share:.0%} of its key points"
                stuffed = " ".join(" ".join(t) for p in points for t in p.term_words())
                assert not any(coverage(points, stuffed)), f"{name}: {q.id} pays for a keyword list"


def test_the_check_catches_a_giveaway():
    pc = PickComponent(id="a", prompt="Which head?", explanation="", components=("L0H1", "L1H0"), correct=("L1H0",))
    earlier = Numeric(id="b", prompt="How much does patching L1H0 recover?", explanation="", answer=0.4)
    assert any(mentions(earlier.prompt, m) for m in key_marks(pc))
    assert not any(mentions("How much does patching the best head recover?", m) for m in key_marks(pc))
