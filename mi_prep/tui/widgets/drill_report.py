"""The drill's last panel: the report text and Close.

:class:`DrillReportPanel` shows a finished drill's :class:`~mi_prep.core.drill.DrillReport` as
:func:`~mi_prep.core.drill.format_report` writes it (literal text, ``#drill-report-text``) above the
Close button (``#drill-close``: the screen's ``close`` action), which :meth:`DrillReportPanel.show`
focuses.
"""

from __future__ import annotations

from textual.app import ComposeResult
from textual.containers import VerticalScroll
from textual.widgets import Button, Static

from mi_prep.core.drill import DrillReport, format_report


class DrillReportPanel(VerticalScroll):
    def compose(self) -> ComposeResult:
        yield Static("", id="drill-report-text", markup=False)
        yield Button("Close", id="drill-close", variant="primary", action="screen.close")

    def show(self, report: DrillReport | None) -> None:
        """Show ``report`` (nothing if None) and focus Close."""
        self.query_one("#drill-report-text", Static).update(format_report(report) if report else "")
        self.query_one("#drill-close", Button).focus()
