"""The Labs screen's run panel: runs a lab in a thread worker and shows which lab runs (and how), a
progress bar and the latest step and loss.

:meth:`LabRunPanel.run` starts the worker; :meth:`LabRunPanel.cancel` asks the lab to stop at its next
check. The worker posts :class:`~mi_prep.tui.messages.LabProgress` (shown here) and then one
:class:`~mi_prep.tui.messages.LabFinished`, which bubbles up to the screen. A lab that cannot start
(:class:`~mi_prep.lab.api.LabUnavailable`, or any error) ends with ``run=None`` and the error's text.
"""

from __future__ import annotations

import threading
from typing import Any

from textual import work
from textual.app import ComposeResult
from textual.containers import Vertical
from textual.widgets import ProgressBar, Static

from mi_prep.lab.api import Lab, LabUnavailable, Progress
from mi_prep.tui.messages import LabFinished, LabProgress


class LabRunPanel(Vertical):
    DEFAULT_CSS = "LabRunPanel #progress-line { height: 1; }"

    def __init__(self, *, id: str | None = None, classes: str | None = None) -> None:
        super().__init__(id=id, classes=classes)
        self.cancel_event: threading.Event | None = None

    def compose(self) -> ComposeResult:
        yield Static("", id="run-title", markup=False)
        yield ProgressBar(id="progress", total=100, show_eta=False)
        yield Static("", id="progress-line", markup=False)

    def run(
        self,
        lab: Lab,
        title: str,
        *,
        seed: int,
        small: bool,
        device: str | None,
        cache_dir: Any,
        threads: int | str | None = None,
    ) -> None:
        self.query_one("#run-title", Static).update(title)
        self.query_one("#progress", ProgressBar).update(total=100, progress=0)
        self.say("starting ...")
        self.cancel_event = threading.Event()
        self._run_worker(lab, seed, small, device, cache_dir, self.cancel_event, threads)

    @work(thread=True, exclusive=True, group="lab")
    def _run_worker(
        self,
        lab: Lab,
        seed: int,
        small: bool,
        device: str | None,
        cache_dir: Any,
        cancel: threading.Event,
        threads: int | str | None,
    ) -> None:
        from mi_prep.lab.runner import merge_params, run_lab

        def on_progress(p: Progress) -> None:
            self.post_message(LabProgress(p))

        try:
            params = merge_params(lab, small=small)
            run = run_lab(
                lab,
                seed=seed,
                device=device,
                params=params,
                cache_dir=cache_dir,
                on_progress=on_progress,
                cancel=cancel,
                threads=threads,
            )
            self.post_message(LabFinished(run))
        except LabUnavailable as exc:
            self.post_message(LabFinished(None, str(exc)))
        except Exception as exc:  # noqa: BLE001 - shown to the user, never a traceback
            self.post_message(LabFinished(None, f"{type(exc).__name__}: {exc}"))

    def cancel(self) -> None:
        if self.cancel_event is not None:
            self.cancel_event.set()
            self.say("cancelling ...")

    def on_lab_progress(self, message: LabProgress) -> None:
        message.stop()
        p = message.progress
        self.query_one("#progress", ProgressBar).update(total=max(1, p.total), progress=p.step)
        loss = f"  loss {p.loss:.3f}" if p.loss is not None else ""
        self.say(f"{p.message}  step {p.step}/{p.total}{loss}")

    def say(self, line: str) -> None:
        self.query_one("#progress-line", Static).update(line)
