"""What a trained SAE found, scored against the known true features, with the run's own uncertainty.

Importing this module does not import torch. Every function takes an SAE from
:mod:`mi_prep.lab.sparse_autoencoders` and the true features ``T`` (unit-norm rows):

    best = best_cosines(sae, T)                                   # [n_true] max decoder cosine per feature
    sd = paired_sd(best_a, best_b, n_boot=1000, seed=0)           # bootstrap SD of the MMCS difference
    acc, means, sds = worst_groups(score, family, 4, seed=0)      # groups within 2 SDs of the worst
    census = latent_census(sae, T, x_eval, family, 4, match_cos=0.9, twin_cos=0.9)
    shrink = shrinkage(sae, T, best >= 0.9, magnitudes=(0.5, 1.0, 1.5))

Uncertainty comes from bootstrapping over the true features (MMCS and the family scores are means over
features) or over the eval inputs (which latents fire).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mi_prep.lab.bootstrap import K_SIGMA, within_noise

NOISE_SDS = K_SIGMA
"""Two scores closer than this many bootstrap SDs of their difference count as tied."""


def best_cosines(sae: Any, T: Any) -> Any:
    """``[n_true]``: each true feature's highest cosine with a decoder row (rows of both are unit norm)."""
    import torch

    with torch.no_grad():
        return (T @ sae.W_dec.T).max(1).values


def _generator(seed: int) -> Any:
    import torch

    return torch.Generator().manual_seed(seed * 1000 + 41)


def paired_sd(a: Any, b: Any, *, n_boot: int = 1000, seed: int = 0) -> float:
    """Bootstrap SD (over the true features, paired) of ``mean(a) - mean(b)``."""
    import torch

    diff = (a - b).double()
    idx = torch.randint(0, diff.shape[0], (n_boot, diff.shape[0]), generator=_generator(seed))
    return float(diff[idx].mean(1).std())


def tied_with_best(
    best: Mapping[str, Any], *, n_boot: int = 1000, seed: int = 0
) -> tuple[list[str], dict[str, float], dict[str, float]]:
    """``(accepted, mmcs, sd_gap)``: the variants whose MMCS is within :data:`NOISE_SDS` paired-bootstrap SDs
    of the highest (the highest first), every variant's MMCS, and the SD of its gap to the highest."""
    mmcs = {v: float(b.mean()) for v, b in best.items()}
    top = max(mmcs, key=lambda v: mmcs[v])
    sd = {v: (paired_sd(best[top], best[v], n_boot=n_boot, seed=seed) if v != top else 0.0) for v in best}
    accepted = [top] + [v for v in best if v != top and mmcs[top] - mmcs[v] <= NOISE_SDS * sd[v]]
    return accepted, mmcs, sd


def group_means(values: Any, group: Any, n_groups: int, *, n_boot: int = 1000, seed: int = 0) -> tuple[Any, Any]:
    """``(means[n_groups], bootstrap[n_boot, n_groups])``: the mean of ``values`` per group, and its bootstrap
    (resampling each group's members, independently per group)."""
    import torch

    g = _generator(seed)
    vals = values.double()
    means = torch.stack([vals[group == i].mean() for i in range(n_groups)])
    boots = []
    for i in range(n_groups):
        v = vals[group == i]
        idx = torch.randint(0, v.shape[0], (n_boot, v.shape[0]), generator=g)
        boots.append(v[idx].mean(1))
    return means, torch.stack(boots, 1)


def worst_groups(
    values: Any, group: Any, n_groups: int, *, n_boot: int = 1000, seed: int = 0, lowest: bool = True
) -> tuple[list[int], list[float], list[float]]:
    """``(accepted, means, sds)``: the group with the lowest (``lowest=False``: highest) mean of ``values``
    and every group within :data:`NOISE_SDS` bootstrap SDs of its difference to it; per-group means and SDs."""
    means, boots = group_means(values, group, n_groups, n_boot=n_boot, seed=seed)
    m = [float(x) for x in means]
    tied = within_noise(m, boots, k_sigma=NOISE_SDS, lowest=lowest)
    w = (min if lowest else max)(range(n_groups), key=m.__getitem__)
    accepted = [w] + [i for i in tied if i != w]
    return accepted, m, [float(x) for x in boots.std(0)]


def latent_census(
    sae: Any, T: Any, x: Any, family: Any, n_families: int, *, match_cos: float, twin_cos: float
) -> dict[str, Any]:
    """Where the latents went. Every latent that fires on ``x`` is *live*; a live latent whose decoder row has
    cosine >= ``match_cos`` with a true feature *matches* it (its nearest one). Of the latents matching the same
    feature, the first is that feature's latent and the rest are *duplicates*; a live latent matching no feature
    is a *mixture*. *Twins*: live latents with a decoder cosine >= ``twin_cos`` to another live latent.

    Returns counts (``dead``, ``live``, ``features``: true features with a matching latent, ``duplicates``,
    ``mixtures``, ``twins``) and ``dup_per_feature`` (``[n_true]`` duplicates of each true feature) plus
    ``dup_by_family`` (their sum per family of ``family``)."""
    import torch

    with torch.no_grad():
        live = (sae.encode(x) > 0).any(0)
        W = sae.W_dec.detach()
        near = (T @ W.T).max(0)  # per latent: best true feature
        matched = live & (near.values >= match_cos)
        per_feature = torch.bincount(near.indices[matched], minlength=T.shape[0])
        dup_per_feature = (per_feature - 1).clamp_min(0)
        WL = W[live]
        cc = WL @ WL.T
        cc.fill_diagonal_(-1.0)
        twins = int((cc.max(1).values >= twin_cos).sum()) if WL.shape[0] > 1 else 0
    return {
        "dead": int((~live).sum()),
        "live": int(live.sum()),
        "features": int((per_feature > 0).sum()),
        "duplicates": int(dup_per_feature.sum()),
        "mixtures": int((live & ~matched).sum()),
        "twins": twins,
        "dup_per_feature": dup_per_feature,
        "dup_by_family": [int(dup_per_feature[family == i].sum()) for i in range(n_families)],
    }


def shrinkage(sae: Any, T: Any, recovered: Any, magnitudes: Sequence[float]) -> dict[float, float]:
    """Magnitude -> mean over the ``recovered`` true features of ``c - a(c)``: a feature fed alone at
    magnitude ``c``, minus the SAE's activation along it (read through every latent whose decoder row has
    cosine > 0.5 with it, weighted by that cosine, so a feature split over two latents counts in full)."""
    import torch

    with torch.no_grad():
        cos = T @ sae.W_dec.T
        M = (cos > 0.5).to(cos.dtype) * cos
        keep = recovered if bool(recovered.any()) else torch.ones_like(recovered)
        out = {}
        for c in magnitudes:
            a = (sae.encode(c * T) * M).sum(1)
            out[float(c)] = float((c - a)[keep].mean())
    return out
