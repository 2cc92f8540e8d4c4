"""Toy models of superposition (Elhage et al. 2022, arXiv 2209.10652), trained as a batch of instances.

``n`` sparse features squeezed into ``m`` hidden dimensions and read back out: ``h = W x``,
``x' = ReLU(W^T h + b)``, loss weighted by a per-feature importance ``importance[i]``. One instance per
(feature sparsity, restart), all trained together in one tensor as the paper does; the restart with
the lowest held-out loss is kept per sparsity.

    run = train_toy_models(ctx, n=5, m=2, sparsities=[0.0, 0.9], restarts=4, steps=2500, batch=1024,
                           lr=1e-2, importance=imp, eval_samples=20000)   # imp[i]: feature i's loss weight
    run.W      # [n_sparsities, m, n] kept restart per sparsity
    stats = feature_stats(run.W)   # per-feature norms, superposition, dimensionality, 2-D angles
    metrics = sweep_metrics(run, stats, sparsities=[0.0, 0.9], restarts=4, importance=imp)  # norm_s{k}_f{i}, ...
    sparsities, n, m, norms, angles = unpack_sweep(metrics)
    sweep_values(metrics, "dimensionality")                    # [k][i] of dimensionality_s{k}_f{i}

What the learner must discover comes from the seed: :func:`seeded_profile` picks the importance decay,
which feature gets which importance rank and the mid sparsity of the sweep.

    prof = seeded_profile(seed=3, n=5)   # prof.importance[i], prof.ranks[i], prof.sparsities
"""

from __future__ import annotations

import math
import random
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from mi_prep.lab.api import LabContext

DECAYS = (0.6, 0.7, 0.8)
"""Importance decays the seed picks from (the feature of rank r, 1 = most important, has importance decay**(r-1))."""
MID_SPARSITIES = (0.6, 0.7, 0.8)
"""Mid sparsities the seed picks from: two antipodal pairs or one, some features still left out."""
HIGH_SPARSITIES = (0.9, 0.97, 0.99, 0.999)
"""The sparse end of the default sweep, where more features go into superposition (all five, as a pentagon, in
some of these models; the run's computed geometry says which)."""


@dataclass(frozen=True)
class Profile:
    """The seed's importance profile and sweep."""

    decay: float
    ranks: list[int]
    """``ranks[i]``: importance rank of feature ``i`` (0 = most important)."""
    importance: list[float]
    """``decay ** ranks[i]``."""
    sparsities: list[float]


def seeded_profile(
    seed: int, n: int, *, decay: float | None = None, shuffle: bool = True, sparsities: Sequence[float] | None = None
) -> Profile:
    """The seed picks the decay (from :data:`DECAYS`), the ranks (a permutation when ``shuffle``) and the mid
    sparsity (from :data:`MID_SPARSITIES`) of the sweep ``0, mid, *HIGH_SPARSITIES``; arguments that are given
    override the pick (the same draws are made either way, so one seed picks the same for the rest)."""
    rng = random.Random(seed)
    d = rng.choice(DECAYS)
    ranks = list(range(n))
    rng.shuffle(ranks)
    mid = rng.choice(MID_SPARSITIES)
    d = float(decay) if decay is not None else d
    ranks = ranks if shuffle else list(range(n))
    sp = [float(v) for v in sparsities] if sparsities is not None else [0.0, mid, *HIGH_SPARSITIES]
    return Profile(decay=d, ranks=ranks, importance=[d**r for r in ranks], sparsities=sp)


@dataclass
class ToyModels:
    W: Any
    """``[n_sparsities, m, n]`` (CPU): the kept restart's weights per sparsity."""
    b: Any
    """``[n_sparsities, n]`` (CPU): its biases."""
    eval_loss: list[float]
    """Held-out loss of the kept restart per sparsity."""
    best: list[int]
    """Index of the kept instance (``k * restarts + r``) per sparsity."""
    curves: list[list[float]]
    """Training loss per instance at the logged steps."""
    curve_x: list[float]
    """The logged steps."""


