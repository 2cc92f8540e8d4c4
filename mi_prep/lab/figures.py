"""Blocks built from plain numbers: a labelled grid as a table, a family of curves on one x axis.

grid_table("Norms", "S", ["0", "0.9"], ["f0", "f1"], [[1.0, 0.0], [1.0, 1.0]], caption="...")
curves_plot("Loss", ["a", "b"], steps, [loss_a, loss_b], xlabel="step", ylabel="MSE")
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mi_prep.lab.api import LinePlot, Series, Table


def grid_table(
    title: str,
    corner: str,
    row_labels: Sequence[str],
    col_labels: Sequence[str],
    values: Sequence[Sequence[float]],
    *,
    ndigits: int = 3,
    extra_columns: Sequence[str] = (),
    extra: Sequence[Sequence[Any]] | None = None,
    caption: str = "",
) -> Table:
    """One row per row label: the label, ``values[r][c]`` rounded to ``ndigits``, then ``extra[r]`` as is."""
    rows = [
        [label] + [round(v, ndigits) for v in vals] + (list(extra[r]) if extra is not None else [])
        for r, (label, vals) in enumerate(zip(row_labels, values, strict=True))
    ]
    return Table(title=title, columns=[corner, *col_labels, *extra_columns], rows=rows, caption=caption)


def curves_plot(
    title: str,
    names: Sequence[str],
    x: Sequence[float],
    ys: Sequence[Sequence[float]],
    *,
    xlabel: str = "",
    ylabel: str = "",
    caption: str = "",
) -> LinePlot:
    """One line per name, all sampled at the same ``x``."""
    series = [Series(name=name, x=list(x), y=list(y)) for name, y in zip(names, ys, strict=True)]
    return LinePlot(title=title, series=series, xlabel=xlabel, ylabel=ylabel, caption=caption)


def xy_plot(
    title: str, curves: Mapping[str, Sequence[tuple[float, float]]], *, xlabel: str = "", ylabel: str = ""
) -> LinePlot:
    """One line per name from its ``[(x, y), ...]`` points."""
    series = [Series(name=name, x=[x for x, _ in pts], y=[y for _, y in pts]) for name, pts in curves.items()]
    return LinePlot(title=title, series=series, xlabel=xlabel, ylabel=ylabel)


def loss_plot(title: str, losses: Sequence[float], *, log_every: int = 10, caption: str = "") -> LinePlot:
    """A training loss curve logged every ``log_every`` steps (as :func:`mi_prep.lab.models.train_lm` does)."""
    steps = [float(log_every * i) for i in range(len(losses))]
    return LinePlot(
        title=title,
        series=[Series("loss", steps, [float(v) for v in losses])],
        xlabel="step",
        ylabel="cross-entropy",
        caption=caption,
    )
