"""The drill's intro panel: the plan summary, how the lab part is doing, and Start.

:class:`DrillIntro` shows the plan before the drill starts (:meth:`DrillIntro.show_plan`) and, with
Start hidden, the wait for the lab once the deck questions are done (:meth:`DrillIntro.show_waiting`).
Its children keep the ids ``#drill-intro-text`` and ``#drill-start`` (which runs the screen's
``start`` action). All text is literal.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import Button, Static

from mi_prep.core.drill import DrillPlan, plan_summary

KEYS = (
    "Ctrl+S submits an answer, F2 pauses, Escape leaves the answer box (again: stop the drill). Press Start when ready."
)


class DrillIntro(Vertical):
    def compose(self) -> ComposeResult:
        yield Static("", id="drill-intro-text", markup=False)
        yield Button("Start", id="drill-start", variant="primary", action="screen.start")

    def show_plan(self, plan: DrillPlan, lab_status: str) -> None:
        self.query_one("#drill-intro-text", Static).update(f"{plan_summary(plan)}\n{lab_status}\n\n{KEYS}")

    def show_waiting(self, lab_status: str) -> None:
        self.query_one("#drill-start").display = False
        self.query_one("#drill-intro-text", Static).update(
            f"Waiting for the lab (the clocks are stopped) ...\n{lab_status}"
        )
