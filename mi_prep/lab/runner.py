"""Run a lab: resolve the device, seed, merge params, report progress, honour cancel, time it.

    params = merge_params(lab, {"steps": 100}, small=False)   # validated once (ParamError if bad)
    run = run_lab(lab, seed=0, device=None, params=params)
    run.status  # 'done' | 'cancelled' | 'failed'
    run.result  # LabResult when done

``start_lab(...)`` runs the same thing in a daemon thread and returns a handle with ``cancel()``
and ``join()``; the TUI uses a Textual thread worker around :func:`run_lab` instead.
Importing this module does not import torch.
"""

from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from mi_prep.lab.api import Lab, LabCancelled, LabContext, LabParams, LabResult, LabUnavailable, Progress


def parse_value(text: str) -> Any:
    """``--set key=value`` values: JSON (numbers, lists, true/false) when it parses, else the string."""
    import json

    try:
        return json.loads(text)
    except ValueError:
        low = text.strip().lower()
        if low in ("true", "false"):
            return low == "true"
        return text


def merge_params(lab: Lab, params: Mapping[str, Any] | LabParams | None = None, *, small: bool = False) -> Any:
    """The lab's defaults, then its ``small`` overrides if asked, then ``params`` (the user's overrides),
    validated once: an instance of ``lab.Params`` (a dict for an untyped lab). See :meth:`Lab.make_params`.

    Raises :class:`~mi_prep.lab.api.UnknownParamError` (a ``KeyError``) for an unknown key and
    :class:`~mi_prep.lab.api.ParamError` (a ``ValueError``) for a bad value."""
    return lab.make_params(params, small=small)


def params_dict(params: Any) -> dict[str, Any]:
    """Plain JSON-able values of merged params (what a :class:`LabRun` records)."""
    return params.to_dict() if isinstance(params, LabParams) else dict(params)


@dataclass
class LabRun:
    lab: str
    seed: int
    device: str
    params: dict[str, Any]
    """The merged parameters as plain values."""
    started: datetime
    finished: datetime | None = None
    status: str = "running"
    """'running' | 'done' | 'cancelled' | 'failed'"""
    result: LabResult | None = None
    error: str = ""
    seconds: float = 0.0
    threads: int = 0
    """torch's CPU thread count during the run (0: not recorded, e.g. a run stored before it was)."""

    @property
    def ok(self) -> bool:
        return self.status == "done" and self.result is not None


def _utcnow() -> datetime:
    return datetime.now(UTC)


def run_lab(
    lab: Lab,
    *,
    seed: int = 0,
    device: str | None = None,
    params: Mapping[str, Any] | LabParams | None = None,
    cache_dir: Path | None = None,
    on_progress: Callable[[Progress], None] | None = None,
    cancel: threading.Event | None = None,
    raise_errors: bool = False,
    threads: int | str | None = None,
) -> LabRun:
    """Run ``lab`` synchronously. ``params``: the result of :func:`merge_params`, or overrides that are
    merged here the same way (without ``small``); bad params raise :class:`~mi_prep.lab.api.ParamError`
    before anything runs.

    Never raises for lab errors unless ``raise_errors``: the returned run says 'failed' with the message.
    :class:`LabUnavailable` (torch missing, bad device) is always raised, so callers can show the fix.
    ``threads``: torch's CPU thread count (the ``lab-threads`` setting; None or ``auto``: the measured
    default, :data:`mi_prep.lab.device.AUTO_THREADS`).
    """
    from mi_prep.lab.device import require_torch, resolve_device, resolve_threads, use_threads
    from mi_prep.lab.models import default_cache_dir

    merged = merge_params(lab, params)
    require_torch()
    dev = resolve_device(device)
    n_threads = resolve_threads(threads)
    use_threads(n_threads)
    run = LabRun(
        lab=lab.name, seed=int(seed), device=dev, params=params_dict(merged), started=_utcnow(), threads=n_threads
    )
    cache = Path(cache_dir or default_cache_dir())
    cache.mkdir(parents=True, exist_ok=True)
    ctx = LabContext(
        seed=int(seed),
        device=dev,
        params=merged,
        cache_dir=cache,
        on_progress=on_progress,
        cancel=cancel or threading.Event(),
    )
    t0 = time.perf_counter()
    try:
        ctx.check_cancelled()
        run.result = lab.run(ctx)
        ctx.check_cancelled()
        run.status = "done"
    except LabCancelled:
        run.status = "cancelled"
        run.result = None
    except LabUnavailable:
        raise
    except Exception as exc:
        run.status = "failed"
        run.error = f"{type(exc).__name__}: {exc}\n{traceback.format_exc(limit=6)}"
        if raise_errors:
            raise
    finally:
        run.seconds = time.perf_counter() - t0
        run.finished = _utcnow()
    return run


@dataclass
class LabThread:
    """Handle to a lab running in a background thread."""

    thread: threading.Thread
    cancel_event: threading.Event
    box: dict[str, Any] = field(default_factory=dict)

    def cancel(self) -> None:
        self.cancel_event.set()

    def join(self, timeout: float | None = None) -> LabRun | None:
        self.thread.join(timeout)
        if "error" in self.box:
            raise self.box["error"]
        return self.box.get("run")

    @property
    def done(self) -> bool:
        return not self.thread.is_alive()


def start_lab(lab: Lab, *, on_done: Callable[[LabRun], None] | None = None, **kwargs: Any) -> LabThread:
    """Thread-friendly form of :func:`run_lab`: returns at once; ``handle.cancel()`` stops it mid-training."""
    cancel = kwargs.pop("cancel", None) or threading.Event()
    box: dict[str, Any] = {}

    def target() -> None:
        try:
            box["run"] = run_lab(lab, cancel=cancel, **kwargs)
            if on_done is not None:
                on_done(box["run"])
        except BaseException as exc:  # LabUnavailable etc: re-raised by join()
            box["error"] = exc

    t = threading.Thread(target=target, name=f"lab-{lab.name}", daemon=True)
    handle = LabThread(t, cancel, box)
    t.start()
    return handle


def run_score(grades: list[float]) -> float:
    """A run's score: the mean of its question scores (0 when there were none)."""
    return sum(grades) / len(grades) if grades else 0.0


def rating_for(score: float) -> int:
    """Run score -> SRS rating 1..4 (Again/Hard/Good/Easy)."""
    if score < 0.5:
        return 1
    if score < 0.75:
        return 2
    if score < 0.95:
        return 3
    return 4
