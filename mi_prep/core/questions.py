"""Lab question types. Answer keys are *computed from a run's numbers* by the lab.

Pure Python (no torch): a stored run's questions can be re-graded without torch.
Every question serialises to a JSON-able dict (``to_dict`` / ``question_from_dict``).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any, ClassVar

from mi_prep.core.grading import Point, coverage


@dataclass(frozen=True)
class Grade:
    score: float
    """0..1"""
    correct: bool
    feedback: str
    """What was right or wrong, then the question's explanation (citing the run's numbers)."""
    covered: tuple[int, ...] = ()
    """For free text: indices of key points pre-ticked from the typed answer."""


@dataclass(frozen=True)
class Question:
    id: str
    prompt: str
    explanation: str
    """Shown after answering; cites this run's numbers."""
    conceptual: bool = field(default=False, kw_only=True)
    """The key is the same whatever the run (a question about the idea, not this run's data)."""

    kind: ClassVar[str] = "question"

    def grade(self, answer: str) -> Grade:  # pragma: no cover - abstract
        raise NotImplementedError

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind
        return d

    def answer_text(self) -> str:
        """The right answer, written out (for reports)."""
        raise NotImplementedError  # pragma: no cover

    def answer_hint(self) -> str:
        """How to answer, shown with the prompt before answering (never the answer itself)."""
        return ""


@dataclass(frozen=True)
class MultipleChoice(Question):
    options: tuple[str, ...] = ()
    correct: int = 0
    kind: ClassVar[str] = "choice"

    def __post_init__(self) -> None:
        if not 0 <= self.correct < len(self.options):
            raise ValueError(f"question {self.id}: correct index {self.correct} out of range")

    def parse(self, answer: str) -> int | None:
        a = answer.strip().lower()
        if a.isdigit() and 1 <= int(a) <= len(self.options):
            return int(a) - 1
        if len(a) == 1 and "a" <= a <= chr(ord("a") + len(self.options) - 1):
            return ord(a) - ord("a")
        for i, opt in enumerate(self.options):
            if a == opt.strip().lower():
                return i
        return None

    def grade(self, answer: str) -> Grade:
        picked = self.parse(answer)
        if picked is None:
            return Grade(
                0.0, False, f"'{answer}' is not one of the options. Right: {self.answer_text()}. {self.explanation}"
            )
        ok = picked == self.correct
        head = "Correct." if ok else f"Not quite: the answer is {self.answer_text()}."
        return Grade(1.0 if ok else 0.0, ok, f"{head} {self.explanation}")

    def answer_text(self) -> str:
        return f"{self.correct + 1}. {self.options[self.correct]}"

    def answer_hint(self) -> str:
        return f"pick one of the {len(self.options)} options (its number)"


@dataclass(frozen=True)
class Numeric(Question):
    answer: float = 0.0
    abs_tol: float = 0.0
    rel_tol: float = 0.1
    unit: str = ""
    kind: ClassVar[str] = "numeric"

    def tolerance(self) -> float:
        return max(self.abs_tol, abs(self.answer) * self.rel_tol)

    def grade(self, answer: str) -> Grade:
        text = answer.strip().replace(",", "")
        if self.unit:
            text = text.removesuffix(self.unit).strip()
        pct = text.endswith("%")
        try:
            value = float(text.rstrip("%"))
        except ValueError:
            return Grade(0.0, False, f"'{answer}' is not a number. Right: {self.answer_text()}. {self.explanation}")
        if pct and self.unit != "%":
            value /= 100.0
        err = abs(value - self.answer)
        tol = self.tolerance()
        ok = err <= tol
        # partial credit up to 3x the tolerance
        score = 1.0 if ok else max(0.0, 1.0 - (err - tol) / (2 * tol)) if tol > 0 else 0.0
        head = "Correct." if ok else f"Off by {err:.3g}: the answer is {self.answer_text()}."
        return Grade(round(score, 3), ok, f"{head} {self.explanation}")

    def answer_text(self) -> str:
        unit = f" {self.unit}" if self.unit else ""
        return f"{self.answer:.4g}{unit} (± {self.tolerance():.2g})"

    def answer_hint(self) -> str:
        return "a number" + (f" in {self.unit}" if self.unit else "")


