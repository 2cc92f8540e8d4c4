"""The drill's evaluation panel, shown after an answer is submitted.

:class:`DrillEvaluation` shows a :class:`~mi_prep.core.drill.Evaluation` (:meth:`DrillEvaluation.show`):
the prompt, the typed answer, the model answer or feedback and its source, then either the key-point
checklist (``#drill-points``, pre-ticked; :meth:`DrillEvaluation.ticks`), the self-grade buttons
(``#grade-right``, ``#grade-partly``, ``#grade-wrong``: the screen's ``self_grade`` action) or Next
(``#grade-next``: its ``next`` action). All text is literal.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static

from mi_prep.core.drill import Evaluation
from mi_prep.tui.widgets.keypoints import KeyPointList

GRADE_BUTTONS = ("grade-right", "grade-partly", "grade-wrong")


class DrillEvaluation(VerticalScroll):
    DEFAULT_CSS = """
    #drill-points { height: auto; max-height: 12; }
    #drill-grade Button { margin-right: 1; }
    #drill-grade { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="drill-reference", markup=False)
        yield KeyPointList(id="drill-points")
        with Horizontal(id="drill-grade"):
            yield Button("Right (r)", id="grade-right", variant="success", action="screen.self_grade('right')")
            yield Button("Partly (p)", id="grade-partly", variant="warning", action="screen.self_grade('partly')")
            yield Button("Wrong (w)", id="grade-wrong", variant="error", action="screen.self_grade('wrong')")
            yield Button("Next (Enter)", id="grade-next", variant="primary", action="screen.next")

    def show(self, ev: Evaluation, prompt: str, typed: str) -> None:
        """Show ``ev`` for the answer ``typed`` to ``prompt``, and focus what grades it."""
        parts = [prompt, f"Your answer: {typed or '(nothing)'}"]
        if ev.mode == "auto":
            parts.append(ev.feedback)
        else:
            parts.append(("Model answer:\n" if ev.mode == "points" else "Answer:\n") + ev.reference)
            if ev.feedback:
                parts.append(ev.feedback)
        if ev.source:
            parts.append(f"source: {ev.source}")
        if ev.mode == "points":
            parts.append("Key points found in your answer are ticked; Up/Down and x change them, Enter goes on:")
        elif ev.mode == "self":
            parts.append("Was your answer right? r right · p partly · w wrong")
        self.query_one("#drill-reference", Static).update("\n\n".join(parts))
        points = self.query_one("#drill-points", KeyPointList)
        points.display = ev.mode == "points"
        if ev.mode == "points":
            points.set_points(ev.points, ev.ticked)
        for gid in GRADE_BUTTONS:
            self.query_one(f"#{gid}").display = ev.mode == "self"
        self.query_one("#grade-next").display = ev.mode != "self"
        (
            points if ev.mode == "points" else self.query_one("#grade-right" if ev.mode == "self" else "#grade-next")
        ).focus()
        self.scroll_home(animate=False)

    def ticks(self) -> list[bool]:
        """The key points ticked now."""
        return self.query_one("#drill-points", KeyPointList).ticks()
