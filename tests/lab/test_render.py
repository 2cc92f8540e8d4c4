"""Heatmap and table layout shared by ``lab run`` (mi_prep.lab.render) and the TUI (lab_view): separated,
aligned cells with one number format, full labels, bands instead of cut columns, and literal lab text."""

from __future__ import annotations

import asyncio
import math
import re
import subprocess
import sys

import pytest
from rich.console import Console

from mi_prep.lab.api import Heatmap, LabResult, Table, Text
from mi_prep.lab.render import _ANSI, number_format, render_block, render_heatmap, render_table

TOKENS = ["BOS", "43", "31", "22", "17", "88", "43", "31", "22", "17"] * 3  # 30 columns


def body(text: str) -> list[str]:
    """The heatmap lines of a render (no title, no scale line)."""
    lines = text.splitlines()
    return [ln for ln in lines if not ln.startswith(("== ", "scale "))]


def bands(lines: list[str]) -> list[list[str]]:
    out: list[list[str]] = [[]]
    for ln in lines:
        if ln.strip():
            out[-1].append(ln)
        else:
            out.append([])
    return [b for b in out if b]


def right_edges(line: str, start: int) -> list[int]:
    return [start + m.end() for m in re.finditer(r"\S+", line[start:])]


def cells(line: str, label_width: int) -> list[str]:
    return line[label_width + 1 :].split()


def assert_aligned(band: list[str], label_width: int, ncols: int) -> None:
    """Header then rows: ncols separated cells per row, each cell's right edge under its header's."""
    header, *rows = band
    assert header[: label_width + 1].strip() == ""
    edges = right_edges(header, label_width + 1)
    assert len(edges) == ncols
    for row in rows:
        assert len(cells(row, label_width)) == ncols, row
        assert right_edges(row, label_width + 1) == edges, (header, row)


# --------------------------------------------------------------------------- number format


def test_number_format_one_precision_per_set():
    fmt = number_format([0.243, 0.174, 1.0])
    assert [fmt(v) for v in (0.243, 0.174, 1.0, 0.0)] == ["0.243", "0.174", "1.000", "0.000"]
    fmt = number_format([1.44, 0.423, -1.15, 1.4e-8, -0.0004])
    assert [fmt(v) for v in (1.44, 0.423, -1.15, 1.4e-8, -0.0004)] == ["1.440", "0.423", "-1.150", "0.000", "0.000"]
    assert [number_format([1500.0, 2.5])(v) for v in (1500.0, 2.5)] == ["1500", "2"]
    assert number_format([15.0])(15.0) == "15.00" and number_format([0.04])(0.04) == "0.0400"
    tiny = number_format([1.4e-8, -3e-9])
    assert [tiny(1.4e-8), tiny(-3e-9)] == ["1.40e-08", "-3.00e-09"]
    assert number_format([float("nan"), 0.5])(float("nan")) == "nan"
    assert number_format([0.0, 0.0])(0.0) == "0"


# --------------------------------------------------------------------------- heatmaps, plain


def test_heatmap_cells_separated_and_under_their_headers():
    b = Heatmap(
        title="prev",
        values=[[0.243, 0.174, 0.335], [0.5, 0.25, 1.0]],
        row_labels=["L0", "L1"],
        col_labels=["H0", "H1", "H2"],
    )
    lines = body(render_block(b, width=80))
    assert cells(lines[1], 2) == ["0.243", "0.174", "0.335"]  # not 0.2430.1740.335
    assert_aligned(lines, 2, 3)


def test_heatmap_negatives_and_tiny_values():
    b = Heatmap(
        title="d",
        values=[[1.44, 0.423, 0.433, -1.15, -1.13], [1.4e-8, -0.02, 0.7, -0.0004, float("nan")]],
        row_labels=["f0", "f1"],
    )
    out = render_block(b, width=80)
    lines = body(out)
    assert cells(lines[1], 2) == ["1.440", "0.423", "0.433", "-1.150", "-1.130"]
    assert cells(lines[2], 2) == ["0.000", "-0.020", "0.700", "0.000", "nan"]
    assert_aligned(lines, 2, 5)
    assert "scale -1.440 .. 1.440" in out
    tiny = body(render_block(Heatmap(title="t", values=[[1.4e-8, 2e-9, -5e-9]], row_labels=["r"]), width=80))
    got = cells(tiny[1], 1)
    assert got == ["1.40e-08", "2.00e-09", "-5.00e-09"]  # never 1.4e-0
    assert [float(x) for x in got] == pytest.approx([1.4e-8, 2e-9, -5e-9])


