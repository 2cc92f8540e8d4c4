"""What a drill question shows, and how its answer is scored.

* ``explain`` cards and lab free-text questions: after submitting, the model answer and the key
  points are shown, pre-ticked by the one key-point grader (:mod:`mi_prep.core.grading`: whole
  words with simple inflections, negated and bare-list mentions do not count). The user can
  change the ticks; score = ticked points / all points.
* recall (basic, reverse, cloze): the answer is shown and the user marks it right (1), partly
  (0.5) or wrong (0).
* choice cards and lab multiple-choice / numeric / component questions: auto-graded. A choice
  card's options are shown in an order shuffled by the drill's seed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Literal

from mi_prep.core.deck import KeyPoint
from mi_prep.core.drill.plan import Kind, PlannedQuestion
from mi_prep.core.grading import coverage
from mi_prep.core.questions import FreeText, MultipleChoice, Question, question_from_dict
from mi_prep.core.session import ReviewItem, option_order

SELF_GRADES = {"right": 1.0, "partly": 0.5, "wrong": 0.0}


@dataclass
class QuestionView:
    """What a UI shows for the current question."""

    idx: int
    number: int
    total: int
    kind: Kind
    topic: str
    prompt: str
    options: list[str]
    budget_ms: int
    source: str
    item_id: str
    hint: str = ""
    """How to answer (the answer format, never the answer)."""
    long_answer: bool = False
    """An explanation is expected (explain cards, lab free-text questions): give it room."""


@dataclass
class Evaluation:
    """Shown after submitting: the reference answer and how it will be scored."""

    mode: Literal["points", "self", "auto"]
    reference: str
    points: list[str] = field(default_factory=list)
    ticked: list[bool] = field(default_factory=list)
    """Pre-ticked key points (the user may change them)."""
    auto_score: float | None = None
    feedback: str = ""
    source: str = ""


def pretick(points: Sequence[KeyPoint], answer: str) -> list[bool]:
    """Key points pre-ticked from the answer (the one grader: :mod:`mi_prep.core.grading`)."""
    return coverage([p.grading_point() for p in points], answer)


def points_score(ticked: Sequence[bool]) -> float:
    return round(sum(bool(t) for t in ticked) / len(ticked), 4) if ticked else 0.0


def lab_question(q: PlannedQuestion) -> Question:
    return question_from_dict(q.lab_question or {})


def lab_name(q: PlannedQuestion) -> str:
    """The lab a ``lab:NAME:QUESTION_ID`` question comes from."""
    return q.item_id.split(":")[1]


def shuffled_options(item: ReviewItem, seed: int) -> list[int]:
    """Shown order of a choice card's options in the drill with this seed."""
    return option_order(item.item_id, len(item.card.options), f"drill-{seed}")


def question_view(
    q: PlannedQuestion, item: ReviewItem | None, seed: int, number: int, total: int, lab: str | None = None
) -> QuestionView:
    """The view of ``q`` (``item``: its deck item, None for a lab question; ``lab``: the lab section's name)."""
    options: list[str] = []
    source = hint = ""
    long_answer = q.kind == "explain"
    if item is None:
        lq = lab_question(q)
        prompt, hint = lq.prompt, lq.answer_hint()
        long_answer = isinstance(lq, FreeText)
        if isinstance(lq, MultipleChoice):
            options = list(lq.options)
        source = f"lab {lab or lab_name(q)}"
    else:
        prompt = item.question()
        if item.card.type == "choice":
            options = [item.card.options[i].text for i in shuffled_options(item, seed)]
            hint = "type the number of your option"
        source = item.card.source
    return QuestionView(
        q.idx, number, total, q.kind, q.topic, prompt, options, q.budget_ms, source, q.item_id, hint, long_answer
    )


def evaluate(q: PlannedQuestion, item: ReviewItem | None, seed: int, answer: str) -> Evaluation:
    """The evaluation of ``answer`` to ``q`` (``item``: its deck item, None for a lab question)."""
    if item is None:
        lq = lab_question(q)
        source = f"lab {lab_name(q)}"
        if isinstance(lq, FreeText):
            auto = set(lq.covered(answer))
            return Evaluation(
                "points",
                lq.model_answer,
                list(lq.key_points),
                [i in auto for i in range(len(lq.key_points))],
                None,
                lq.explanation,
                source,
            )
        g = lq.grade(answer)
        return Evaluation("auto", lq.answer_text(), auto_score=g.score, feedback=g.feedback, source=source)
    card = item.card
    if q.kind == "explain":
        return Evaluation(
            "points", card.back, [p.text for p in card.key_points], pretick(card.key_points, answer), source=card.source
        )
    if q.kind == "choice":
        order = shuffled_options(item, seed)
        mc = MultipleChoice(
            card.id, card.front, card.back, tuple(card.options[i].text for i in order), order.index(card.correct_index)
        )
        g = mc.grade(answer)
        why = "\n".join(f"{pos}. {card.options[i].why}" for pos, i in enumerate(order, 1) if card.options[i].why)
        head = "Correct." if g.correct else f"Wrong: the answer is {mc.answer_text()}."
        return Evaluation(
            "auto",
            mc.answer_text(),
            auto_score=g.score,
            feedback="\n".join(x for x in (head, why, card.back) if x),
            source=card.source,
        )
    return Evaluation("self", item.answer(), source=card.source)


def reference(q: PlannedQuestion, item: ReviewItem | None) -> tuple[str, str, str]:
    """(prompt, reference answer, source) kept with the answer record."""
    if item is None:
        lq = lab_question(q)
        return lq.prompt, lq.answer_text(), f"lab {lab_name(q)}: {lq.explanation}"
    ref = item.card.back if q.kind == "explain" else item.answer()
    if q.kind == "choice":
        ref = item.card.options[item.card.correct_index].text
    return item.question(), ref, item.card.source


def point_texts(q: PlannedQuestion, item: ReviewItem | None) -> list[str]:
    """The key points of an explain card or a lab free-text question (none for other kinds)."""
    if item is None:
        lq = lab_question(q)
        return list(lq.key_points) if isinstance(lq, FreeText) else []
    return [p.text for p in item.card.key_points]
