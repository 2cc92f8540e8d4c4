"""The contract between the lab engine and the labs in ``labs/*.py``. Pure Python, no torch.

A lab file defines ``LAB = SomeLab()`` where ``SomeLab`` subclasses :class:`Lab`::

    class InductionLab(Lab):
        name = "induction-heads"
        title = "Induction heads"
        summary = "Train a 2-layer attention-only model and find its induction circuit."
        topics = ("induction-heads",)          # deck tags this lab exercises
        defaults = {"steps": 600, "d_model": 64}
        small = {"steps": 150}                 # settings for fast tests

        def run(self, ctx: LabContext) -> LabResult:
            import torch                        # torch only inside run()
            ...
            ctx.progress(step, total, loss=loss, message="training")
            ctx.check_cancelled()
            ...
            return LabResult(blocks=[...], metrics={...}, questions=[...])

Blocks are plain data (lists of floats / strings) so a run can be stored as JSON,
re-rendered later and shown in the plain terminal or the TUI.
"""

from __future__ import annotations

import random
import threading
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable, ClassVar, Mapping

from mi_prep.core.questions import (  # noqa: F401 - re-exported: labs import everything from mi_prep.lab.api
    FreeText,
    Grade,
    MultipleChoice,
    Numeric,
    PickComponent,
    Question,
    question_from_dict,
)


class LabCancelled(Exception):
    """Raised inside a lab by :meth:`LabContext.check_cancelled` when the user cancels."""


class LabUnavailable(Exception):
    """The lab cannot run here (e.g. torch is not installed); the message says how to fix it."""


# --------------------------------------------------------------------------- blocks


@dataclass
class Block:
    title: str
    caption: str = ""
    kind: ClassVar[str] = "block"

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["kind"] = self.kind
        return d


@dataclass
class Text(Block):
    body: str = ""
    kind: ClassVar[str] = "text"


@dataclass
class Table(Block):
    columns: list[str] = field(default_factory=list)
    rows: list[list[Any]] = field(default_factory=list)
    kind: ClassVar[str] = "table"


@dataclass
class Heatmap(Block):
    """values[i][j] for row_labels[i], col_labels[j] (e.g. attention: query rows, key columns)."""

    values: list[list[float]] = field(default_factory=list)
    row_labels: list[str] = field(default_factory=list)
    col_labels: list[str] = field(default_factory=list)
    vmin: float | None = None
    vmax: float | None = None
    kind: ClassVar[str] = "heatmap"


@dataclass
class Series:
    name: str
    x: list[float]
    y: list[float]


@dataclass
class LinePlot(Block):
    series: list[Series] = field(default_factory=list)
    xlabel: str = ""
    ylabel: str = ""
    logx: bool = False
    kind: ClassVar[str] = "line"


@dataclass
class Scatter(Block):
    x: list[float] = field(default_factory=list)
    y: list[float] = field(default_factory=list)
    labels: list[str] = field(default_factory=list)
    xlabel: str = ""
    ylabel: str = ""
    kind: ClassVar[str] = "scatter"


BLOCK_TYPES: dict[str, type[Block]] = {c.kind: c for c in (Text, Table, Heatmap, LinePlot, Scatter)}


def block_from_dict(d: Mapping[str, Any]) -> Block:
    d = dict(d)
    cls = BLOCK_TYPES[d.pop("kind")]
    if cls is LinePlot:
        d["series"] = [Series(**s) for s in d.get("series", [])]
    return cls(**d)


# --------------------------------------------------------------------------- run context / result


ProgressFn = Callable[["Progress"], None]


@dataclass(frozen=True)
class Progress:
    step: int
    total: int
    loss: float | None = None
    message: str = ""


@dataclass
class LabContext:
    seed: int
    device: str
    """'cpu', 'cuda', 'cuda:1', 'mps' (resolved by mi_prep.lab.device)."""
    params: dict[str, Any]
    """The lab's ``defaults`` updated with user overrides."""
    cache_dir: Path
    """Where trained models are cached (``.safetensors``)."""
    on_progress: ProgressFn | None = None
    cancel: threading.Event = field(default_factory=threading.Event)

    @property
    def rng(self) -> random.Random:
        """A Python RNG seeded from ``seed`` (labs seed torch themselves with ``torch.Generator``)."""
        return random.Random(self.seed)

    def progress(self, step: int, total: int, loss: float | None = None, message: str = "") -> None:
        if self.on_progress is not None:
            self.on_progress(Progress(step, total, loss, message))

    def check_cancelled(self) -> None:
        if self.cancel.is_set():
            raise LabCancelled("cancelled")


@dataclass
class LabResult:
    blocks: list[Block]
    metrics: dict[str, float]
    """The run's key numbers (the answer keys are computed from these)."""
    questions: list[Question]
    timings: dict[str, float] = field(default_factory=dict)
    """Seconds per phase (train, experiment, ...), for the report and bench."""

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocks": [b.to_dict() for b in self.blocks],
            "metrics": dict(self.metrics),
            "questions": [q.to_dict() for q in self.questions],
            "timings": dict(self.timings),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> "LabResult":
        return cls(
            blocks=[block_from_dict(b) for b in d.get("blocks", [])],
            metrics=dict(d.get("metrics", {})),
            questions=[question_from_dict(q) for q in d.get("questions", [])],
            timings=dict(d.get("timings", {})),
        )


class Lab:
    name: ClassVar[str] = ""
    title: ClassVar[str] = ""
    summary: ClassVar[str] = ""
    topics: ClassVar[tuple[str, ...]] = ()
    defaults: ClassVar[dict[str, Any]] = {}
    small: ClassVar[dict[str, Any]] = {}
    """Overrides for fast tests (seconds on CPU)."""

    def run(self, ctx: LabContext) -> LabResult:  # pragma: no cover - abstract
        raise NotImplementedError
