"""Pick the torch device for a lab run. Importing this module does not import torch."""

from __future__ import annotations

import importlib.util
import os
import warnings

from mi_prep.lab.api import LabUnavailable

INSTALL_HINT = "Labs need torch and transformer-lens: pip install -e '.[labs]'  (or pip install 'mi-prep[labs]')"


AUTO_THREADS = 1
"""Threads for ``lab-threads = auto``. The labs' models are tiny (d_model 64-128, batches of a few
hundred short sequences). ``python bench/labs.py`` runs every lab on 1 and on 2 threads side by side.
On the 2-core machine these labs are developed on, 2 threads took 0.64-0.83 of the 1-thread time when
the machine was idle, but 2-4 times the 1-thread time as soon as other work shared the cores (one
induction run took 8 times as long), while 1 thread slowed little. One thread is the safe default, and
a fixed one: float sums can differ with the thread count, so a seed's run is only reproducible on the
same count. Set ``lab-threads`` to 2 on a quiet machine with cores to spare."""


def resolve_threads(setting: int | str | None = None) -> int:
    """The thread count for a lab run: a number as given, ``auto``/None the measured default (never more
    than the machine's cores)."""
    if setting in (None, "", "auto"):
        return max(1, min(AUTO_THREADS, os.cpu_count() or 1))
    n = int(setting)
    if n < 1:
        raise LabUnavailable(f"lab threads must be at least 1 (got {setting!r})")
    return n


def use_threads(n: int) -> None:
    """Set torch's intra-op thread count for this process (a lab run sets it before it starts)."""
    import torch

    if torch.get_num_threads() != n:
        torch.set_num_threads(n)


def torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None


def require_torch() -> None:
    """Raise :class:`LabUnavailable` with the install command when torch / transformer-lens are missing."""
    missing = [m for m in ("torch", "transformer_lens", "safetensors") if importlib.util.find_spec(m) is None]
    if missing:
        raise LabUnavailable(f"{', '.join(missing)} not installed. {INSTALL_HINT}")


def resolve_device(requested: str | None = None) -> str:
    """``requested`` if given ('cpu', 'cuda', 'cuda:1', 'mps'), else CUDA when available, else CPU.

    MPS is only used when asked for explicitly; it warns because some ops give wrong results there.
    """
    require_torch()
    import torch

    if requested in (None, "", "auto"):
        return "cuda" if torch.cuda.is_available() else "cpu"
    req = requested.strip().lower()
    if req.startswith("cuda"):
        if not torch.cuda.is_available():
            raise LabUnavailable(f"--device {requested}: CUDA is not available here (use --device cpu)")
        return req
    if req == "mps":
        backend = getattr(torch.backends, "mps", None)
        if backend is None or not backend.is_available():
            raise LabUnavailable("--device mps: MPS is not available here (use --device cpu)")
        warnings.warn(
            "MPS is known to give wrong results for some ops; numbers may differ from CPU/CUDA.",
            RuntimeWarning,
            stacklevel=2,
        )
        return "mps"
    if req == "cpu":
        return "cpu"
    raise LabUnavailable(f"unknown device {requested!r}: use cpu, cuda, cuda:N or mps")
