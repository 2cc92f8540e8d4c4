"""Pure analysis of sampled curves (no torch): where a curve first reaches a level, where it falls fastest.

first_crossing([0, 1, 2], [0.0, 0.4, 0.8])        # 1.25: interpolated x where y reaches 0.5
best, crossings = earliest_crossing(xs, [ys_a, ys_b])  # the curve reaching 0.5 first
steepest_drop(losses, log_every=10)               # (step, drop) where a loss curve falls fastest
"""

from __future__ import annotations


def first_crossing(xs: list[float], ys: list[float], level: float = 0.5) -> float | None:
    """Smallest x where the curve reaches ``level`` (linear interpolation between grid points); ``None``
    when it never does."""
    if not ys or ys[0] >= level:
        return xs[0] if ys else None
    for i, f in enumerate(ys):
        if f >= level:
            if i == 0:
                return xs[0]
            a0, a1, f0, f1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
            return a0 + (level - f0) * (a1 - a0) / (f1 - f0) if f1 != f0 else a1
    return None


def earliest_crossing(xs: list[float], curves: list[list[float]], level: float = 0.5) -> tuple[int, list[float | None]]:
    """The curve reaching ``level`` at the smallest x (ties: the larger last value; none reaches it: the
    largest last value), and every curve's :func:`first_crossing`."""
    crossings = [first_crossing(xs, ys, level) for ys in curves]
    reached = [i for i, x in enumerate(crossings) if x is not None]
    if reached:
        return min(reached, key=lambda i: (crossings[i], -curves[i][-1])), crossings
    return max(range(len(curves)), key=lambda i: curves[i][-1]), crossings


def steepest_drop(losses: list[float], log_every: int = 10) -> tuple[int, float]:
    """Step where the (smoothed) loss curve falls fastest, and the drop per logged interval there."""
    if len(losses) < 4:
        return 0, 0.0
    sm = [sum(losses[max(0, i - 1) : i + 2]) / len(losses[max(0, i - 1) : i + 2]) for i in range(len(losses))]
    drops = [sm[i] - sm[i + 1] for i in range(len(sm) - 1)]
    i = max(range(len(drops)), key=drops.__getitem__)
    return (i + 1) * log_every, drops[i]