def test_heatmap_labels_in_full():
    b = Heatmap(
        title="attn",
        values=[[1.0, 0, 0, 0], [0.5, 0.5, 0, 0]],
        row_labels=["BOS", "43"],
        col_labels=["BOS", "43", "31", "22"],
        vmin=0,
        vmax=1,
    )
    lines = body(render_block(b, width=80))
    assert lines[0].split() == ["BOS", "43", "31", "22"]
    assert lines[1].startswith("BOS ") and lines[2].startswith("43  ")
    assert_aligned(lines, 3, 4)
    one = Heatmap(title="x", values=[[0.1, 0.2]], row_labels=["A (end)"], col_labels=["BOS 43 31 22", "B/D*"])
    lines = body(render_block(one, width=80))
    assert lines[0].endswith("BOS 43 31 22 " + "B/D*".rjust(12)) and lines[1].startswith("A (end) ")


@pytest.mark.parametrize("numbers", [True, False])
def test_wide_heatmap_splits_into_bands_nothing_cut(numbers):
    vals = [[round(0.25 + 0.75 * ((i + j) % 7) / 6, 3) for j in range(30)] for i in range(3)]  # no blank shade
    b = Heatmap(title="w", values=vals, row_labels=["BOS", "43", "31"], col_labels=TOKENS, vmin=0, vmax=1)
    out = render_heatmap(b, width=40, numbers=numbers)
    lines = body(out)
    assert all(len(ln) <= 40 for ln in lines)
    parts = bands(lines)
    assert len(parts) > 1
    headers: list[str] = []
    values: list[list[str]] = [[], [], []]
    for band in parts:
        assert [ln[:4] for ln in band[1:]] == ["BOS ", "43  ", "31  "]
        ncols = len(band[0].split())
        assert_aligned(band, 3, ncols)
        headers += band[0].split()
        for i, row in enumerate(band[1:]):
            values[i] += cells(row, 3)
    assert headers == TOKENS
    if numbers:
        assert values[2] == [f"{v:.3f}" for v in vals[2]]


def test_heatmap_auto_numbers_or_shades_and_colour_keeps_layout():
    b = Heatmap(
        title="w",
        values=[[j / 29 for j in range(30)] for _ in range(2)],
        row_labels=["a", "b"],
        col_labels=TOKENS,
        vmin=0,
        vmax=1,
    )
    assert "0.500" not in render_heatmap(b, width=40) and "█" in render_heatmap(
        b, width=40
    )  # 5 bands of numbers: shades
    plain = render_heatmap(b, width=100)
    assert "0.483" in plain and len(bands(body(plain))) == 2
    assert _ANSI.sub("", render_heatmap(b, width=100, color=True)) == plain
    wide_labels = Heatmap(title="w", values=[[0.5] * 20], col_labels=[f"pos_{j:02}" for j in range(20)])
    assert "0.500" in render_heatmap(wide_labels, width=40)  # blank cells would be no narrower


# --------------------------------------------------------------------------- tables


def test_table_columns_one_format_numbers_right_aligned():
    b = Table(
        title="t", columns=["head", "score", "n"], rows=[["L0H1", 0.5, 3], ["L1H0", -0.123, 12], ["x", 1.25, 100]]
    )
    lines = render_table(b).splitlines()
    assert [ln.split()[1] for ln in lines[2:]] == ["0.500", "-0.123", "1.250"]
    assert [ln.split()[2] for ln in lines[2:]] == ["3", "12", "100"]
    assert len({len(ln.rstrip()) for ln in [lines[0], *lines[2:]]}) == 1  # last column right-aligned under "n"
    score_end = lines[0].index("score") + len("score")
    assert all(ln[:score_end].endswith(v) for ln, v in zip(lines[2:], ["0.500", "-0.123", "1.250"]))
    assert lines[2].startswith("L0H1") and lines[4].startswith("x ")


