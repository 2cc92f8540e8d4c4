"""The induction circuit's pieces, measured on a trained model (importing this does not import torch).

    prev = prev_token_scores(patterns[0], tokens, period)     # [head]: on the positions that matter
    pats, logits = composition_patterns(model, tokens, layer=1, inputs="k", removed=[(0, h) ...])
    ov = ov_copying(model, layer=1, head=0)                     # OV circuit: eigenvalues, top-1 copying
    lo, hi = bootstrap_se(values)                               # bootstrap SD of a mean over sequences

Composition is tested the way Elhage et al. (2021) define it: the later head reads layer 0's output
through its queries (Q-composition), keys (K-composition) or values (V-composition). Removing layer 0's
output from one of the three inputs only (and leaving the other two and the rest of the model clean)
says which of the three the circuit uses.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from mi_prep.lab.attention_heads import removal_hooks
from mi_prep.lab.bootstrap import within_noise

INPUTS = ("q", "k", "v")
INPUT_NAMES = {"q": "queries", "k": "keys", "v": "values"}


def needed_positions(tokens, period):
    """``mask[b, k]`` (over query positions 1..T-1 of a head's diagonal): the first-copy positions
    1..P. These are the keys every query of the first repeat must find by "my previous token was the
    current token", so a previous-token head has to write its token there; later copies can be found
    through the first one and need no previous-token information."""
    import torch

    q = torch.arange(1, tokens.shape[1], device=tokens.device)[None]
    return q <= period[:, None]


def prev_token_per_seq(pattern, tokens, period):
    """``[b, head]``: each sequence's mean attention from a needed position to the one before it."""
    diag = pattern[:, :, 1:, :].float().diagonal(0, dim1=-2, dim2=-1)  # [b, h, q-1]
    need = needed_positions(tokens, period)[:, None].float()
    return (diag * need).sum(-1) / need.sum(-1).clamp(min=1)


def induction_per_seq(pattern, tokens):
    """``[b, head]``: each sequence's mean attention on induction targets (queries with an earlier copy)."""
    from mi_prep.lab.attention_heads import induction_masks

    mask, has = induction_masks(tokens)
    mass = (pattern.float() * mask[:, None]).sum(-1)  # [b, h, q]
    has_f = has[:, None].float()
    return (mass * has_f).sum(-1) / has_f.sum(-1).clamp(min=1)


def bootstrap_sd(per_seq, n_boot: int = 200, seed: int = 0):
    """Bootstrap SD (over sequences, dim 0) of the mean of ``per_seq[b, ...]``: a tensor shaped like
    ``per_seq[0]``; also the bootstrap draws of the mean, ``[n_boot, ...]``."""
    import torch

    g = torch.Generator().manual_seed(seed)
    b = per_seq.shape[0]
    idx = torch.randint(0, b, (n_boot, b), generator=g).to(per_seq.device)
    means = per_seq[idx].mean(1)
    return means.std(0), means


def composition_patterns(
    model, tokens, *, layer: int, inputs: str, removed: Sequence[tuple[int, int]], heads: Sequence[int] | None = None
):
    """``(patterns[layer], logits)`` when ``removed`` heads' outputs are taken out of ``layer``'s
    ``inputs`` only (a subset of "qkv"), for ``heads`` of that layer (default: all), everything else
    clean. Done by running the model once with the heads removed, recording ``layer``'s q/k/v, and
    patching those into a clean run."""
    import torch

    saved: dict[str, Any] = {}
    rec = [
        (f"blocks.{layer}.attn.hook_{x}", lambda t, hook, x=x: saved.__setitem__(x, t.detach().clone())) for x in inputs
    ]
    with torch.no_grad():
        model.run_with_hooks(tokens, fwd_hooks=removal_hooks(range(layer), removed) + rec)
    sel = list(heads) if heads is not None else slice(None)
    out: dict[str, Any] = {}

    def patch(t, hook, x):
        t = t.clone()
        t[:, :, sel] = saved[x][:, :, sel]
        return t

    def keep(p, hook):
        out["p"] = p.detach()

    hooks: list[tuple[str, Any]] = [
        (f"blocks.{layer}.attn.hook_{x}", lambda t, hook, x=x: patch(t, hook, x)) for x in inputs
    ]
    hooks.append((f"blocks.{layer}.attn.hook_pattern", keep))
    with torch.no_grad():
        logits = model.run_with_hooks(tokens, fwd_hooks=hooks)
    return out["p"], logits


def ov_copying(model, layer: int, head: int, skip_bos: bool = True) -> dict[str, Any]:
    """The head's full OV circuit on tokens, ``W_E W_V W_O W_U`` (LayerNorm scales ignored):
    ``copying`` = sum of the eigenvalues' real parts / sum of their absolute values (+1: copies every
    token onto itself, -1: suppresses), ``top1`` = fraction of tokens whose own logit is the largest
    in their row, ``eigs`` = the eigenvalues (complex, largest |.| first), ``diag_z`` = how many SDs
    the diagonal's mean sits above the off-diagonal entries' mean."""
    import torch

    with torch.no_grad():
        W_E = model.W_E.float()
        W_U = model.W_U.float()
        ov = model.W_V[layer, head].float() @ model.W_O[layer, head].float()  # [d_model, d_model]
        full = W_E @ ov @ W_U  # [vocab, vocab]
        if skip_bos:
            full = full[1:, 1:]
        eigs = torch.linalg.eigvals(full.double())
        eigs = eigs[eigs.abs().argsort(descending=True)]
        copying = float(eigs.real.sum() / eigs.abs().sum().clamp(min=1e-12))
        top1 = float((full.argmax(-1) == torch.arange(full.shape[0], device=full.device)).float().mean())
        n = full.shape[0]
        off = full[~torch.eye(n, dtype=torch.bool, device=full.device)]
        diag_z = float((full.diagonal().mean() - off.mean()) / off.std().clamp(min=1e-12))
    return {"copying": copying, "top1": top1, "eigs": eigs.cpu(), "diag_z": diag_z}


def context_set_loss(tokens, period, *, d_vocab: int, min_period: int, max_period: int):
    """``[b]``: per-sequence mean next-token loss (over the positions ``lm_loss`` scores) of the best
    predictor that knows the position and WHICH tokens have appeared so far, but not their order: no
    induction. Before the first repeat a new token is uniform over the unseen ones and the repeat
    starts with probability P(period = q | period >= q); once a token has repeated, the next one is
    uniform over the seen ones. (Knowing token frequencies only gives log(d_vocab - 1).)"""
    import math

    import torch

    b, t = tokens.shape
    v = d_vocab - 1
    out = torch.zeros(b)
    for i in range(b):
        P = int(period[i])
        total = math.log(v)  # BOS predicts the first token
        for q in range(1, t - 1):  # predicting token q+1 from tokens 1..q
            s = min(q, P)
            if q > P:  # already in the repeats
                total += math.log(s)
                continue
            p_rep = 0.0 if q < min_period else 1.0 / (max_period - q + 1)
            if q == P:  # the repeat starts here
                total += -math.log(p_rep / s)
            else:
                total += -math.log((1 - p_rep) / (v - s))
        out[i] = total / (t - 1)
    return out


def ratio_sd(num, den, n_boot: int = 200, seed: int = 0) -> tuple[float, float]:
    """``(mean(num) / mean(den), bootstrap SD)`` over sequences (the same resampling for both)."""
    import torch

    g = torch.Generator().manual_seed(seed)
    b = num.shape[0]
    idx = torch.randint(0, b, (n_boot, b), generator=g).to(num.device)
    draws = num[idx].mean(1) / den[idx].mean(1).clamp(min=1e-9)
    return float(num.mean() / den.mean().clamp(min=1e-9)), float(draws.std())


def near_best(values, draws, *, lowest: bool = False) -> list[int]:
    """Indices whose value is within 2 bootstrap SDs (of the difference) of the best one.
    ``values[i]``: the estimates; ``draws[n_boot, i]``: bootstrap draws with shared resampling."""
    return within_noise(values, draws, lowest=lowest)


def phase_change_sd(losses: list[float], log_every: int = 10, n_boot: int = 200, seed: int = 0) -> float:
    """Bootstrap SD of :func:`mi_prep.lab.curves.steepest_drop`'s step: the logged losses are single
    batches, so the curve is a smooth trend (5-point moving average) plus batch noise; the noise
    (residuals around the trend) is resampled and the steepest drop found again."""
    import random

    from mi_prep.lab.curves import steepest_drop

    n = len(losses)
    if n < 6:
        return float(log_every)
    trend = [sum(losses[max(0, i - 2) : i + 3]) / len(losses[max(0, i - 2) : i + 3]) for i in range(n)]
    resid = [x - t for x, t in zip(losses, trend, strict=True)]
    rng = random.Random(seed)
    steps = []
    for _ in range(n_boot):
        curve = [t + rng.choice(resid) for t in trend]
        steps.append(steepest_drop(curve, log_every)[0])
    mean = sum(steps) / len(steps)
    return (sum((s - mean) ** 2 for s in steps) / (len(steps) - 1)) ** 0.5
