"""Widgets showing lab result blocks: coloured heatmap cells (rich), tables, plotext line/scatter plots."""

from __future__ import annotations

from typing import Any

from rich.table import Table as RichTable
from rich.text import Text as RichText
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from mi_prep.lab.api import Block, Heatmap, LabResult, LinePlot, Scatter, Table, Text
from mi_prep.lab.render import _fmt, _range, heat_rgb


def heatmap_text(b: Heatmap, max_cols: int = 60) -> RichText:
    lo, hi, div = _range(b.values, b.vmin, b.vmax)
    ncols = len(b.values[0]) if b.values else 0
    clab = [str(c) for c in (b.col_labels or range(ncols))]
    rlab = [str(r) for r in (b.row_labels or range(len(b.values)))]
    lw = max((len(r) for r in rlab), default=1)
    numbers = ncols <= 12
    cw = max(5, max((len(c) for c in clab), default=1) + 1) if numbers else 3
    out = RichText()
    out.append(" " * (lw + 1) + "".join(c[-(cw - 1):].rjust(cw) for c in clab[:max_cols]) + "\n", style="dim")
    for i, row in enumerate(b.values):
        out.append(rlab[i].rjust(lw) + " ")
        for v in row[:max_cols]:
            r, g, bb = heat_rgb(v, lo, hi, div)
            fg = "black" if (r * 299 + g * 587 + bb * 114) / 1000 > 140 else "white"
            out.append((_fmt(v) if numbers else "").rjust(cw), style=f"{fg} on rgb({r},{g},{bb})")
        out.append("\n")
    out.append(f"scale {_fmt(lo)} .. {_fmt(hi)}", style="dim")
    return out


def table_renderable(b: Table) -> RichTable:
    t = RichTable(show_header=True, header_style="bold", expand=False)
    for c in b.columns:
        t.add_column(str(c))
    for row in b.rows:
        t.add_row(*[_fmt(v) for v in row])
    return t


def block_widget(b: Block) -> Any:
    if isinstance(b, Text):
        return Static(b.body, classes="lab-text")
    if isinstance(b, Table):
        return Static(table_renderable(b))
    if isinstance(b, Heatmap):
        return Static(heatmap_text(b), classes="lab-heatmap")
    if isinstance(b, (LinePlot, Scatter)):
        try:
            from textual_plotext import PlotextPlot
        except ImportError:  # pragma: no cover
            from mi_prep.lab.render import render_block

            return Static(render_block(b))
        plot = PlotextPlot(classes="lab-plot")

        def draw(plot=plot, b=b) -> None:
            plt = plot.plt
            plt.clear_figure()
            if isinstance(b, LinePlot):
                for s in b.series:
                    plt.plot(s.x, s.y, label=s.name if len(b.series) > 1 else None)
            else:
                plt.scatter(b.x, b.y)
            plt.xlabel(b.xlabel)
            plt.ylabel(b.ylabel)
            plot.refresh()
        plot._mi_draw = draw  # type: ignore[attr-defined]
        return plot
    return Static(repr(b))


class BlockView(Vertical):
    DEFAULT_CSS = """
    BlockView { height: auto; margin: 0 0 1 0; }
    BlockView .lab-title { text-style: bold; color: $accent; }
    BlockView .lab-caption { color: $text-muted; }
    BlockView PlotextPlot { height: 16; }
    """

    def __init__(self, block: Block, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.block = block

    def compose(self) -> ComposeResult:
        yield Label(self.block.title, classes="lab-title")
        yield block_widget(self.block)
        if self.block.caption:
            yield Label(self.block.caption, classes="lab-caption")

    def on_mount(self) -> None:
        for child in self.children:
            draw = getattr(child, "_mi_draw", None)
            if draw is not None:
                child.call_after_refresh(draw)


class LabResultView(VerticalScroll):
    """All blocks of a result, scrollable."""

    DEFAULT_CSS = """
    LabResultView { height: 1fr; }
    """

    def __init__(self, result: LabResult, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result

    def compose(self) -> ComposeResult:
        for b in self.result.blocks:
            yield BlockView(b)
