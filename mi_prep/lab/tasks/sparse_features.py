"""Synthetic activations with known ground truth: sparse combinations of random feature directions.

``n_true`` unit-norm random directions in ``d`` dims (more features than dims: superposition), each
active independently with probability ``p`` at a magnitude uniform in [0.5, 1.5].

    T = feature_directions(n_true=64, d=32, seed=0)          # [n_true, d]
    x, c = sample_activations(T, 512, 0.03, generator)       # x = c @ T
"""

from __future__ import annotations

from typing import TYPE_CHECKING

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
