"""The Labs screen's question panel: one question at a time, its answer, then its feedback.

A choice question shows its options in an OptionList (the screen maps number keys to them); other
questions take a typed answer in ``#answer``. A free-text answer is followed by the key points,
pre-ticked, in ``#points`` for the user to confirm. All lab text is shown literally. The panel only
shows: grading and saving are the screen's (through :mod:`mi_prep.core.questions`).
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.content import Content
from textual.widgets import Button, Input, OptionList, Static
from textual.widgets.option_list import Option

from mi_prep.core.questions import FreeText, Grade, MultipleChoice, Question
from mi_prep.tui.widgets.keypoints import KeyPointList


def answer_feedback(q: Question, answer: str, grade: Grade) -> str:
    """What a graded answer earned: the option chosen (choice questions), a tick or a cross, the feedback."""
    chose = ""
    if isinstance(q, MultipleChoice) and (picked := q.parse(answer)) is not None:
        chose = f"You chose {picked + 1}. {q.options[picked]}\n"
    return f"{chose}{'✓' if grade.correct else '✗'} {grade.feedback}"


class LabQuestionPanel(Vertical):
    DEFAULT_CSS = """
    LabQuestionPanel #question { height: auto; }
    LabQuestionPanel #hint { height: auto; color: $text-muted; }
    LabQuestionPanel #answer { margin: 0; }
    LabQuestionPanel #choices { height: auto; max-height: 9; }
    LabQuestionPanel #points { max-height: 8; }
    LabQuestionPanel #feedback { height: auto; color: $text-muted; }
    LabQuestionPanel #next { margin: 0; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="question", markup=False)
        yield Static("", id="hint", markup=False)
        yield OptionList(id="choices", markup=False, classes="hidden")
        yield Input(placeholder="your answer, then Enter", id="answer", compact=True)
        yield Static("", id="feedback", markup=False)
        yield KeyPointList(id="points", classes="hidden")
        yield Button("Next", id="next", classes="hidden", compact=True)

    def _text(self, selector: str, text: str) -> None:
        self.query_one(selector, Static).update(text)

    def show_question(self, q: Question, number: int, total: int) -> None:
        """Question ``number`` of ``total``, unanswered, with the focus on its answer."""
        concept = " (concept)" if q.conceptual else ""  # the same answer for every run
        self._text("#question", f"Q{number}/{total}{concept}. {q.prompt}")
        self._text("#hint", f"({q.answer_hint()})" if q.answer_hint() else "")
        self._text("#feedback", "")
        self.query_one("#next").add_class("hidden")
        self.query_one("#points").add_class("hidden")
        choices = self.query_one("#choices", OptionList)
        inp = self.query_one("#answer", Input)
        inp.value = ""
        inp.disabled = False
        if isinstance(q, MultipleChoice):
            inp.add_class("hidden")
            choices.clear_options()
            choices.add_options([Option(Content(f"{i}. {opt}")) for i, opt in enumerate(q.options, 1)])
            choices.disabled = False
            choices.highlighted = 0
            choices.remove_class("hidden")
            choices.focus()
        else:
            choices.add_class("hidden")
            inp.remove_class("hidden")
            inp.focus()

    def ask_points(self, q: FreeText, ticked: Sequence[bool]) -> None:
        """The model answer and the key points (``ticked`` pre-selected) for the user to confirm."""
        self.query_one("#answer", Input).disabled = True
        self._text(
            "#feedback",
            f"Model answer: {q.model_answer}\nKey points found in your answer are ticked; "
            "Up/Down and x change them, Enter confirms:",
        )
        points = self.query_one("#points", KeyPointList)
        points.set_points(list(q.key_points), ticked)
        points.remove_class("hidden")
        points.focus()

    def ticks(self) -> list[bool]:
        return self.query_one("#points", KeyPointList).ticks()

    def show_feedback(self, text: str, next_label: str) -> None:
        """The answer's feedback, and the Next button (labelled ``next_label``) focused."""
        self._text("#feedback", text)
        self.query_one("#answer", Input).disabled = True
        # the options and the ticks are in the feedback now: give its lines the room
        self.query_one("#choices", OptionList).add_class("hidden")
        self.query_one("#points").add_class("hidden")
        nxt = self.query_one("#next", Button)
        nxt.label = next_label
        nxt.remove_class("hidden")
        nxt.focus()

    def show_score(self, text: str) -> None:
        """The end: only ``text`` (the score) is left."""
        self._text("#question", text)
        self._text("#hint", "")
        for wid in ("#answer", "#choices", "#points", "#next"):
            self.query_one(wid).add_class("hidden")
        self._text("#feedback", "")
        self.remove_class("hidden")