# --------------------------------------------------------------------------- TUI


def test_tui_heatmap_text_aligned():
    from mi_prep.tui.widgets.lab_view import heatmap_text

    b = Heatmap(
        title="d", values=[[1.44, 0.423, -1.15, 1.4e-8]], row_labels=["f0"], col_labels=["BOS", "43", "31", "22"]
    )
    lines = body(heatmap_text(b, 80).plain)
    assert cells(lines[1], 2) == ["1.440", "0.423", "-1.150", "0.000"]
    assert_aligned(lines, 2, 4)
    wide = heatmap_text(Heatmap(title="w", values=[[0.5] * 30], row_labels=["BOS"], col_labels=TOKENS), 40).plain
    parts = bands(body(wide))
    assert len(parts) > 1 and all(len(ln) <= 40 for p in parts for ln in p)
    assert [t for p in parts for t in p[0].split()] == TOKENS


LITERAL = "[x] 1. point\n[ ] 2. other\n[A][B] [12%] [bold]not bold[/bold]"


def test_tui_shows_lab_text_literally_and_heatmap_fits_its_width():
    asyncio.run(_tui_literal())


async def _tui_literal():
    from textual.app import App
    from textual.widgets import Label, Static

    from mi_prep.tui.widgets.lab_view import HeatmapView, LabResultView

    result = LabResult(
        blocks=[
            Text(title="[bold]Setup[/]", body=LITERAL, caption="[dim]see [1][/dim]"),
            Heatmap(
                title="[H]", values=[[0.1 * j for j in range(30)]] * 2, row_labels=["[q]", "BOS"], col_labels=TOKENS
            ),
            Table(title="T", columns=["[a]", "v"], rows=[["[x] yes", 0.5], ["[bold]no", 12.25]]),
        ],
        metrics={},
        questions=[],
    )

    class Host(App):
        def compose(self):
            yield LabResultView(result)

    app = Host()
    async with app.run_test(size=(50, 60)) as pilot:
        await pilot.pause()
        texts = [str(w.render()) for w in app.query(Label)] + [str(w.render()) for w in app.query(".lab-text")]
        assert "[bold]Setup[/]" in texts and "[dim]see [1][/dim]" in texts and "[H]" in texts and LITERAL in texts
        heat = app.query_one(HeatmapView)
        width = heat.size.width
        assert 0 < width <= 50
        lines = str(heat.render()).splitlines()
        assert all(len(ln) <= width for ln in lines)
        assert "[q]" in [ln.split()[0] for ln in lines if ln.strip()]
        parts = bands(body(str(heat.render())))
        assert len(parts) > 1 and [t for p in parts for t in p[0].split()] == TOKENS
        await pilot.resize_terminal(160, 60)
        await pilot.pause()
        assert heat.size.width > 100
        wide = bands(body(str(heat.render())))
        assert len(wide) < len(parts) and [t for p in wide for t in p[0].split()] == TOKENS
        table = app.query_one(".lab-table", Static)
        console = Console(width=60, color_system=None)
        with console.capture() as cap:
            console.print(table.content)
        shown = cap.get()
        assert "[a]" in shown and "[x] yes" in shown and "[bold]no" in shown
        rows = [ln for ln in shown.splitlines() if "yes" in ln or "no" in ln]
        assert rows[0].index("0.50") + 4 == rows[1].index("12.25") + 5  # one format, right-aligned


def test_render_imports_without_textual_or_torch():
    code = (
        "import sys, mi_prep.lab.render\n"
        "bad = [m for m in ('torch', 'textual') if m in sys.modules]\nassert not bad, bad\n"
    )
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr + r.stdout


def test_nan_is_nan_or_blank():
    b = Heatmap(title="n", values=[[math.nan, 0.0, 1.0]], row_labels=["r"])
    assert cells(body(render_heatmap(b, numbers=True))[1], 1) == ["nan", "0.000", "1.000"]
    assert body(render_heatmap(b, numbers=False))[1] == "r     █"  # NaN blank, 0 blank, 1 full
