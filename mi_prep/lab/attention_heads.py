"""Attention-head measurements with TransformerLens hooks (importing this does not import torch).

logits, patterns = run_patterns(model, tokens, n_layers, ablate=[(0, 1)])   # L0H1's output zeroed
prev, ind = head_scores(patterns, tokens)   # [layer][head] previous-token and induction scores
head_name(1, 0)                             # "L1H0"
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def head_name(layer: int, head: int) -> str:
    """``L{layer}H{head}``, how labs and questions name a head."""
    return f"L{layer}H{head}"


def induction_masks(tokens):
    """``(mask[b, q, k], has[b, q])``: k is an induction target of query q when tokens[k-1] == tokens[q], k <= q."""
    import torch

    b, t = tokens.shape
    mask = torch.zeros(b, t, t, dtype=torch.bool, device=tokens.device)
    mask[:, :, 1:] = tokens[:, None, :-1] == tokens[:, :, None]
    mask &= torch.tril(torch.ones(t, t, dtype=torch.bool, device=tokens.device))[None]
    mask[:, :, 0] = False
    return mask, mask.any(-1)


def head_scores(patterns: dict[int, Any], tokens) -> tuple[list[list[float]], list[list[float]]]:
    """Per layer and head: previous-token score (mean attention from q to q-1) and induction score
    (mean attention mass on the tokens right after earlier copies of the current token, over
    queries that have an earlier copy)."""
    mask, has = induction_masks(tokens)
    prev, ind = [], []
    for layer in sorted(patterns):
        pat = patterns[layer].float()  # [b, h, q, k]
        prev.append(pat[..., 1:, :].diagonal(0, dim1=-2, dim2=-1).mean((0, 2)).tolist())
        mass = (pat * mask[:, None]).sum(-1)  # [b, h, q]
        ind.append(((mass * has[:, None]).sum((0, 2)) / has.sum().clamp(min=1)).tolist())
    return prev, ind


def removal_hooks(layers: Sequence[int], removed: Sequence[tuple[int, int]]) -> list[tuple[str, Any]]:
    """Hooks zeroing the listed ``(layer, head)`` outputs (hook_z) in ``layers``."""
    hooks = []
    for layer in layers:
        heads = [h for (l, h) in removed if l == layer]
        if heads:

            def zero(z, hook, heads=heads):
                z = z.clone()
                z[:, :, heads] = 0.0
                return z

            hooks.append((f"blocks.{layer}.attn.hook_z", zero))
    return hooks


def run_patterns(model, tokens, n_layers: int, ablate: Sequence[tuple[int, int]] = ()):
    """Attention patterns (and logits) with the listed heads' outputs zero-ablated (z set to 0)."""
    import torch

    pats: dict[int, Any] = {}
    hooks = removal_hooks(range(n_layers), ablate)
    for layer in range(n_layers):

        def save(p, hook, layer=layer):
            pats[layer] = p.detach()

        hooks.append((f"blocks.{layer}.attn.hook_pattern", save))
    with torch.no_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=hooks)
    return logits, pats
