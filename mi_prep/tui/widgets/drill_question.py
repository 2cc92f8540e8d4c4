"""The drill's question panel: prompt, answer format, choice options, the answer box and its buttons.

:class:`DrillQuestion` shows a :class:`~mi_prep.core.drill.QuestionView` (:meth:`DrillQuestion.show`);
all text is literal. Its children keep the ids the Drill screen's CSS and tests use:
``#drill-prompt``, ``#drill-hint``, ``#drill-options``, ``#drill-answer`` (a TextArea; the ``short``
class for answers that need no room), ``#drill-submit``, ``#drill-pause``, ``#drill-stop``; the
buttons run the screen's ``submit``, ``toggle_pause`` and ``stop`` actions.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Static, TextArea

from mi_prep.core.drill import QuestionView


class DrillQuestion(VerticalScroll):
    DEFAULT_CSS = """
    #drill-prompt { margin: 1 0 0 0; height: auto; }
    #drill-hint { color: $text-muted; height: auto; }
    #drill-options { height: auto; margin-top: 1; }
    #drill-answer { height: 8; margin-top: 1; }
    #drill-answer.short { height: 3; }
    #drill-buttons Button { margin-right: 1; }
    #drill-buttons { height: auto; }
    """

    def compose(self) -> ComposeResult:
        yield Static("", id="drill-prompt", markup=False)
        yield Static("", id="drill-hint", markup=False)
        yield Static("", id="drill-options", markup=False)
        yield TextArea(id="drill-answer", soft_wrap=True, tab_behavior="focus")
        with Horizontal(id="drill-buttons"):
            yield Button("Submit (ctrl+s)", id="drill-submit", variant="primary", action="screen.submit")
            yield Button("Pause (F2)", id="drill-pause", action="screen.toggle_pause")
            yield Button("Stop", id="drill-stop", variant="error", action="screen.stop")

    @property
    def answer(self) -> TextArea:
        return self.query_one("#drill-answer", TextArea)

    def show(self, v: QuestionView) -> None:
        """Show ``v`` with an empty, editable, focused answer box."""
        self.query_one("#drill-prompt", Static).update(v.prompt)
        self.query_one("#drill-hint", Static).update(f"({v.hint})" if v.hint else "")
        self.query_one("#drill-options", Static).update("\n".join(f"  {i}. {o}" for i, o in enumerate(v.options, 1)))
        self.query_one("#drill-options").display = bool(v.options)
        area = self.answer
        area.set_class(not v.long_answer, "short")
        area.text = ""
        area.read_only = False
        area.focus()
