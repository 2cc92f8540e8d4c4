"""Bootstrap over evaluation prompts for the steering lab (pure Python, no torch).

idx = boot_indices(48, 300, seed=0)                          # 300 resamples of 48 prompts
x, sd, missing = boot_crossing(alphas, rows, idx)             # rows[j][i]: prompt i at alphas[j]
m, sd = boot_mean(values, idx)                                # a mean and its bootstrap SD
f, sd = boot_surviving(base, ablated, idx)                    # (ablated - 0.5) / (base - 0.5), paired

Every statistic is recomputed on each resample of the prompts (the same resample for paired quantities),
so a difference smaller than a couple of bootstrap SDs is noise from which prompts were drawn.
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence

from mi_prep.lab.curves import first_crossing


def boot_indices(n: int, n_boot: int, seed: int) -> list[list[int]]:
    """``n_boot`` resamples (with replacement) of ``range(n)``."""
    rng = random.Random(seed)
    return [[rng.randrange(n) for _ in range(n)] for _ in range(n_boot)]


def _sd(xs: Sequence[float]) -> float:
    if len(xs) < 2:
        return 0.0
    m = sum(xs) / len(xs)
    return math.sqrt(sum((x - m) ** 2 for x in xs) / (len(xs) - 1))


def _mean(values: Sequence[float], idx: Sequence[int] | None = None) -> float:
    if idx is None:
        return sum(values) / len(values)
    return sum(values[i] for i in idx) / len(idx)


def boot_mean(values: Sequence[float], idx: Sequence[Sequence[int]]) -> tuple[float, float]:
    """The mean of ``values`` and its bootstrap SD."""
    return _mean(values), _sd([_mean(values, ix) for ix in idx])


def boot_crossing(
    alphas: Sequence[float], rows: Sequence[Sequence[float]], idx: Sequence[Sequence[int]], level: float = 0.5
) -> tuple[float | None, float, float]:
    """Where the mean curve (``rows[j]`` = per-prompt values at ``alphas[j]``) first reaches ``level``
    (interpolated; ``None``: never), the bootstrap SD of that crossing over resamples that reach it, and
    the share of resamples that never reach it."""
    xs = list(alphas)
    full = first_crossing(xs, [_mean(r) for r in rows], level)
    found = [first_crossing(xs, [_mean(r, ix) for r in rows], level) for ix in idx]
    hits = [x for x in found if x is not None]
    return full, _sd(hits), 1.0 - len(hits) / max(1, len(found))


def boot_surviving(
    base: Sequence[float], ablated: Sequence[float], idx: Sequence[Sequence[int]], chance: float = 0.5
) -> tuple[float, float]:
    """The share of above-chance agreement left after an ablation, ``(mean(ablated) - chance) /
    (mean(base) - chance)``, and its bootstrap SD (the same prompts resampled for both)."""

    def frac(ix: Sequence[int] | None) -> float:
        return (_mean(ablated, ix) - chance) / max(1e-9, _mean(base, ix) - chance)

    return frac(None), _sd([frac(ix) for ix in idx])


def interp(xs: Sequence[float], ys: Sequence[float], x: float) -> float:
    """``ys`` linearly interpolated at ``x`` (clamped to the ends)."""
    if x <= xs[0]:
        return ys[0]
    for i in range(1, len(xs)):
        if x <= xs[i]:
            t = (x - xs[i - 1]) / (xs[i] - xs[i - 1]) if xs[i] != xs[i - 1] else 1.0
            return ys[i - 1] + t * (ys[i] - ys[i - 1])
    return ys[-1]
