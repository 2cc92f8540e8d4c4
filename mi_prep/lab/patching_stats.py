"""Uncertainty and circuit summaries for the patching labs: bootstrap over prompt pairs, the set of
components that cannot be told apart from the best one, a slope with its bootstrap spread, and the
previous-token score of each head.

Per-example tensors have the prompt pair as their LAST dim (``[..., n]``, as
:func:`mi_prep.lab.patching.sweep_corruption` returns them); a bootstrap resamples that dim.

    idx = boot_indices(n, seed=0)                       # [n_boot, n]
    sd = boot_sd(heads_ex, idx)                         # spread of each mean
    ok = near_best(heads_ex.reshape(-1, n), idx)        # flat indices within 2 SDs of the best
"""

from __future__ import annotations

from typing import Any

from mi_prep.lab.bootstrap import K_SIGMA, within_noise

N_BOOT = 400


def boot_indices(n: int, n_boot: int = N_BOOT, seed: int = 0):
    """``[n_boot, n]`` resampled example indices (a fixed generator: the same run gives the same bands)."""
    import torch

    g = torch.Generator().manual_seed(90_000 + seed)
    return torch.randint(0, n, (n_boot, n), generator=g)


def boot_means(x_ex, idx):
    """``[n_boot, ...]``: the mean over the resampled examples of ``x_ex [..., n]``."""
    return x_ex[..., idx].mean(-1).movedim(-1, 0)


def boot_sd(x_ex, idx):
    """``[...]``: bootstrap standard deviation of the mean of ``x_ex [..., n]``."""
    return boot_means(x_ex, idx).std(0)


def near_best(values_ex, idx, k_sigma: float = K_SIGMA) -> list[int]:
    """Indices ``k`` of ``values_ex [K, n]`` whose mean is within ``k_sigma`` bootstrap SDs of the best
    one's (the SD of the paired difference best - k): the components the data cannot rank below it."""
    return within_noise(values_ex.mean(-1).tolist(), boot_means(values_ex, idx), k_sigma=k_sigma)


def slope(x, y) -> float:
    """Least-squares slope of ``y`` on ``x`` through the origin (``y ~ slope * x``)."""
    return float((x * y).sum() / (x * x).sum().clamp_min(1e-12))


def boot_slope(x_ex, y_ex, idx):
    """``[n_boot]``: :func:`slope` of the resampled means of ``y_ex`` on those of ``x_ex`` (``[K, n]``)."""
    xb, yb = boot_means(x_ex, idx), boot_means(y_ex, idx)  # [n_boot, K]
    return (xb * yb).sum(-1) / (xb * xb).sum(-1).clamp_min(1e-12)


def pearson(x, y) -> float:
    import torch

    x, y = x.flatten().double(), y.flatten().double()
    if x.numel() < 2 or float(x.std()) == 0 or float(y.std()) == 0:
        return float("nan")
    return float(torch.corrcoef(torch.stack([x, y]))[0, 1])


def prev_token_scores(cache, layer: int = 0):
    """``[n_heads]``: mean attention from each position to the one before it (positions 1..T-1)."""
    pat = cache[f"blocks.{layer}.attn.hook_pattern"]  # [n, H, q, k]
    return pat.diagonal(offset=-1, dim1=-2, dim2=-1).mean((0, -1)).cpu()


def additivity(alone_ex, together_ex, idx) -> dict[str, Any]:
    """Heads of one layer patched alone (``[H, n]``) vs together (``[n]``): the sum of the alone
    effects, the together effect, their gap and its bootstrap SD."""
    alone, together = alone_ex.mean(-1), together_ex.mean(-1)
    gap_ex = together_ex - alone_ex.sum(0)
    return dict(
        alone=[float(a) for a in alone],
        sum=float(alone.sum()),
        together=float(together),
        gap=float(gap_ex.mean()),
        gap_sd=float(boot_sd(gap_ex, idx)),
        together_sd=float(boot_sd(together_ex, idx)),
    )


def pattern_rows(cache, layer: int, labels: list[str]) -> tuple[list[list[float]], list[str]]:
    """Every head's mean attention pattern of one layer stacked into one heatmap: rows ``L{layer}H{h}
    <query label>`` (head by head), columns the key positions; values averaged over the prompts."""
    pat = cache[f"blocks.{layer}.attn.hook_pattern"].mean(0).cpu()  # [H, q, k]
    H, T = pat.shape[0], pat.shape[1]
    rows = [f"L{layer}H{h} {labels[q]}" for h in range(H) for q in range(T)]
    return pat.reshape(H * T, T).tolist(), rows
