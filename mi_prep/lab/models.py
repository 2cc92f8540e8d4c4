"""Tiny seeded TransformerBridge models: build, train, cache (safetensors + JSON sidecar).

torch / transformer-lens are imported inside the functions, so importing this module is cheap.

    model = make_model(n_layers=2, d_model=64, n_heads=4, d_head=16, d_vocab=40, n_ctx=32,
                       attn_only=True, seed=0, device="cpu")
    losses = train_lm(model, batch_fn, steps=400, lr=1e-3, ctx=ctx)
    model, losses, was_cached = cached(ctx, key, build=lambda: make_model(...), train=lambda m: train_lm(m, ...))

The cache never downloads anything: a model is either on disk or trained here. Task-specific
models (the induction model, the sentiment LM) are built in :mod:`mi_prep.lab.tasks`.
"""

from __future__ import annotations

import json
import math
import os
import re
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mi_prep.lab.api import LabContext

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformer_lens.model_bridge.bridge import TransformerBridge

from mi_prep.core.locations import default_cache_dir  # noqa: E402, F401 - the runner reads it here (tests patch it)

CACHE_FORMAT = 1
"""Bumped when the sidecar or weight layout changes; old files are then retrained."""


def make_model(
    *,
    n_layers: int,
    d_model: int,
    n_heads: int,
    d_head: int,
    d_vocab: int,
    n_ctx: int,
    attn_only: bool = False,
    d_mlp: int | None = None,
    normalization: str | None = "LN",
    seed: int,
    device: str = "cpu",
    act_fn: str = "gelu",
) -> TransformerBridge:
    """A freshly initialised TL-native transformer (``TransformerBridge.boot_native``).

    Weights depend only on the arguments (init runs on CPU with a scoped generator, inside
    ``torch.random.fork_rng`` so the caller's global RNG is untouched), then move to ``device``.
    """
    import torch
    import transformer_lens.model_bridge.sources  # noqa: F401  (attaches TransformerBridge.boot_native)
    from transformer_lens.config import TransformerBridgeConfig
    from transformer_lens.model_bridge.bridge import TransformerBridge

    cfg = TransformerBridgeConfig(
        d_model=d_model,
        d_head=d_head,
        n_layers=n_layers,
        n_ctx=n_ctx,
        n_heads=n_heads,
        d_vocab=d_vocab,
        d_mlp=None if attn_only else (d_mlp or 4 * d_model),
        attn_only=attn_only,
        act_fn=act_fn,
        normalization_type=normalization,
        seed=seed,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = TransformerBridge.boot_native(cfg, device=device)  # type: ignore[attr-defined]  # set by .sources
    # remember the build arguments for the cache sidecar
    model._mi_prep_config = dict(
        n_layers=n_layers,
        d_model=d_model,
        n_heads=n_heads,
        d_head=d_head,
        d_vocab=d_vocab,
        n_ctx=n_ctx,
        attn_only=attn_only,
        d_mlp=d_mlp,
        normalization=normalization,
        seed=seed,
        act_fn=act_fn,
    )
    return model


def lm_loss(logits: torch.Tensor, tokens: torch.Tensor, *, reduction: str = "mean") -> torch.Tensor:
    """Next-token cross-entropy of ``logits[:, :-1]`` against ``tokens[:, 1:]``.

    ``reduction="none"`` gives per-position losses of shape ``[batch, seq-1]``.
    """
    import torch.nn.functional as F

    v = logits.shape[-1]
    loss = F.cross_entropy(logits[:, :-1].reshape(-1, v).float(), tokens[:, 1:].reshape(-1), reduction=reduction)
    return loss.reshape(tokens.shape[0], -1) if reduction == "none" else loss


def train_lm(
    model: TransformerBridge,
    batch_fn: Callable[[int, torch.Generator], torch.Tensor],
    *,
    steps: int,
    lr: float,
    ctx: LabContext,
    weight_decay: float = 0.0,
    log_every: int = 10,
    warmup: int = 20,
    cosine: bool = True,
    grad_clip: float | None = 1.0,
) -> list[float]:
    """Train on next-token prediction; ``batch_fn(step, generator) -> LongTensor[batch, seq]``.

    AdamW with ``warmup`` linear steps then cosine decay (``cosine=False``: constant).
    Reports ``ctx.progress(step, steps, loss=...)`` every ``log_every`` steps, checks
    ``ctx.check_cancelled()`` every step (so cancel works mid-training), and returns the loss
    curve: one value per logged step (steps 0, log_every, 2*log_every, ..., and the last step).
    The batch generator is a CPU ``torch.Generator`` seeded from ``ctx.seed``.
    """
    import torch

    g = torch.Generator().manual_seed(ctx.seed)
    dev = next(model.parameters()).device
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=weight_decay)

    def factor(s: int) -> float:
        w = min(1.0, (s + 1) / warmup) if warmup > 0 else 1.0
        return w * (0.5 * (1 + math.cos(math.pi * s / steps)) if cosine else 1.0)

    sched = torch.optim.lr_scheduler.LambdaLR(opt, factor)
    losses: list[float] = []
    model.train()
    for step in range(steps):
        ctx.check_cancelled()
        tokens = batch_fn(step, g).to(dev)
        loss = lm_loss(model(tokens), tokens)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        if grad_clip:
            torch.nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        opt.step()
        sched.step()
        if step % log_every == 0 or step == steps - 1:
            value = float(loss.detach())
            losses.append(value)
            ctx.progress(step + 1, steps, loss=value, message="training")
    ctx.check_cancelled()
    model.eval()
    return losses


