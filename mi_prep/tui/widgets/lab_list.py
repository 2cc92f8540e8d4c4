"""The Labs screen's list: a table of the labs (topics, last score, mastery, when next due) and the
highlighted lab's description. Lab text is shown literally."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Any

from rich.text import Text
from textual.widgets import DataTable

from mi_prep.lab.api import Lab


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


class LabTable(DataTable):
    def show_labs(self, labs: Mapping[str, Lab], summaries: Mapping[str, Any], due_text: Callable[[str], str]) -> None:
        """One row per lab (keyed by its name); ``summaries``: :func:`mi_prep.lab.history.summaries`."""
        self.clear(columns=True)
        self.add_columns("lab", "topics", "last", "mastery", "next")
        for name, lab in labs.items():
            s = summaries.get(name)
            due = due_text(name)
            self.add_row(
                Text(name),
                Text(", ".join(lab.topics[:2])),
                _pct(s and s.last_score),
                _pct(s and s.mastery),
                Text(due, style="bold #5fd75f" if due == "due" else "dim"),
                key=name,
            )

    def cursor_name(self, names: list[str]) -> str | None:
        """The name (of ``names``, in row order) under the cursor."""
        return names[min(self.cursor_row, len(names) - 1)] if names else None


def lab_detail(lab: Lab, small: bool) -> Text:
    note = "  (small settings on: s toggles)" if small else ""
    return Text.assemble(
        (lab.title, "bold"),
        note,
        "\n",
        lab.summary,
        "\n",
        (f"topics: {', '.join(lab.topics)} · Enter or r runs it", "dim"),
    )
