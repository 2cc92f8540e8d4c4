"""Plain-terminal rendering of lab result blocks (no Textual, no torch).

``render_block(block, width=100, color=False) -> str``; heatmaps use shade characters (and a
blue/red ANSI background when ``color``), line plots and scatters use plotext when installed
(falling back to a sparkline / a short table).
"""

from __future__ import annotations

import math
import re
from typing import Any, Iterable

from mi_prep.lab.api import Block, Heatmap, LabResult, LinePlot, Scatter, Table, Text

SHADES = " ░▒▓█"
_ANSI = re.compile(r"\x1b\[[0-9;]*m")


def _fmt(v: Any) -> str:
    if isinstance(v, float):
        if math.isnan(v):
            return "nan"
        return f"{v:.3g}" if abs(v) < 1e4 else f"{v:.3e}"
    return str(v)


def _range(values: list[list[float]], vmin: float | None, vmax: float | None) -> tuple[float, float, bool]:
    flat = [v for row in values for v in row if v is not None and not math.isnan(v)]
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
    if v is None or math.isnan(v):
        return 0.0
    return min(1.0, max(0.0, (v - lo) / (hi - lo)))


def heat_rgb(v: float, lo: float, hi: float, diverging: bool) -> tuple[int, int, int]:
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


def render_heatmap(b: Heatmap, color: bool = False, width: int = 100, numbers: bool | None = None) -> str:
    vals = b.values
    lo, hi, div = _range(vals, b.vmin, b.vmax)
    nrows = len(vals)
    ncols = len(vals[0]) if vals else 0
    rlab = [str(x) for x in (b.row_labels or range(nrows))]
    clab = [str(x) for x in (b.col_labels or range(ncols))]
    lw = max((len(x) for x in rlab), default=1)
    if numbers is None:
        numbers = ncols * 6 + lw + 2 <= width
    cw = max(5, max((len(c) for c in clab), default=1) + 1) if numbers else 2
    if not numbers and ncols * cw + lw + 2 > width:
        cw = 1
    lines = []
    header = " " * (lw + 1)
    if numbers or cw >= 2:
        header += "".join(c[-(cw - 1):].rjust(cw) if cw > 1 else c[-1] for c in clab)
        lines.append(header)
    for i, row in enumerate(vals):
        cells = []
        for v in row:
            t = heat_level(v, lo, hi)
            if div:
                shade = SHADES[min(4, int(abs(t - 0.5) * 2 * 4.999))]
            else:
                shade = SHADES[min(4, int(t * 4.999))]
            text = _fmt(v).rjust(cw) if numbers else shade * cw
            if color:
                r, g, bb = heat_rgb(v, lo, hi, div)
                fg = "30" if (r * 299 + g * 587 + bb * 114) / 1000 > 140 else "97"
                text = f"\x1b[48;2;{r};{g};{bb}m\x1b[{fg}m{text}\x1b[0m"
            elif numbers:
                text = text[:-1] + shade if cw > 5 else text
            cells.append(text)
        lines.append(rlab[i].rjust(lw) + " " + "".join(cells))
    scale = f"scale {_fmt(lo)} .. {_fmt(hi)}" + (" (diverging: light = near 0)" if div and not color else "")
    if not color:
        scale += f"   shades: '{SHADES}' low->high" if not div else ""
    lines.append(scale)
    return "\n".join(lines)


def render_table(b: Table, width: int = 100) -> str:
    cols = [str(c) for c in b.columns]
    rows = [[_fmt(v) for v in r] for r in b.rows]
    widths = [max([len(c)] + [len(r[i]) for r in rows if i < len(r)]) for i, c in enumerate(cols)]
    line = "  ".join(c.ljust(w) for c, w in zip(cols, widths))
    out = [line, "  ".join("-" * w for w in widths)]
    for r in rows:
        out.append("  ".join(v.rjust(w) if _numeric(v) else v.ljust(w) for v, w in zip(r, widths)))
    return "\n".join(out)


def _numeric(s: str) -> bool:
    try:
        float(s.rstrip("%"))
        return True
    except ValueError:
        return False


def sparkline(ys: list[float]) -> str:
    bars = "▁▂▃▄▅▆▇█"
    if not ys:
        return ""
    lo, hi = min(ys), max(ys)
    span = hi - lo or 1.0
    return "".join(bars[min(7, int((y - lo) / span * 7.999))] for y in ys)


def _plotext():
    try:
        import plotext as plt

        return plt
    except ImportError:  # pragma: no cover - plotext comes with textual-plotext
        return None


def render_line(b: LinePlot, width: int = 100, height: int = 18, color: bool = False) -> str:
    plt = _plotext()
    if plt is None:
        return "\n".join(f"{s.name}: {sparkline(s.y)}  ({_fmt(min(s.y))} .. {_fmt(max(s.y))})" for s in b.series if s.y)
    plt.clear_figure()
    plt.plotsize(width, height)
    if not color:
        plt.theme("clear")
    for s in b.series:
        plt.plot(s.x, s.y, label=s.name if len(b.series) > 1 else None)
    if b.logx:
        plt.xscale("log")
    plt.xlabel(b.xlabel)
    plt.ylabel(b.ylabel)
    out = plt.build()
    plt.clear_figure()
    return out if color else _ANSI.sub("", out)


def render_scatter(b: Scatter, width: int = 100, height: int = 18, color: bool = False) -> str:
    plt = _plotext()
    if plt is None:
        rows = [[l, _fmt(x), _fmt(y)] for l, x, y in zip(b.labels or [""] * len(b.x), b.x, b.y)]
        return render_table(Table(title="", columns=["", b.xlabel or "x", b.ylabel or "y"], rows=rows[:20]))
    plt.clear_figure()
    plt.plotsize(width, height)
    if not color:
        plt.theme("clear")
    plt.scatter(b.x, b.y)
    lo = min([*b.x, *b.y], default=0.0)
    hi = max([*b.x, *b.y], default=1.0)
    plt.plot([lo, hi], [lo, hi], label="y = x")
    plt.xlabel(b.xlabel)
    plt.ylabel(b.ylabel)
    out = plt.build()
    plt.clear_figure()
    return out if color else _ANSI.sub("", out)


def render_block(b: Block, width: int = 100, color: bool = False) -> str:
    head = f"== {b.title} =="
    if isinstance(b, Text):
        body = b.body
    elif isinstance(b, Table):
        body = render_table(b, width)
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


def render_result(result: LabResult, width: int = 100, color: bool = False) -> str:
    return "\n".join(render_block(b, width=width, color=color) for b in result.blocks)


def render_metrics(metrics: dict[str, float], keys: Iterable[str] | None = None) -> str:
    keys = list(keys) if keys is not None else list(metrics)
    return "\n".join(f"{k}: {_fmt(metrics[k])}" for k in keys if k in metrics)
