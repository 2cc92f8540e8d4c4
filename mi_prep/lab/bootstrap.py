"""The labs' one rule for "the data cannot rank these below the best" (no torch import of its own).

``within_noise(values, draws)``: the best estimate and every other one whose gap to it is at most
``k_sigma`` bootstrap SDs of the paired difference. ``draws[n_boot, K]`` must come from one shared
resampling of the examples for all K estimates (or independent ones per estimate, e.g. per group), so
the SD of ``draws[:, i] - draws[:, best]`` is the noise of the gap. Each lab keeps its own resampling
(seeds, what is resampled); only the acceptance rule lives here.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

K_SIGMA = 2.0
"""An estimate within this many bootstrap SDs of the best one is accepted as tied with it."""


def within_noise(values: Sequence[Any], draws: Any, *, k_sigma: float = K_SIGMA, lowest: bool = False) -> list[int]:
    """Indices of ``values`` the bootstrap ``draws`` cannot rank below the best one (``lowest``: the
    smallest value is the best), in index order, the best included."""
    vals = [float(v) for v in values]
    order = range(len(vals))
    best = min(order, key=vals.__getitem__) if lowest else max(order, key=vals.__getitem__)
    return [
        i
        for i in order
        if i == best or abs(vals[i] - vals[best]) <= k_sigma * float((draws[:, i] - draws[:, best]).std())
    ]
