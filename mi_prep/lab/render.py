"""Plain-terminal rendering of lab result blocks (no Textual, no torch).

``render_block(block, width=100, color=False) -> str``. Heatmaps and tables are laid out once here
(:func:`heatmap_layout`, :func:`table_layout`) and drawn both by this module and by the TUI
(``mi_prep.tui.widgets.lab_view``), which only adds colour. Heatmap cells are numbers (on a blue/red
or dark/yellow ANSI background when ``color``) or, when numbers would not fit, shade characters /
coloured blanks. Line plots and scatters use plotext when installed (falling back to a sparkline /
a short table).
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from mi_prep.lab.api import Block, Heatmap, LabResult, LinePlot, Scatter, Table, Text

SHADES = " ░▒▓█"
MAX_NUMBER_BANDS = 2
"""Heatmaps whose numbers need more bands than this show colour / shade cells (see heatmap_layout)."""
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _fmt(v: Any) -> str:
    """One scalar on its own (a metric): 3 significant digits, scientific from 1e4."""
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v)


# --------------------------------------------------------------------------- numbers


def _missing(v: float | None) -> bool:
    return v is None or math.isnan(v)


@dataclass(frozen=True)
class NumberFormat:
    """A format spec shared by a set of numbers (``'.3f'``, ``'.2e'``); NaN and None print as ``nan``,
    and a negative number that rounds to zero prints without its sign."""

    spec: str

    def __call__(self, v: float | None) -> str:
        if _missing(v):
            return "nan"
        s = format(v, self.spec)
        return s[1:] if s.startswith("-") and float(s) == 0 else s


def number_format(values: Iterable[float | None]) -> NumberFormat:
    """The one format for all of ``values``, from their largest finite magnitude m: fixed point with
    3 decimals when 0.1 <= m < 10, one decimal fewer per decade above (down to none) and one more per
    decade below (so m keeps 3-4 significant digits); scientific with 3 significant digits
    (``1.40e-08``) when m < 0.001 or m >= 1e6; ``0`` when every value is zero."""
    m = max((abs(v) for v in values if v is not None and math.isfinite(v)), default=0.0)
    if m == 0:
        return NumberFormat(".0f")
    if m < 1e-3 or m >= 1e6:
        return NumberFormat(".2e")
    e = math.floor(math.log10(m))
    return NumberFormat(f".{max(0, 3 - e) if e >= 0 else 2 - e}f")


def _is_number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _numeric(s: str) -> bool:
    try:
        float(s.rstrip("%"))
        return True
    except ValueError:
        return False


# --------------------------------------------------------------------------- heatmaps


def _range(values: list[list[float]], vmin: float | None, vmax: float | None) -> tuple[float, float, bool]:
    flat = [v for row in values for v in row if v is not None and math.isfinite(v)]
    lo = vmin if vmin is not None else (min(flat) if flat else 0.0)
    hi = vmax if vmax is not None else (max(flat) if flat else 1.0)
    diverging = vmin is None and vmax is None and lo < 0 < hi
    if diverging:
        m = max(abs(lo), abs(hi))
        lo, hi = -m, m
    if hi - lo < 1e-12:
        hi = lo + 1.0
    return lo, hi, diverging


def heat_level(v: float, lo: float, hi: float) -> float:
    """0..1 position of ``v`` in [lo, hi]."""
    if _missing(v):
        return 0.0
    return min(1.0, max(0.0, (v - lo) / (hi - lo)))


def heat_rgb(v: float, lo: float, hi: float, diverging: bool) -> tuple[int, int, int]:
    """Cell colour: blue - white - red when ``diverging``, else dark blue - teal - yellow; grey for NaN."""
    if _missing(v):
        return (128, 128, 128)
    t = heat_level(v, lo, hi)
    if diverging:  # blue (neg) - white - red (pos)
        if t < 0.5:
            a = 1 - t / 0.5
            return (int(255 * (1 - a)), int(255 * (1 - a)), 255)
        a = (t - 0.5) / 0.5
        return (255, int(255 * (1 - a)), int(255 * (1 - a)))
    # dark -> yellow (viridis-ish, 3 stops)
    stops = [(20, 20, 60), (40, 140, 140), (250, 230, 60)]
    seg = min(1, int(t * 2))
    a = t * 2 - seg
    c0, c1 = stops[seg], stops[seg + 1]
    return tuple(int(c0[i] + (c1[i] - c0[i]) * a) for i in range(3))  # type: ignore[return-value]


@dataclass(frozen=True)
class HeatRow:
    label: str
    """The row label in full, padded to the label column, plus the one space before the first cell."""
    cells: list[tuple[str, float | None]]
    """(text exactly one cell wide, value) per column of the band; cells are joined with one space."""


@dataclass(frozen=True)
class HeatBand:
    header: str
    """Column labels right-aligned over their cells (the row-label column left blank)."""
    rows: list[HeatRow]


@dataclass(frozen=True)
class HeatmapLayout:
    bands: list[HeatBand]
    """Consecutive column ranges, to be stacked top to bottom."""
    lo: float
    hi: float
    diverging: bool
    numbers: bool
    """Cells hold numbers; otherwise blanks for the caller to colour or shade."""
    scale: str
    """``scale lo .. hi`` in the cells' number format."""

    def colors(self, v: float | None) -> tuple[tuple[int, int, int], bool]:
        """Background colour of a cell and whether text on it should be dark."""
        r, g, b = heat_rgb(v, self.lo, self.hi, self.diverging)  # type: ignore[arg-type]
        return (r, g, b), (r * 299 + g * 587 + b * 114) / 1000 > 140

    def shade(self, v: float | None) -> str:
        """Shade character: darker = higher, or further from 0 when diverging; blank for NaN."""
        if _missing(v):
            return SHADES[0]
        t = heat_level(v, self.lo, self.hi)  # type: ignore[arg-type]
        return SHADES[min(4, int((abs(t - 0.5) * 2 if self.diverging else t) * 4.999))]


