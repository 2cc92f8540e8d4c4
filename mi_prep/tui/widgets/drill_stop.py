"""The question asked before a drill is stopped early: a :class:`~mi_prep.tui.widgets.confirm.Confirm`
that says how many questions stopping would leave unanswered (``y`` stops, ``n``/Escape goes on)."""

from __future__ import annotations

from mi_prep.tui.widgets.confirm import Confirm


class ConfirmStopDrill(Confirm):
    def __init__(self, unanswered: int) -> None:
        super().__init__(
            f"Stop the drill now? The {unanswered} question(s) not yet answered will be "
            "recorded as unanswered; everything answered so far is kept.",
            yes="Stop the drill",
            no="Go on",
        )
