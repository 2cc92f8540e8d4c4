"""Widgets showing lab result blocks: coloured heatmap cells (rich), tables, plotext line/scatter plots.

All lab text (titles, captions, bodies, table cells, labels) is shown literally, never read as markup.
Heatmaps and tables use the layouts of :mod:`mi_prep.lab.render`; these widgets only add colour.
"""

from __future__ import annotations

from typing import Any

from rich.table import Table as RichTable
from rich.text import Text as RichText
from textual import events
from textual.app import ComposeResult
from textual.containers import Vertical, VerticalScroll
from textual.widgets import Label, Static

from mi_prep.lab.api import Block, Heatmap, LabResult, LinePlot, Scatter, Table, Text
from mi_prep.lab.render import heatmap_layout, table_layout


def heatmap_text(b: Heatmap, width: int = 100) -> RichText:
    """The heatmap laid out for ``width`` columns: dim column labels, cells on their heat colour."""
    layout = heatmap_layout(b, width)
    out = RichText()
    for k, band in enumerate(layout.bands):
        out.append("\n" * (k > 0) + band.header + "\n", style="dim")
        for row in band.rows:
            out.append(row.label)
            for j, (text, v) in enumerate(row.cells):
                (r, g, bb), dark = layout.colors(v)
                out.append(" " * (j > 0))
                out.append(text, style=f"{'black' if dark else 'white'} on rgb({r},{g},{bb})")
            out.append("\n")
    out.append(layout.scale, style="dim")
    return out


class HeatmapView(Static):
    """A heatmap laid out for the widget's own width, laid out again whenever that width changes."""

    DEFAULT_CSS = """
    HeatmapView { width: 1fr; height: auto; }
    """

    def __init__(self, block: Heatmap, **kwargs: Any) -> None:
        super().__init__(heatmap_text(block), **kwargs)
        self.block = block
        self._laid_out_for = 0

    def on_resize(self, event: events.Resize) -> None:
        width = self.size.width
        if width and width != self._laid_out_for:
            self._laid_out_for = width
            self.update(heatmap_text(self.block, width))


def table_renderable(b: Table) -> RichTable:
    """A rich table of :func:`table_layout`'s texts (as Text, so brackets stay literal);
    numeric columns right-aligned with their headers."""
    heads, rows, numeric = table_layout(b)
    t = RichTable(show_header=True, header_style="bold", expand=False)
    for h, num in zip(heads, numeric):
        t.add_column(RichText(h), justify="right" if num else "left")
    for row in rows:
        t.add_row(*map(RichText, row))
    return t


def block_widget(b: Block) -> Any:
    if isinstance(b, Text):
        return Static(b.body, markup=False, classes="lab-text")
    if isinstance(b, Table):
        return Static(table_renderable(b), classes="lab-table")
    if isinstance(b, Heatmap):
        return HeatmapView(b, classes="lab-heatmap")
    if isinstance(b, (LinePlot, Scatter)):
        try:
            from textual_plotext import PlotextPlot
        except ImportError:  # pragma: no cover
            from mi_prep.lab.render import render_block

            return Static(render_block(b), markup=False)
        plot = PlotextPlot(classes="lab-plot")

        def draw(plot=plot, b=b) -> None:
            plt = plot.plt
            plt.clear_figure()
            if isinstance(b, LinePlot):
                for s in b.series:
                    plt.plot(s.x, s.y, label=s.name if len(b.series) > 1 else None)
            else:
                plt.scatter(b.x, b.y)
                named = [(l, x, y) for l, x, y in zip(b.labels, b.x, b.y) if l]
                if 0 < len(named) <= 30:  # few points: name them (a feature, a head)
                    mid = (min(b.x) + max(b.x)) / 2
                    for l, x, y in named:
                        plt.text(l, x, y, alignment="right" if x > mid else "left")
                if b.diagonal:
                    lo, hi = min([*b.x, *b.y], default=0.0), max([*b.x, *b.y], default=1.0)
                    plt.plot([lo, hi], [lo, hi], label="y = x")
            plt.xlabel(b.xlabel)
            plt.ylabel(b.ylabel)
            plot.refresh()

        plot._mi_draw = draw  # type: ignore[attr-defined]
        return plot
    return Static(repr(b), markup=False)


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
        yield Label(self.block.title, markup=False, classes="lab-title")
        yield block_widget(self.block)
        if self.block.caption:
            yield Label(self.block.caption, markup=False, classes="lab-caption")

    def on_mount(self) -> None:
        for child in self.children:
            draw = getattr(child, "_mi_draw", None)
            if draw is not None:
                child.call_after_refresh(draw)


class LabResultView(VerticalScroll):
    """The blocks of a result, scrollable. ``staged``: only the blocks shown with the results at first;
    :meth:`reveal` adds those a question's answer reveals (the run's interpretation)."""

    DEFAULT_CSS = """
    LabResultView { height: 1fr; }
    LabResultView .lab-revealed { border-left: thick $success; padding-left: 1; }
    """

    def __init__(self, result: LabResult, *, staged: bool = False, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.result = result
        self.staged = staged

    def compose(self) -> ComposeResult:
        for b in self.result.opening_blocks() if self.staged else self.result.blocks:
            yield BlockView(b)

    def reveal(self, question_id: str) -> int:
        """Mount the blocks answering ``question_id`` reveals, scroll to the first; returns how many."""
        if not self.staged:
            return 0
        views = [BlockView(b, classes="lab-revealed") for b in self.result.revealed_by(question_id)]
        if views:
            self.mount_all(views)
            self.call_after_refresh(lambda: self.scroll_to_widget(views[0], top=True, animate=False))
        return len(views)
