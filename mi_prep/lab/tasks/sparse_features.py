"""Synthetic activations with known ground truth: sparse combinations of random feature directions.

``n_true`` unit-norm random directions in ``d`` dims (more features than dims: superposition), each
active independently (feature ``i`` with probability ``p[i]``) at a magnitude uniform in [0.5, 1.5].
The features come in equal families whose frequencies differ; the seed decides which family is how frequent.

    T = feature_directions(n_true=64, d=32, seed=0)          # [n_true, d]
    fam = feature_families(64, (0.25, 0.5, 1, 2), 0.03, seed=0)  # fam.probs [n_true], fam.family [n_true]
    x, c = sample_activations(T, 512, 0.03, generator)       # x = c @ T
    x_eval, true_l0 = eval_activations(T, 8192, 0.03, seed=0)  # a held-out batch, mean active features
    fit = fit_sae(ctx, "topk", T, 0.03, 128, x_eval, 0.9, steps=600, batch=512, lr=3e-3, dead_window=100, k=3)
"""

from __future__ import annotations

import random
import time
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from mi_prep.lab.api import LabContext

if TYPE_CHECKING:  # pragma: no cover
    import torch


def feature_directions(n_true: int, d: int, seed: int) -> torch.Tensor:
    """``[n_true, d]`` random unit-norm rows (the true features), seeded."""
    import torch

    g = torch.Generator().manual_seed(seed)
    T = torch.randn(n_true, d, generator=g)
    return T / T.norm(dim=1, keepdim=True)


def orthogonal_directions(n: int, d: int, seed: int) -> torch.Tensor:
    """``[n, d]`` orthonormal rows (``n <= d``): features with no interference, seeded."""
    import torch

    q, _ = torch.linalg.qr(torch.randn(d, d, generator=torch.Generator().manual_seed(seed * 1000 + 5)))
    return q[:n].contiguous()


@dataclass
class FeatureFamilies:
    """What :func:`feature_families` returns."""

    probs: torch.Tensor
    """``[n_true]`` each true feature's probability of being on."""
    family: torch.Tensor
    """``[n_true]`` each true feature's family (0 .. n_families - 1, equal contiguous blocks)."""
    prob_of_family: list[float]
    """Per family, its features' probability of being on."""


def feature_families(n_true: int, multipliers: Sequence[float], p_mean: float, seed: int) -> FeatureFamilies:
    """Split the ``n_true`` features into ``len(multipliers)`` equal families; a seeded shuffle gives each family
    one multiplier, and its features are on with probability ``p_mean * multiplier / mean(multipliers)`` (so the
    mean probability over features is ``p_mean``, capped at 1)."""
    import torch

    n_fam = len(multipliers)
    mult = list(multipliers)
    random.Random(seed * 1000 + 11).shuffle(mult)
    mean = sum(mult) / n_fam
    prob_of_family = [min(1.0, p_mean * m / mean) for m in mult]
    family = torch.arange(n_true) * n_fam // n_true
    probs = torch.tensor(prob_of_family)[family]
    return FeatureFamilies(probs, family, prob_of_family)


def sample_activations(
    T: torch.Tensor, n: int, prob: float | torch.Tensor, g: torch.Generator
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x[n, d], c[n, n_true])``: each feature on with probability ``prob`` (a number, or one per feature) at
    magnitude U(0.5, 1.5)."""
    import torch

    on = torch.rand(n, T.shape[0], generator=g) < prob
    c = on * (0.5 + torch.rand(n, T.shape[0], generator=g))
    return c @ T, c


def eval_activations(T: torch.Tensor, n: int, prob: float | torch.Tensor, *, seed: int) -> tuple[torch.Tensor, float]:
    """A held-out batch ``x[n, d]`` (its own generator, from ``seed``) and its mean number of active true features."""
    import torch

    x, c = sample_activations(T, n, prob, torch.Generator().manual_seed(seed * 1000 + 7))
    return x, float((c > 0).float().sum(-1).mean())


@dataclass
class FittedSAE:
    """What :func:`fit_sae` returns."""

    sae: Any
    n_latents: int
    curve: list[tuple[float, float]]
    """``[(step, mse), ...]`` at the logged steps."""
    resampled: int
    """How many dead latents were resampled."""
    seconds: float
    """Wall time to build and train it."""
    scores: dict[str, float]
    """:func:`~mi_prep.lab.sparse_autoencoders.evaluate_sae` on the eval batch."""


def fit_sae(
    ctx: LabContext,
    arch: str,
    T: torch.Tensor,
    prob: float | torch.Tensor,
    n_latents: int,
    x_eval: torch.Tensor,
    match_cos: float,
    *,
    steps: int,
    batch: int,
    lr: float,
    dead_window: int,
    resample_at: Iterable[int] = (),
    log_every: int = 25,
    progress: tuple[int, int, str] = (0, 1, "training SAE"),
    **arch_kwargs: Any,
) -> FittedSAE:
    """A fresh ``arch`` SAE (:func:`mi_prep.lab.sparse_autoencoders.make_sae` with ``arch_kwargs``) with
    ``n_latents`` latents, trained by :func:`~mi_prep.lab.sparse_autoencoders.train_sae` on activations of
    the true features ``T`` (on with probability ``prob``, one number or one per feature), then scored against ``T`` on ``x_eval``
    (a decoder row at cosine >= ``match_cos`` recovers a feature).

    The seeds come from ``ctx.seed`` only, so every call gets the same initialisation and the same data
    stream. ``progress = (stage, n_stages, message)`` places this SAE in a sequence of equally long
    trainings for ``ctx.progress``."""
    import torch

    from mi_prep.lab.sparse_autoencoders import evaluate_sae, make_sae, train_sae

    t0 = time.perf_counter()
    g_init = torch.Generator().manual_seed(ctx.seed * 1000 + 17)  # same init for every variant
    g_data = torch.Generator().manual_seed(ctx.seed * 1000 + 29)  # same data stream for every variant
    x0, _ = sample_activations(T, 4096, prob, torch.Generator().manual_seed(ctx.seed * 1000 + 3))
    stage, n_stages, message = progress

    def on_log(step: int, loss: float) -> None:
        ctx.progress(stage * steps + step + 1, n_stages * steps, loss=loss, message=message)

    sae = make_sae(arch, T.shape[1], n_latents, generator=g_init, b_dec_init=x0.mean(0), **arch_kwargs)
    curve, resampled = train_sae(
        sae,
        lambda n, g: sample_activations(T, n, prob, g)[0],
        g_data,
        steps=steps,
        batch=batch,
        lr=lr,
        dead_window=dead_window,
        resample_at=resample_at,
        ctx=ctx,
        log_every=log_every,
        on_log=on_log,
    )
    seconds = time.perf_counter() - t0
    scores = evaluate_sae(sae, T, x_eval, match_cos=match_cos)
    return FittedSAE(sae, n_latents, curve, resampled, seconds, scores)
