"""The contract between the lab engine and the labs in ``labs/*.py``. Pure Python, no torch.

A lab file defines ``LAB = SomeLab()`` where ``SomeLab`` subclasses :class:`Lab` and declares its
parameters as a :class:`LabParams` class (typed, validated once; the field defaults are the lab's
defaults, ``small`` the overrides for fast runs)::

    class InductionParams(InductionSpec):      # shared model spec from mi_prep.lab.tasks
        n_eval: int = Field(64, gt=0)

    class InductionLab(Lab):
        name = "induction-heads"
        title = "Induction heads"
        summary = "Train a 2-layer attention-only model and find its induction circuit."
        topics = ("induction-heads",)          # deck tags this lab exercises
        Params = InductionParams
        small = {"steps": 400}                 # overrides for fast tests and drills

        def run(self, ctx: LabContext) -> LabResult:
            import torch                        # torch only inside run()
            p: InductionParams = ctx.params     # already merged and validated by the runner
            ...
            ctx.progress(step, total, loss=loss, message="training")
            ctx.check_cancelled()
            ...
            return LabResult(blocks=[...], metrics={...}, questions=[...])

:meth:`Lab.make_params` is the one place defaults, ``small`` and user overrides are merged
(``mi_prep.lab.runner.merge_params`` calls it). A lab without ``Params`` may still declare a plain
``defaults`` dict; it then gets a dict (unknown keys rejected, values unchecked).

Blocks are plain data (lists of floats / strings) so a run can be stored as JSON,
re-rendered later and shown in the plain terminal or the TUI.
"""

from __future__ import annotations

import random
import threading
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mi_prep.core.questions import FreeText, Grade, MultipleChoice, Numeric, PickComponent, Question, question_from_dict

__all__ = [  # labs import everything from here, question types and pydantic's Params helpers included
    "Lab",
    "LabContext",
    "LabResult",
    "LabParams",
    "Progress",
    "LabCancelled",
    "LabUnavailable",
    "ParamError",
    "UnknownParamError",
    "Block",
    "BLOCK_TYPES",
    "Text",
    "Table",
    "Heatmap",
    "Series",
    "LinePlot",
    "Scatter",
    "FreeText",
    "Grade",
    "MultipleChoice",
    "Numeric",
    "PickComponent",
    "Question",
    "question_from_dict",
    "Field",
    "field_validator",
    "model_validator",
]


class LabCancelled(Exception):
    """Raised inside a lab by :meth:`LabContext.check_cancelled` when the user cancels."""


class LabUnavailable(Exception):
    """The lab cannot run here (e.g. torch is not installed); the message says how to fix it."""


# --------------------------------------------------------------------------- parameters


class ParamError(ValueError):
    """A lab parameter override is unknown or has a bad value; the message says which and why."""


class UnknownParamError(ParamError, KeyError):
    """An override names a parameter the lab does not have (also a ``KeyError``, as it always was)."""

    def __str__(self) -> str:  # KeyError would quote the message
        return str(self.args[0])


class LabParams(BaseModel):
    """Base class of a lab's typed parameters: frozen, unknown keys rejected, values coerced and
    checked once (``Field(600, gt=0)``). Field defaults are the lab's defaults."""

    model_config = ConfigDict(frozen=True, extra="forbid", validate_default=True)

    def to_dict(self) -> dict[str, Any]:
        """Plain values (tuples as lists): what a stored run records."""
        return self.model_dump(mode="json")

    @classmethod
    def field_names(cls) -> tuple[str, ...]:
        return tuple(cls.model_fields)


def _validation_message(lab: str, exc: ValidationError) -> str:
    parts = []
    for err in exc.errors():
        msg = err["msg"].removeprefix("Value error, ")
        if err["loc"]:  # one field
            parts.append(f"{'.'.join(str(x) for x in err['loc'])}: {msg} (got {err['input']!r})")
        else:  # a check across fields
            parts.append(msg)
    return f"lab {lab!r}: bad parameter value: " + "; ".join(parts)


# --------------------------------------------------------------------------- blocks


@dataclass
class Block:
    title: str
    caption: str = ""
    after: str = field(default="", kw_only=True)
    """Empty: shown with the results. Else the id of the question whose answer reveals this block (the
    computed interpretation, or data that would give that question away): shown once it is answered."""
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
    diagonal: bool = False
    """Draw the line y = x (for comparing two estimates of the same quantity)."""
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
    params: Any
    """The merged, validated parameters: an instance of the lab's ``Params`` (a dict for a lab that
    only declares ``defaults``)."""
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

    def blocks_before(self, index: int) -> list[Block]:
        """What the learner has seen when question ``index`` is asked: the blocks shown with the
        results and those revealed by the questions before it, in the result's order."""
        earlier = {q.id for q in self.questions[:index]}
        return [b for b in self.blocks if not b.after or b.after in earlier]

    def opening_blocks(self) -> list[Block]:
        """The blocks shown with the results, before any question."""
        return [b for b in self.blocks if not b.after]

    def revealed_by(self, question_id: str) -> list[Block]:
        """The blocks that answering ``question_id`` reveals."""
        return [b for b in self.blocks if b.after == question_id]

    def to_dict(self) -> dict[str, Any]:
        return {
            "blocks": [b.to_dict() for b in self.blocks],
            "metrics": dict(self.metrics),
            "questions": [q.to_dict() for q in self.questions],
            "timings": dict(self.timings),
        }

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> LabResult:
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
    Params: ClassVar[type[LabParams] | None] = None
    """The lab's typed parameters; its field defaults are the lab's defaults."""
    small: ClassVar[Mapping[str, Any]] = {}
    """Overrides for fast runs (seconds on CPU): tests and drills."""
    defaults: ClassVar[Mapping[str, Any]] = {}
    """Read-only view of the defaults. Derived from ``Params`` when it is set; a lab without
    ``Params`` declares this dict itself (untyped)."""

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if cls.Params is not None and "defaults" not in cls.__dict__:
            cls.defaults = MappingProxyType(cls.Params().model_dump())

    def make_params(self, overrides: Mapping[str, Any] | LabParams | None = None, *, small: bool = False) -> Any:
        """The one merge: defaults, then ``small`` if asked, then ``overrides``; validated once.

        Returns an instance of ``Params`` (a dict for an untyped lab). An instance of ``Params`` passed
        as ``overrides`` is already merged and is returned as it is. Raises :class:`UnknownParamError`
        for a key the lab does not have and :class:`ParamError` for a bad value."""
        if isinstance(overrides, LabParams):
            if self.Params is None or not isinstance(overrides, self.Params):
                raise ParamError(f"lab {self.name!r} does not take {type(overrides).__name__}")
            return overrides
        overrides = dict(overrides or {})
        known = self.Params.field_names() if self.Params is not None else tuple(self.defaults)
        unknown = [k for k in overrides if k not in known and (self.Params is not None or k not in self.small)]
        if unknown and (self.Params is not None or self.defaults):
            raise UnknownParamError(
                f"lab {self.name!r} has no parameter {unknown[0]!r} (known: {', '.join(sorted(known)) or 'none'})"
            )
        merged = {**(self.small if small else {}), **overrides}
        if self.Params is None:
            return {**self.defaults, **merged}
        try:
            return self.Params(**merged)
        except ValidationError as exc:
            raise ParamError(_validation_message(self.name, exc)) from None

    def run(self, ctx: LabContext) -> LabResult:  # pragma: no cover - abstract
        raise NotImplementedError