def train_toy_models(
    ctx: LabContext,
    *,
    n: int,
    m: int,
    sparsities: list[float],
    restarts: int,
    steps: int,
    batch: int,
    lr: float,
    importance: list[float],
    eval_samples: int,
    log_every: int = 50,
) -> ToyModels:
    """Train ``len(sparsities) * restarts`` toy models on ``ctx.device`` (seeded by ``ctx.seed``, the
    global torch RNG untouched) and keep the best restart per sparsity on a shared held-out batch."""
    import torch

    n_s, R = len(sparsities), restarts
    I = n_s * R  # instance i = k * R + r
    dev = torch.device(ctx.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        g = torch.Generator(device="cpu").manual_seed(ctx.seed)
        S = torch.tensor(sparsities).repeat_interleave(R).to(dev)  # [I]
        prob = (1.0 - S)[None, :, None]
        imp = torch.tensor([float(v) for v in importance], dtype=torch.float32).to(dev)  # [n]
        W = torch.randn(I, m, n, generator=g) * math.sqrt(2.0 / (m + n))  # xavier normal
        W = torch.nn.Parameter(W.to(dev))
        b = torch.nn.Parameter(torch.zeros(I, n, device=dev))
        opt = torch.optim.AdamW([W, b], lr=lr, weight_decay=0.0)

        def sample(bs: int, gen: torch.Generator) -> torch.Tensor:
            x = torch.rand(bs, I, n, generator=gen).to(dev)
            on = torch.rand(bs, I, n, generator=gen).to(dev)
            return x * (on < prob)

        def forward(x: torch.Tensor) -> torch.Tensor:
            h = torch.einsum("imn,bin->bim", W, x)
            return torch.relu(torch.einsum("imn,bim->bin", W, h) + b)

        log_every = max(1, log_every)
        curves: list[list[float]] = [[] for _ in range(I)]
        curve_x: list[float] = []
        for step in range(steps):
            if step % 10 == 0:
                ctx.check_cancelled()
            x = sample(batch, g)
            per_inst = (imp * (x - forward(x)) ** 2).mean(dim=(0, 2))  # [I]
            loss = per_inst.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % log_every == 0 or step == steps - 1:
                vals = per_inst.detach().cpu().tolist()
                for i in range(I):
                    curves[i].append(vals[i])
                curve_x.append(float(step))
                ctx.progress(step + 1, steps, loss=float(loss.item()) / I, message="training toy models")
        ctx.progress(steps, steps, message="training done")

        # pick the best restart per sparsity on a shared held-out batch (common random numbers)
        ge = torch.Generator(device="cpu").manual_seed(ctx.seed + 1)
        with torch.no_grad():
            val = torch.rand(eval_samples, n_s, n, generator=ge)
            on = torch.rand(eval_samples, n_s, n, generator=ge)
            pr = (1.0 - torch.tensor(sparsities))[None, :, None]
            xe = (val * (on < pr)).repeat_interleave(R, dim=1).to(dev)
            eval_loss = (imp * (xe - forward(xe)) ** 2).mean(dim=(0, 2)).cpu()
            best = [k * R + int(torch.argmin(eval_loss[k * R : (k + 1) * R])) for k in range(n_s)]
            Wb = W.detach().cpu()[best]  # [n_s, m, n]
            bb = b.detach().cpu()[best]
    ctx.check_cancelled()
    return ToyModels(
        W=Wb, b=bb, eval_loss=[float(eval_loss[i]) for i in best], best=best, curves=curves, curve_x=curve_x
    )


@dataclass
class FeatureStats:
    """Per-feature measurements of weights ``W [k, m, n]`` (``k`` models, ``n`` features in ``m`` dims)."""

    gram: Any
    """``W^T W`` per model, ``[k, n, n]``: norms squared on the diagonal, interference off it."""
    norms: Any
    """``||W_i||``, ``[k, n]``."""
    superposition: Any
    """``sum_{j != i} (Ŵ_i·W_j)^2``, ``[k, n]``: 0 when feature i has its own dimension."""
    dimensionality: Any
    """``D_i = ||W_i||^2 / sum_j (Ŵ_i·W_j)^2``, ``[k, n]``: 1 own dimension, 1/2 antipodal pair, 2/5 pentagon."""
    angles: Any
    """Direction of each W_i in degrees, ``[k, n]``, when ``m == 2``; otherwise ``None``."""


def feature_stats(W) -> FeatureStats:
    """Gram matrix, norms, superposition, dimensionality (Elhage et al. 2022) and 2-D angles of ``W``."""
    import torch

    n = W.shape[-1]
    gram = torch.einsum("kmi,kmj->kij", W, W)  # W^T W  [k, n, n]
    norms = W.norm(dim=1)  # [k, n]
    unit = W / norms.clamp_min(1e-8)[:, None, :]
    overlap = torch.einsum("kmi,kmj->kij", unit, W) ** 2  # (Ŵ_i·W_j)^2
    eye = torch.eye(n, dtype=torch.bool)
    superpos = overlap.masked_fill(eye, 0.0).sum(-1)  # sum_{j != i}
    dimensionality = norms**2 / overlap.sum(-1).clamp_min(1e-8)
    angles = torch.rad2deg(torch.atan2(W[:, 1, :], W[:, 0, :])) if W.shape[1] == 2 else None
    return FeatureStats(gram=gram, norms=norms, superposition=superpos, dimensionality=dimensionality, angles=angles)


def sweep_metrics(
    toy: ToyModels, stats: FeatureStats, *, sparsities: list[float], restarts: int, importance: Sequence[float]
) -> dict[str, float]:
    """The sweep as flat metrics: sizes, ``importance_f{i}``, then per sparsity ``k`` its value (``sparsity_k``) and
    held-out loss (``eval_loss_s{k}``), per feature ``i`` ``norm_s{k}_f{i}``, ``superposition_…``,
    ``dimensionality_…``, ``bias_…``, (2-D only) ``angle_…``, and ``gram_s{k}_{i}_{j}`` (``W^T W``)."""
    n_s, m, n = toy.W.shape
    metrics: dict[str, float] = {
        "n_sparsities": float(n_s),
        "n_features": float(n),
        "n_hidden": float(m),
        "restarts": float(restarts),
    }
    for i, v in enumerate(importance):
        metrics[f"importance_f{i}"] = float(v)
    for k, s_val in enumerate(sparsities):
        metrics[f"sparsity_{k}"] = s_val
        metrics[f"eval_loss_s{k}"] = toy.eval_loss[k]
        for i in range(n):
            metrics[f"norm_s{k}_f{i}"] = float(stats.norms[k, i])
            metrics[f"superposition_s{k}_f{i}"] = float(stats.superposition[k, i])
            metrics[f"dimensionality_s{k}_f{i}"] = float(stats.dimensionality[k, i])
            metrics[f"bias_s{k}_f{i}"] = float(toy.b[k, i])
            if stats.angles is not None:
                metrics[f"angle_s{k}_f{i}"] = float(stats.angles[k, i])
            for j in range(n):
                metrics[f"gram_s{k}_{i}_{j}"] = float(stats.gram[k, i, j])
    return metrics


def unpack_sweep(metrics: Mapping[str, float]) -> tuple[list[float], int, int, list[list[float]], list[list[float]]]:
    """``(sparsities, n, m, norms[k][i], angles[k][i])`` back from :func:`sweep_metrics` (angles NaN when absent)."""
    n_s = int(metrics["n_sparsities"])
    n = int(metrics["n_features"])
    m = int(metrics["n_hidden"])
    sparsities = [float(metrics[f"sparsity_{k}"]) for k in range(n_s)]
    norms = sweep_values(metrics, "norm")
    angles = [[float(metrics.get(f"angle_s{k}_f{i}", float("nan"))) for i in range(n)] for k in range(n_s)]
    return sparsities, n, m, norms, angles


def sweep_values(metrics: Mapping[str, float], name: str) -> list[list[float]]:
    """``[k][i]`` of the per-feature metric ``{name}_s{k}_f{i}`` written by :func:`sweep_metrics`."""
    n_s, n = int(metrics["n_sparsities"]), int(metrics["n_features"])
    return [[float(metrics[f"{name}_s{k}_f{i}"]) for i in range(n)] for k in range(n_s)]


def sweep_gram(metrics: Mapping[str, float]) -> list[list[list[float]]]:
    """``[k][i][j]`` of ``W^T W`` per model, from ``gram_s{k}_{i}_{j}``."""
    n_s, n = int(metrics["n_sparsities"]), int(metrics["n_features"])
    return [[[float(metrics[f"gram_s{k}_{i}_{j}"]) for j in range(n)] for i in range(n)] for k in range(n_s)]
