"""Synthetic activations with known ground truth: sparse combinations of random feature directions.

``n_true`` unit-norm random directions in ``d`` dims (more features than dims: superposition), each
active independently with probability ``p`` at a magnitude uniform in [0.5, 1.5].

    T = feature_directions(n_true=64, d=32, seed=0)          # [n_true, d]
    x, c = sample_activations(T, 512, 0.03, generator)       # x = c @ T
    x_eval, true_l0 = eval_activations(T, 8192, 0.03, seed=0)  # a held-out batch, mean active features
    fit = fit_sae(ctx, "topk", T, 0.03, 128, x_eval, 0.9, steps=600, batch=512, lr=3e-3, dead_window=100, k=3)
"""

from __future__ import annotations

import time
from collections.abc import Iterable
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


def sample_activations(T: torch.Tensor, n: int, prob: float, g: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
    """``(x[n, d], c[n, n_true])``: each feature on with probability ``prob`` at magnitude U(0.5, 1.5)."""
    import torch

    on = torch.rand(n, T.shape[0], generator=g) < prob
    c = on * (0.5 + torch.rand(n, T.shape[0], generator=g))
    return c @ T, c


def eval_activations(T: torch.Tensor, n: int, prob: float, *, seed: int) -> tuple[torch.Tensor, float]:
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
    prob: float,
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
    the true features ``T`` (each on with probability ``prob``), then scored against ``T`` on ``x_eval``
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
