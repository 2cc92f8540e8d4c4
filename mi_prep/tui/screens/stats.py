"""Stats: retention summary, a per-topic mastery / retention table, reviews per day and the due forecast.

All numbers come from :func:`mi_prep.core.stats.compute`; this screen only draws them.

* The topic table is rich ``Text`` laid out for the widget's width: one row per topic, the full topic
  name (never cut: when names are long the bars shrink, and a name too long for any bar gets a line
  of its own above its row), each bar filled to the percentage printed beside it.
* The two count plots (plotext) use whole-number y ticks only.
* The body is a focused ``VerticalScroll``: Up/Down/PageUp/PageDown/Home/End scroll it at once.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.geometry import Size
from textual.widget import Widget
from textual.widgets import Header, Static
from textual_plotext import PlotextPlot

from mi_prep.core.deck import DeckSet
from mi_prep.core.stats import MASTERY_HELP, MATURE_DAYS, RETENTION_HELP, Stats, TopicStat, compute, interview_cap_note
from mi_prep.tui.screens.base import MiPrepScreen
from mi_prep.tui.widgets.footer import AppFooter
from mi_prep.tui.widgets.mastery_bar import mastery_style, styled_bar

BAR_MIN = 4
BAR_MAX = 24
BAR_COMFORT = 8
"""Optional columns (reviews, lapses, mature) are dropped, in that order, while the bars are narrower."""
GAP = "  "


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


def int_ticks(peak: int, most: int = 5) -> list[int]:
    """Whole-number y ticks from 0 to at least ``peak``: at most ``most`` of them, step 1, 2, 5, 10, 20, ..."""
    if peak <= 0:
        return [0, 1]
    step = 1
    while math.ceil(peak / step) > most - 1:
        step = step * 5 // 2 if str(step)[0] == "2" else step * 2  # 1, 2, 5, 10, 20, 50, ...
    return list(range(0, math.ceil(peak / step) * step + 1, step))


def topic_lines(topics: Sequence[TopicStat], width: int) -> list[Text]:
    """The topic table as lines of at most ``width`` cells (unless one topic name alone is wider)."""
    if not topics:
        return [Text("No topics yet: add decks to see per-topic mastery.", style="dim")]
    width = max(width, 20)
    name_w = max(len("topic"), *(len(t.topic) for t in topics))
    seen_w = max(len("seen"), *(len(f"{t.seen}/{t.cards}") for t in topics))
    optional = [
        ("reviews", 7, lambda t: str(t.reviews)),
        ("lapses", 6, lambda t: str(t.lapses)),
        ("mature", 6, lambda t: str(t.mature)),
    ]  # dropped in this order when space is short
    extra = list(reversed(optional))  # shown left to right: mature, lapses, reviews

    def bar_width(name_cols: int) -> int:
        fixed = name_cols + 2 * (len(GAP) + 5) + len(GAP) + seen_w + sum(len(GAP) + w for _, w, _ in extra)
        return (width - fixed) // 2

    for col in optional:
        if bar_width(name_w) >= BAR_COMFORT:
            break
        extra.remove(col)
    bar_w = bar_width(name_w)
    name_col = name_w
    if bar_w < BAR_MIN:  # long names: shrink the name column; longer names get their own line
        name_col = max(len("topic"), name_w - (BAR_MIN - bar_w) * 2)
        bar_w = max(1, bar_width(name_col))
    bar_w = min(bar_w, BAR_MAX)

    cell = bar_w + 5
    header = Text(
        f"{'topic':<{name_col}}{GAP}{'mastery':<{cell}}{GAP}{'retention':<{cell}}{GAP}{'seen':>{seen_w}}", style="bold"
    )
    for label, w, _ in extra:
        header.append(f"{GAP}{label:>{w}}")
    lines = [header]
    for t in topics:
        if len(t.topic) > name_col:
            lines.append(Text(t.topic))
            row = Text(" " * name_col)
        else:
            row = Text(f"{t.topic:<{name_col}}")
        row.append(GAP)
        row.append_text(styled_bar(t.mastery, bar_w, mastery_style(t.mastery)))
        row.append(f" {_pct(t.mastery):>4}", style="bold")
        row.append(GAP)
        row.append_text(styled_bar(t.retention, bar_w, "#5fafff"))
        row.append(f" {_pct(t.retention):>4}")
        row.append(f"{GAP}{f'{t.seen}/{t.cards}':>{seen_w}}", style="dim" if not t.seen else "")
        for _, w, value in extra:
            row.append(f"{GAP}{value(t):>{w}}", style="dim")
        lines.append(row)
    return lines


class TopicTable(Widget):
    """Per-topic mastery and retention bars, laid out for the widget's current width."""

    DEFAULT_CSS = "TopicTable { height: auto; }"

    def __init__(self, *, id: str | None = None) -> None:
        super().__init__(id=id)
        self.topics: list[TopicStat] = []

    def set_topics(self, topics: Sequence[TopicStat]) -> None:
        self.topics = list(topics)
        self.refresh(layout=True)

    def lines(self, width: int | None = None) -> list[Text]:
        return topic_lines(self.topics, width if width is not None else self.content_size.width or 80)

    def get_content_height(self, container: Size, viewport: Size, width: int) -> int:
        return sum(max(1, math.ceil(line.cell_len / max(width, 1))) for line in self.lines(width))

    def render(self) -> Text:
        return Text("\n").join(self.lines())


