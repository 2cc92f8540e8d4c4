"""Messages that thread workers post to the screens (``post_message`` is thread-safe).

A lab run reports each :class:`~mi_prep.lab.api.Progress` step and then its end; the Labs screen
and the Drill screen's lab section both run labs in a worker.
"""

from __future__ import annotations

from typing import Any

from textual.message import Message


class LabProgress(Message):
    """One progress step of a running lab (``progress``: :class:`mi_prep.lab.api.Progress`)."""

    def __init__(self, progress: Any) -> None:
        super().__init__()
        self.progress = progress


class LabFinished(Message):
    """A lab run ended: ``run`` is the runner's record (any status), or None with ``error`` when the lab
    could not start (e.g. the [labs] extra is missing)."""

    def __init__(self, run: Any, error: str = "") -> None:
        super().__init__()
        self.run = run
        self.error = error
