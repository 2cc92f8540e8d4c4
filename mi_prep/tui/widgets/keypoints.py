"""The key-point checklist shown after an explain answer (Review and Drill).

A SelectionList whose points are literal text (never markup) and whose keys leave Space and Enter
to the screen (accept / next): Up/Down move between points, ``x`` ticks or unticks the highlighted
one, a mouse click toggles too.
"""

from __future__ import annotations

from collections.abc import Sequence

from textual.binding import Binding
from textual.content import Content
from textual.widgets import SelectionList
from textual.widgets.selection_list import Selection


class KeyPointList(SelectionList[int], inherit_bindings=False):
    BINDINGS = [
        Binding("down", "cursor_down", "Down", show=False),
        Binding("up", "cursor_up", "Up", show=False),
        Binding("home", "first", "First", show=False),
        Binding("end", "last", "Last", show=False),
        Binding("x", "select", "Tick point"),
    ]
    DEFAULT_CSS = """
    KeyPointList { height: auto; max-height: 14; }
    """

    def set_points(self, texts: Sequence[str], ticked: Sequence[bool]) -> None:
        """Show ``texts`` (literally), ``ticked`` pre-selected, the first one highlighted."""
        self.clear_options()
        self.add_options(
            [Selection(Content(" ".join(t.split())), i, bool(hit)) for i, (t, hit) in enumerate(zip(texts, ticked))]
        )
        if texts:
            self.highlighted = 0

    def ticks(self) -> list[bool]:
        chosen = set(self.selected)
        return [i in chosen for i in range(self.option_count)]