def heatmap_layout(b: Heatmap, width: int = 100, numbers: bool | None = None) -> HeatmapLayout:
    """Lay out a heatmap in ``width`` columns of text.

    Every cell is as wide as the widest formatted value or column label (the widest label alone
    without numbers), right-aligned and separated from the next by one space; column labels sit
    right-aligned over their cells and row labels are left-aligned, all in full. All values share one
    :func:`number_format`. Columns that do not fit in ``width`` continue in further bands below, each
    repeating the row labels (a band holds at least one column, however narrow ``width``).
    ``numbers=None`` shows numbers unless they need more than ``MAX_NUMBER_BANDS`` bands and more
    bands than blank cells would.
    """
    values = b.values
    nrows, ncols = len(values), max((len(r) for r in values), default=0)
    rlab = [str(b.row_labels[i]) if i < len(b.row_labels) else str(i) for i in range(nrows)]
    clab = [str(b.col_labels[j]) if j < len(b.col_labels) else str(j) for j in range(ncols)]
    grid = [[row[j] if j < len(row) else None for j in range(ncols)] for row in values]
    lo, hi, div = _range(values, b.vmin, b.vmax)
    fmt = number_format(v for row in grid for v in row)
    lw = max(map(len, rlab), default=0)
    label_w = max([1, *map(len, clab)])

    def per_band(cw: int) -> int:
        return max(1, (width - lw) // (cw + 1))

    def n_bands(cw: int) -> int:
        return math.ceil(ncols / per_band(cw))

    num_w = max([label_w, *(len(fmt(v)) for row in grid for v in row)])
    if numbers is None:
        numbers = n_bands(num_w) <= max(MAX_NUMBER_BANDS, n_bands(label_w))
    cw = num_w if numbers else label_w
    step = per_band(cw)
    bands = []
    for start in range(0, ncols, step):
        cols = range(start, min(ncols, start + step))
        header = " " * (lw + 1) + " ".join(clab[j].rjust(cw) for j in cols)
        rows = [
            HeatRow(rlab[i].ljust(lw) + " ", [((fmt(row[j]) if numbers else "").rjust(cw), row[j]) for j in cols])
            for i, row in enumerate(grid)
        ]
        bands.append(HeatBand(header, rows))
    return HeatmapLayout(bands, lo, hi, div, numbers, f"scale {fmt(lo)} .. {fmt(hi)}")


def render_heatmap(b: Heatmap, color: bool = False, width: int = 100, numbers: bool | None = None) -> str:
    """The :func:`heatmap_layout` as text: ANSI backgrounds when ``color``, else numbers or shades."""
    layout = heatmap_layout(b, width, numbers)

    def cell(text: str, v: float | None) -> str:
        if color:
            (r, g, bb), dark = layout.colors(v)
            return f"\x1b[48;2;{r};{g};{bb}m\x1b[{30 if dark else 97}m{text}\x1b[0m"
        return text if layout.numbers else layout.shade(v) * len(text)

    lines = []
    for k, band in enumerate(layout.bands):
        lines += [""] * (k > 0) + [band.header]
        lines += [row.label + " ".join(cell(t, v) for t, v in row.cells) for row in band.rows]
    legend = ""
    if not color and not layout.numbers:
        legend = f"   shades: '{SHADES}' " + ("near 0 -> far from 0" if layout.diverging else "low -> high")
    return "\n".join([*lines, layout.scale + legend])


# --------------------------------------------------------------------------- tables


def table_layout(b: Table) -> tuple[list[str], list[list[str]], list[bool]]:
    """Column headers, cell texts (rows padded to the header's length) and which columns are numeric.

    The numbers of one column share one format: as written when they are all ints, else the
    column's :func:`number_format`. Other cells are ``str(v)`` (``None`` is blank). A column is
    numeric, to be right-aligned with its header, when every non-blank cell reads as a number
    (``12%`` included).
    """
    ncols = max([len(b.columns), *map(len, b.rows)])
    heads = [str(c) for c in b.columns] + [""] * (ncols - len(b.columns))
    grid = [list(r) + [None] * (ncols - len(r)) for r in b.rows]
    texts: list[list[str]] = [[] for _ in grid]
    numeric = []
    for j in range(ncols):
        col = [r[j] for r in grid]
        nums = [v for v in col if _is_number(v)]
        fmt = None if all(isinstance(v, int) for v in nums) else number_format(nums)
        for i, v in enumerate(col):
            texts[i].append("" if v is None else fmt(v) if fmt and _is_number(v) else str(v))
        filled = [row[j] for row in texts if row[j]]
        numeric.append(bool(filled) and all(map(_numeric, filled)))
    return heads, texts, numeric


def render_table(b: Table) -> str:
    """Columns two spaces apart under a dashed rule; numeric columns right-aligned, others left."""
    heads, rows, numeric = table_layout(b)
    widths = [max(len(t) for t in [h, *(r[j] for r in rows)]) for j, h in enumerate(heads)]

    def line(cells: list[str]) -> str:
        return "  ".join(t.rjust(w) if num else t.ljust(w) for t, w, num in zip(cells, widths, numeric)).rstrip()

    return "\n".join([line(heads), "  ".join("-" * w for w in widths), *map(line, rows)])


# --------------------------------------------------------------------------- plots


def sparkline(ys: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    if not ys:
        return ""
    lo, hi = min(ys), max(ys)
    span = hi - lo or 1.0
    return "".join(bars[min(7, int((y - lo) / span * 7.999))] for y in ys)


def _range_text(ys: list[float]) -> str:
    fmt = number_format(ys)
    return f"{fmt(min(ys))} .. {fmt(max(ys))}"


def _plotext():
    try:
        import plotext as plt

        return plt
    except ImportError:  # pragma: no cover - plotext comes with textual-plotext
        return None


PLAIN_MARKERS = ("o", "x", "+", "*", "#", "@", "%", "=")
"""Without colour every series would look the same: each gets its own character."""


def _axes_line(b: LinePlot | Scatter) -> str:
    """The axis labels on a line of their own (plotext drops a long x label and puts the y label at the
    start of the x label's line, where the two are easy to mix up)."""
    parts = [f"x: {b.xlabel}" if b.xlabel else "", f"y: {b.ylabel}" if b.ylabel else ""]
    return "   ".join(p for p in parts if p)


def _finish(plt: Any, b: LinePlot | Scatter, color: bool) -> str:
    out = plt.build()
    plt.clear_figure()
    out = out if color else _ANSI.sub("", out)
    axes = _axes_line(b)
    return f"{out}\n{axes}" if axes else out


def render_line(b: LinePlot, width: int = 100, height: int = 18, color: bool = False) -> str:
    plt = _plotext()
    if plt is None:
        return "\n".join(f"{s.name}: {sparkline(s.y)}  ({_range_text(s.y)})" for s in b.series if s.y)
    plt.clear_figure()
    plt.plotsize(width, height)
    if not color:
        plt.theme("clear")
    many = len(b.series) > 1
    for i, s in enumerate(b.series):
        marker = None if color or not many else PLAIN_MARKERS[i % len(PLAIN_MARKERS)]
        plt.plot(s.x, s.y, label=s.name if many else None, marker=marker)
    if b.logx:
        plt.xscale("log")
    return _finish(plt, b, color)


def render_scatter(b: Scatter, width: int = 100, height: int = 18, color: bool = False) -> str:
    plt = _plotext()
    if plt is None:
        rows = [[l, x, y] for l, x, y in zip(b.labels or [""] * len(b.x), b.x, b.y)]
        return render_table(Table(title="", columns=["", b.xlabel or "x", b.ylabel or "y"], rows=rows[:20]))
    plt.clear_figure()
    plt.plotsize(width, height)
    if not color:
        plt.theme("clear")
    labelled = [(l, x, y) for l, x, y in zip(b.labels, b.x, b.y) if l]
    plt.scatter(b.x, b.y, marker=None if color else "o")
    if 0 < len(labelled) <= 30:  # few points: name them (a feature, a head)
        mid = (min(b.x) + max(b.x)) / 2
        for l, x, y in labelled:  # the name sits on its point, extending away from the nearer edge
            plt.text(l, x, y, alignment="right" if x > mid else "left")
    if b.diagonal:
        lo = min([*b.x, *b.y], default=0.0)
        hi = max([*b.x, *b.y], default=1.0)
        plt.plot([lo, hi], [lo, hi], label="y = x", marker=None if color else ".")
    return _finish(plt, b, color)


def render_block(b: Block, width: int = 100, color: bool = False) -> str:
    head = f"== {b.title} =="
    if isinstance(b, Text):
        body = b.body
    elif isinstance(b, Table):
        body = render_table(b)
    elif isinstance(b, Heatmap):
        body = render_heatmap(b, color=color, width=width)
    elif isinstance(b, LinePlot):
        body = render_line(b, width=width, color=color)
    elif isinstance(b, Scatter):
        body = render_scatter(b, width=width, color=color)
    else:  # pragma: no cover
        body = repr(b)
    cap = f"\n{b.caption}" if b.caption else ""
    return f"{head}\n{body}{cap}\n"


def render_blocks(blocks: Iterable[Block], width: int = 100, color: bool = False) -> str:
    return "\n".join(render_block(b, width=width, color=color) for b in blocks)


def render_result(result: LabResult, width: int = 100, color: bool = False) -> str:
    """Every block, interpretations included (a stored run, ``--no-questions``)."""
    return render_blocks(result.blocks, width=width, color=color)


def render_metrics(metrics: dict[str, float], keys: Iterable[str] | None = None) -> str:
    keys = list(keys) if keys is not None else list(metrics)
    return "\n".join(f"{k}: {_fmt(metrics[k])}" for k in keys if k in metrics)
