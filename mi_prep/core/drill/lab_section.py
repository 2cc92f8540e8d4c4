"""A drill's lab part: what a lab provider gives back, as explicit types.

A provider is called as ``provider(topics_weakest_first, seed, on_progress=..., cancel=...)`` and
returns either

* a :class:`LabSection`: one lab run's questions, with the result blocks they are about, or
* a :class:`LabSkipped`: the lab could not run here, with the reason the user is shown.

:func:`fetch_lab` runs a provider for a plan and always gives one of the two: a provider that raises
(a bug, a failed run) becomes ``LabSkipped`` with the exception's type and message. Nothing is
retried: a lab that failed is reported as skipped, and the drill goes on without it
(:meth:`mi_prep.core.drill.Drill.use_lab`). The real provider is
:func:`mi_prep.lab.drill_provider.make_lab_provider`; tests inject fakes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from mi_prep.core.questions import Question

MAX_LAB_QUESTIONS = 4
"""A drill asks at most this many of a lab's questions."""


@dataclass
class LabSection:
    name: str
    questions: list[Question]
    topics: tuple[str, ...] = ()
    note: str = ""
    blocks: list[Any] = field(default_factory=list)
    """The run's result blocks (``mi_prep.lab.api`` blocks), shown beside the lab's questions."""


@dataclass(frozen=True)
class LabSkipped:
    """The lab part did not run; ``reason`` says why (shown to the user and kept in the report)."""

    reason: str

    @property
    def note(self) -> str:
        """The line the drill notes and shows: ``lab skipped: <reason>``."""
        return f"lab skipped: {self.reason}"


LabOutcome = LabSection | LabSkipped


class LabProvider(Protocol):
    def __call__(
        self,
        topics: Sequence[str],
        seed: int,
        *,
        on_progress: Callable[[Any], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> LabOutcome:
        """``topics``: weakest first; ``on_progress`` gets the lab's progress events; ``cancel`` stops the run."""
        ...  # pragma: no cover


def fetch_lab(
    provider: LabProvider,
    topics: Sequence[str],
    seed: int,
    *,
    on_progress: Callable[[Any], None] | None = None,
    cancel: threading.Event | None = None,
) -> LabOutcome:
    """Run ``provider``; any exception (or a value that is not a lab outcome) becomes :class:`LabSkipped`."""
    try:
        outcome = provider(topics, seed, on_progress=on_progress, cancel=cancel)
    except Exception as exc:  # noqa: BLE001 - a failing lab never stops the drill
        return LabSkipped(f"{type(exc).__name__}: {exc}")
    if not isinstance(outcome, (LabSection, LabSkipped)):
        return LabSkipped(f"the lab provider returned a {type(outcome).__name__}, not a LabSection or LabSkipped")
    return outcome


def lab_status_text(outcome: LabOutcome) -> str:
    """One line on how the lab part went: ``lab ready: NAME (N questions)`` or ``lab skipped: REASON``."""
    if isinstance(outcome, LabSkipped):
        return outcome.note
    return f"lab ready: {outcome.name} ({len(outcome.questions[:MAX_LAB_QUESTIONS])} questions)"


def lab_progress_text(progress: Any) -> str:
    """One line on a lab being prepared, from one of its progress events (``mi_prep.lab.api.Progress``):
    ``preparing the lab: MESSAGE step S/T, loss L`` (``running`` without a message; no loss if None)."""
    loss = f", loss {progress.loss:.3f}" if progress.loss is not None else ""
    return f"preparing the lab: {progress.message or 'running'} step {progress.step}/{progress.total}{loss}"
