"""The drill's status line: question number, kind, topic and both countdowns (or the lab wait).

:class:`DrillStatus` is a one-line Static (literal text) that :meth:`DrillStatus.show` fills from a
running :class:`~mi_prep.core.drill.Drill`; it gets the ``paused`` class while the drill is paused and
``urgent`` in a question's last :data:`URGENT_MS`. Before the start it shows the drill's length
(:meth:`DrillStatus.show_ready`), at the end its score (:meth:`DrillStatus.show_finished`); these two
leave the classes as they were.
"""

from __future__ import annotations

from datetime import datetime

from textual.widgets import Static

from mi_prep.core.drill import Drill, DrillReport, format_clock, percent

URGENT_MS = 15_000


class DrillStatus(Static):
    def __init__(self, *, id: str | None = None) -> None:
        super().__init__("", id=id, markup=False)

    def show_ready(self, d: Drill) -> None:
        self.update(f"Drill · {format_clock(d.total_ms)}")

    def show_finished(self, report: DrillReport | None) -> None:
        self.update(f"Drill finished · score {percent(report.score if report else None)}")

    def show(self, d: Drill, now: datetime, lab_status: str) -> None:
        if d.phase == "waiting":
            text = f"Waiting for the lab · clocks stopped · drill {format_clock(d.remaining_ms(now))} · {lab_status}"
        else:
            v = d.view()
            head = f"Q {v.number}/{v.total} · {v.kind} · {v.topic}" if v else "Drill"
            q = f"question {format_clock(d.question_remaining_ms(now))}" if d.phase == "answering" else "grading"
            text = f"{head}   {q}   drill {format_clock(d.remaining_ms(now))}"
            if d.paused:
                text += "   PAUSED (F2 resumes)"
        self.update(text)
        self.set_class(d.paused and d.phase != "waiting", "paused")
        self.set_class(d.phase == "answering" and not d.paused and d.question_remaining_ms(now) < URGENT_MS, "urgent")
