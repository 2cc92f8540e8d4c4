"""Residual-stream interventions as TransformerLens forward hooks, and sampling under them.

hooks = [("blocks.1.hook_resid_pre", add_vector(v, alpha=2.0))]      # activation steering
hooks = [(name, project_out(r)) for name in points]                   # directional ablation
ids = sample(model, prompt_ids, 10, hooks, generator, device, n_ctx)
rows = sample_batch(model, prompt_ids, 4, 10, hooks, generator, device, n_ctx)  # 4 samples at once

points = resid_points(n_layers)                                       # L0..L{n-1} resid_pre, final resid_post
names = point_labels(len(points))                                     # ("L0", "L1", ...)
means = mean_at_last(model, toks, last, points)                       # mean activation at each row's last token
curves = dose_response(ctx, points, vectors, alphas, measure)         # measure(hooks) per point and alpha
dirs = random_units(d, 8, seed, device)                               # norm-matched controls: dirs[k] * v.norm()
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

from mi_prep.lab.api import LabContext

T = TypeVar("T")


def add_vector(vec, alpha: float) -> Callable[[Any, Any], Any]:
    """Hook adding ``alpha * vec`` at every position."""

    def fn(act, hook):
        return act + alpha * vec.to(act.dtype)

    return fn


def project_out(direction) -> Callable[[Any, Any], Any]:
    """Hook removing the component along the unit vector ``direction``: ``x <- x - r r^T x``."""

    def fn(act, hook):
        d_ = direction.to(act.dtype)
        return act - (act @ d_)[..., None] * d_

    return fn


def sample(model, ids: list[int], n_new: int, hooks, g, dev, n_ctx: int) -> list[int]:
    """``ids`` plus up to ``n_new`` tokens sampled (temperature 1, CPU generator ``g``) with ``hooks``
    applied, stopping at ``n_ctx`` tokens."""
    import torch

    ids = list(ids)
    with torch.no_grad():
        for _ in range(n_new):
            if len(ids) >= n_ctx:
                break
            toks = torch.tensor([ids], device=dev)
            logits = model.run_with_hooks(toks, fwd_hooks=hooks) if hooks else model(toks)
            probs = logits[0, -1].float().softmax(-1).cpu()
            ids.append(int(torch.multinomial(probs, 1, generator=g)))
    return ids


def resid_points(n_layers: int, *, mid: bool = False) -> list[str]:
    """The residual stream entering each block (``mid``: then between each block's attention and MLP),
    then the final residual stream."""
    mids = [f"blocks.{i}.hook_resid_mid" for i in range(n_layers)] if mid else []
    return [f"blocks.{i}.hook_resid_pre" for i in range(n_layers)] + mids + [f"blocks.{n_layers - 1}.hook_resid_post"]


def point_labels(n_points: int) -> tuple[str, ...]:
    """Short labels L0, L1, ... for hook points."""
    return tuple(f"L{i}" for i in range(n_points))


def mean_at_last(model, toks, last, points: list[str]) -> list[Any]:
    """Per hook point, the activation at each row's position ``last[row]`` averaged over rows (float32)."""
    import torch

    with torch.no_grad():
        _, cache = model.run_with_cache(toks, names_filter=lambda nm: nm in points)
        rows = torch.arange(toks.shape[0])
        return [cache[pt][rows, last].float().mean(0) for pt in points]


def random_unit(d: int, seed: int, device) -> Any:
    """A random unit vector of size ``d`` (CPU generator seeded with ``seed``, then moved to ``device``)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    r = torch.randn(d, generator=g).to(device)
    return r / r.norm()


def dose_response(
    ctx: LabContext, points: list[str], vectors: list[Any], alphas: list[float], measure: Callable[[list], T]
) -> list[list[T]]:
    """``out[i][j] = measure(hooks)`` with ``alphas[j] * vectors[i]`` added at ``points[i]`` (no hook at alpha 0)."""
    out: list[list[T]] = []
    for li, (pt, vec) in enumerate(zip(points, vectors, strict=True)):
        out.append([])
        for j, a in enumerate(alphas):
            ctx.check_cancelled()
            out[-1].append(measure([(pt, add_vector(vec, a))] if a != 0 else []))
            ctx.progress(li * len(alphas) + j + 1, len(points) * len(alphas), message="dose-response curves")
    return out


def sample_batch(model, ids: list[int], n_samples: int, n_new: int, hooks, g, dev, n_ctx: int) -> list[list[int]]:
    """``n_samples`` copies of ``ids``, each continued by up to ``n_new`` tokens sampled together
    (temperature 1, CPU generator ``g``) with ``hooks`` applied, stopping at ``n_ctx`` tokens."""
    import torch

    toks = torch.tensor([list(ids)] * n_samples, dtype=torch.long)
    with torch.no_grad():
        for _ in range(n_new):
            if toks.shape[1] >= n_ctx:
                break
            x = toks.to(dev)
            logits = model.run_with_hooks(x, fwd_hooks=hooks) if hooks else model(x)
            probs = logits[:, -1].float().softmax(-1).cpu()
            toks = torch.cat([toks, torch.multinomial(probs, 1, generator=g)], dim=1)
    return toks.tolist()


def random_units(d: int, k: int, seed: int, device) -> list[Any]:
    """``k`` random unit vectors of size ``d`` (one CPU generator seeded with ``seed``)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    r = torch.randn(k, d, generator=g)
    return list((r / r.norm(dim=1, keepdim=True)).to(device))
