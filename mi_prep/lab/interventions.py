"""Residual-stream interventions as TransformerLens forward hooks, and sampling under them.

hooks = [("blocks.1.hook_resid_pre", add_vector(v, alpha=2.0))]      # activation steering
hooks = [(name, project_out(r)) for name in points]                   # directional ablation
ids = sample(model, prompt_ids, 10, hooks, generator, device, n_ctx)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


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
