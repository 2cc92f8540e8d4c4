"""Pick the torch device for a lab run. Importing this module does not import torch."""

from __future__ import annotations

import importlib.util
import warnings

from mi_prep.lab.api import LabUnavailable

INSTALL_HINT = "Labs need torch and transformer-lens: pip install -e '.[labs]'  (or pip install 'mi-prep[labs]')"


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