@dataclass(frozen=True)
class PickComponent(Question):
    """ "Which head/layer/feature?" The user types a component name like ``L0H1``."""

    components: tuple[str, ...] = ()
    correct: tuple[str, ...] = ()
    """Accepted answers (usually one). All must be in ``components``."""
    any_of: bool = False
    """If true, naming any one of ``correct`` (and nothing wrong) is fully right (e.g. redundant heads)."""
    kind: ClassVar[str] = "component"

    def __post_init__(self) -> None:
        missing = [c for c in self.correct if c not in self.components]
        if not self.correct or missing:
            raise ValueError(f"question {self.id}: correct components {missing or '[]'} not in {self.components}")

    @staticmethod
    def normalise(name: str) -> str:
        return re.sub(r"[\s.\-_]", "", name).upper()

    def grade(self, answer: str) -> Grade:
        picked = [self.normalise(a) for a in re.split(r"[,;/ ]+", answer.strip()) if a]
        valid = {self.normalise(c): c for c in self.components}
        unknown = [p for p in picked if p not in valid]
        right = {self.normalise(c) for c in self.correct}
        if not picked or unknown:
            return Grade(
                0.0, False, f"Pick from {', '.join(self.components)}. Right: {self.answer_text()}. {self.explanation}"
            )
        hits = len(right & set(picked))
        wrong = len(set(picked) - right)
        need = 1 if self.any_of else len(right)
        score = max(0.0, min(1.0, (hits - wrong) / need))
        ok = hits >= need and wrong == 0
        head = "Correct." if ok else f"Not quite: the answer is {self.answer_text()}."
        return Grade(round(score, 3), ok, f"{head} {self.explanation}")

    def answer_text(self) -> str:
        return (" or " if self.any_of else ", ").join(self.correct)

    def answer_hint(self) -> str:
        return f"name the component(s), comma-separated, from: {', '.join(self.components)}"


@dataclass(frozen=True)
class FreeText(Question):
    """Graded against key points (pre-ticked by term match), then self-rated by the user."""

    model_answer: str = ""
    key_points: tuple[str, ...] = ()
    terms: tuple[tuple[str, ...], ...] = ()
    """Per key point, synonyms (whole words or phrases) whose use shows the point is covered;
    empty: derived from the point's text. See :mod:`mi_prep.core.grading`."""
    kind: ClassVar[str] = "text"

    def __post_init__(self) -> None:
        if len(self.terms) not in (0, len(self.key_points)):
            raise ValueError(f"question {self.id}: one terms tuple per key point")

    def points(self) -> list[Point]:
        return [Point(kp, self.terms[i] if self.terms else ()) for i, kp in enumerate(self.key_points)]

    def covered(self, answer: str) -> tuple[int, ...]:
        """Indices of the key points the answer covers (the one grader: :mod:`mi_prep.core.grading`)."""
        return tuple(i for i, hit in enumerate(coverage(self.points(), answer)) if hit)

    def grade(self, answer: str, ticked: Sequence[int] | None = None) -> Grade:
        """``ticked``: the key points the user confirms they covered (defaults to the pre-ticked ones)."""
        auto = self.covered(answer)
        chosen = tuple(sorted(set(auto if ticked is None else ticked)))
        n = max(1, len(self.key_points))
        score = len(chosen) / n
        missed = [p for i, p in enumerate(self.key_points) if i not in chosen]
        miss = (" Missed: " + "; ".join(missed) + ".") if missed else ""
        return Grade(
            round(score, 3), score >= 0.67, f"Covered {len(chosen)}/{n} key points.{miss} {self.explanation}", chosen
        )

    def answer_text(self) -> str:
        return self.model_answer

    def answer_hint(self) -> str:
        return "explain in a few sentences; the key points are shown after you answer"


QUESTION_TYPES: dict[str, type[Question]] = {
    cls.kind: cls for cls in (MultipleChoice, Numeric, PickComponent, FreeText)
}


def question_from_dict(d: dict[str, Any]) -> Question:
    d = dict(d)
    cls = QUESTION_TYPES[d.pop("kind")]
    for key, value in list(d.items()):
        if isinstance(value, list):
            d[key] = tuple(tuple(v) if isinstance(v, list) else v for v in value)
    return cls(**d)


@dataclass
class AnswerRecord:
    question_id: str
    answer: str
    grade: Grade
    extra: dict[str, Any] = field(default_factory=dict)