class StatsScreen(MiPrepScreen[None]):
    BINDINGS = [Binding("escape,q", "close", "Home"), Binding("f5", "refresh_stats", "Refresh")]
    DEFAULT_CSS = """
    #stats-help { color: $text-muted; margin: 1 0 0 0; }
    #stats-plots { margin-top: 1; }
    """

    def __init__(self) -> None:
        super().__init__()
        self.stats: Stats | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats-body"):
            yield Static("", id="stats-summary")
            yield TopicTable(id="stats-topics")
            yield Static("", id="stats-help")
            with Horizontal(classes="plot-row", id="stats-plots"):
                yield PlotextPlot(id="plot-reviews", classes="plot")
                yield PlotextPlot(id="plot-forecast", classes="plot")
        yield AppFooter()

    def on_mount(self) -> None:
        self.sub_title = "Stats"
        self.action_refresh_stats()
        self.query_one("#stats-body", VerticalScroll).focus()

    def decks_reloaded(self, deckset: DeckSet) -> None:
        self.action_refresh_stats()

    def action_refresh_stats(self) -> None:
        app = self.mi_app
        st = self.stats = compute(app.store, app.deckset, app.now())

        summary = Text()
        summary.append(f"{st.total_reviews} reviews", style="bold")
        summary.append(f" · items seen {st.seen_items}/{st.total_items}")
        if st.leeches:
            summary.append(f" · {st.leeches} leech{'es' if st.leeches != 1 else ''} suspended", style="bold #ff5f5f")
            summary.append(" (Browse, state 'leech')", style="dim")
        summary.append("\n")
        summary.append("True retention ", style="bold")
        summary.append(f"(mature, interval ≥ {MATURE_DAYS}d): ")
        summary.append(_pct(st.true_retention), style="bold #5fd75f" if st.true_retention else "dim")
        summary.append(f" over {st.mature_reviews} reviews · young: {_pct(st.young_retention)}")
        self.query_one("#stats-summary", Static).update(summary)

        self.query_one("#stats-topics", TopicTable).set_topics(st.topics)
        help_text = Text(MASTERY_HELP)
        cap_note = interview_cap_note(st.mastery_days)
        if cap_note:
            help_text.append(" " + cap_note)
        help_text.append(" " + RETENTION_HELP + " Seen counts review items (a reverse card is two).")
        self.query_one("#stats-help", Static).update(help_text)

        days = [d for d, _ in st.reviews_per_day]
        self._count_plot(
            "#plot-reviews",
            f"Reviews per day (last {len(days)} days)",
            st.reviews_per_day,
            sorted(range(len(days) - 1, -1, -7)),
            "blue",
        )
        self._count_plot(
            "#plot-forecast",
            f"Due forecast (next {len(st.forecast)} days)",
            st.forecast,
            list(range(0, len(st.forecast), 7)),
            "orange",
        )

    def _count_plot(self, selector: str, title: str, series, xticks: list[int], color: str) -> None:
        plot = self.query_one(selector, PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(title)
        counts = [n for _, n in series]
        if counts:
            plt.bar(list(range(len(counts))), counts, color=color, width=0.8)
            x_at: list[float] = list(xticks)  # plotext's stubs want list[float]; the ints are passed as they are
            plt.xticks(x_at, [series[i][0].strftime("%m-%d") for i in xticks])
        yticks = int_ticks(max(counts, default=0))
        y_at: list[float] = list(yticks)
        plt.yticks(y_at, [str(y) for y in yticks])
        plt.ylim(0, yticks[-1])
        plot.refresh()

    def action_close(self) -> None:
        self.dismiss()