_SAFE_KEY = re.compile(r"[^A-Za-z0-9._=+-]+")


def _cache_paths(cache_dir: Path, key: str) -> tuple[Path, Path]:
    safe = _SAFE_KEY.sub("_", key).strip("._") or "model"
    return cache_dir / f"{safe}.safetensors", cache_dir / f"{safe}.json"


def _atomic_write(path: Path, write: Callable[[Path], object]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    os.close(fd)
    try:
        write(Path(tmp))
        os.replace(tmp, path)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)


def save_model(
    model: TransformerBridge,
    weights: Path,
    sidecar: Path,
    *,
    key: str,
    losses: list[float],
    extra: dict[str, Any] | None = None,
) -> None:
    """Weights as safetensors (never pickle) + JSON sidecar with config and loss curve."""
    from safetensors.torch import save_file

    state = {k: v.detach().to("cpu").contiguous().clone() for k, v in model.state_dict().items()}
    meta = {
        "format": CACHE_FORMAT,
        "key": key,
        "config": getattr(model, "_mi_prep_config", {}),
        "losses": [float(x) for x in losses],
        "extra": extra or {},
    }
    _atomic_write(weights, lambda p: save_file(state, str(p), metadata={"key": key}))
    _atomic_write(sidecar, lambda p: p.write_text(json.dumps(meta, indent=1)))


def load_into(model: TransformerBridge, weights: Path, sidecar: Path) -> list[float] | None:
    """Load cached weights into ``model``; the loss curve, or None if missing/stale/corrupt."""
    if not (weights.exists() and sidecar.exists()):
        return None
    try:
        from safetensors.torch import load_file

        meta = json.loads(sidecar.read_text())
        if meta.get("format") != CACHE_FORMAT:
            return None
        want = getattr(model, "_mi_prep_config", None)
        if want is not None and meta.get("config") not in (None, {}) and meta["config"] != json.loads(json.dumps(want)):
            return None
        dev = next(model.parameters()).device
        state = load_file(str(weights), device="cpu")
        model.load_state_dict({k: v.to(dev) for k, v in state.items()}, strict=True)
        model.eval()
        return [float(x) for x in meta.get("losses", [])]
    except Exception:  # corrupt or incompatible file: caller retrains
        return None


def cached(
    ctx: LabContext, key: str, build: Callable[[], TransformerBridge], train: Callable[[TransformerBridge], list[float]]
) -> tuple[TransformerBridge, list[float], bool]:
    """``(model, loss_curve, was_cached)``.

    Loads ``ctx.cache_dir/<key>.safetensors`` (+ ``<key>.json``) when present and matching, else
    builds, trains and saves. ``key`` must include every hyperparameter and the seed. A cancelled
    training (``LabCancelled``) saves nothing.
    """
    cache_dir = Path(ctx.cache_dir)
    weights, sidecar = _cache_paths(cache_dir, key)
    model = build()
    losses = load_into(model, weights, sidecar)
    if losses is not None:
        ctx.progress(1, 1, loss=losses[-1] if losses else None, message="loaded cached model")
        return model, losses, True
    losses = train(model)
    model.eval()
    try:
        save_model(model, weights, sidecar, key=key, losses=losses)
    except OSError:  # read-only cache dir: the run still works, it just is not cached
        pass
    return model, losses, False


def param_key(prefix: str, params: dict[str, Any], names: list[str] | tuple[str, ...], seed: int) -> str:
    """A cache key like ``prefix-n_layers2-d_model64-...-seed0`` from the named params."""
    parts = [f"{n}{params[n]}" for n in names]
    return "-".join([prefix, *parts, f"seed{seed}"])
