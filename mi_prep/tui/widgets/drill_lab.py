"""The drill's lab panel: it prepares the lab part, then shows the run's results its questions are about.

:class:`DrillLab` (the screen gives it the id ``#drill-lab``) runs the lab provider in a worker thread
(:meth:`DrillLab.prepare`, through :func:`~mi_prep.core.drill.fetch_lab`, so it always ends with a
``LabSection`` or ``LabSkipped``). It is empty until :meth:`DrillLab.show_result` mounts the run's
result blocks in a :class:`~mi_prep.tui.widgets.lab_view.LabResultView` (``#drill-lab-view``);
:meth:`DrillLab.scroll_page` pages through them. The Drill screen shows the panel only with a lab question.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

from textual import work
from textual.containers import Vertical

from mi_prep.core.drill import LabOutcome, LabProvider, fetch_lab


class DrillLab(Vertical):
    @work(thread=True, exclusive=True, group="drill-lab")
    def prepare(
        self,
        provider: LabProvider,
        topics: Sequence[str],
        seed: int,
        *,
        on_progress: Callable[[Any], None],
        cancel: threading.Event,
        done: Callable[[LabOutcome], None],
    ) -> None:
        """Run ``provider`` for ``topics`` and ``seed`` in a worker thread. ``on_progress`` is called
        in that thread; ``done`` gets the outcome in the UI thread, unless ``cancel`` was set."""
        outcome = fetch_lab(provider, topics, seed, on_progress=on_progress, cancel=cancel)
        if not cancel.is_set():
            self.app.call_from_thread(done, outcome)

    @property
    def has_result(self) -> bool:
        """Whether the lab's results are mounted."""
        return bool(self.query("#drill-lab-view"))

    def show_result(self, blocks: Sequence[Any]) -> None:
        """Mount the lab run's result ``blocks`` (``mi_prep.lab.api`` blocks): those shown before any
        question; the rest appear as the questions that reveal them are answered (:meth:`reveal`)."""
        from mi_prep.lab.api import LabResult
        from mi_prep.tui.widgets.lab_view import LabResultView

        self.mount(LabResultView(LabResult(list(blocks), {}, []), staged=True, id="drill-lab-view"))

    def reveal(self, question_id: str) -> None:
        """Show the blocks that answering the lab question ``question_id`` reveals."""
        from mi_prep.tui.widgets.lab_view import LabResultView

        for view in self.query("#drill-lab-view").results(LabResultView):
            view.reveal(question_id)

    def scroll_page(self, direction: str) -> None:
        """Scroll the results a page ``"down"`` or up."""
        for view in self.query("#drill-lab-view"):
            (view.scroll_page_down if direction == "down" else view.scroll_page_up)(animate=False)
