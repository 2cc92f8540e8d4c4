"""Stats: reviews per day, the 30-day due forecast, retention and per-topic mastery as terminal plots.

All numbers come from :func:`mi_prep.core.stats.compute`; this screen only draws them.
"""

from __future__ import annotations

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, VerticalScroll
from textual.screen import Screen
from textual.widgets import Footer, Header, Static
from textual_plotext import PlotextPlot

from mi_prep.core.deck import DeckSet
from mi_prep.core.stats import MATURE_DAYS, Stats, compute


def _pct(x: float | None) -> str:
    return "-" if x is None else f"{x:.0%}"


class StatsScreen(Screen[None]):
    BINDINGS = [Binding("escape,q", "close", "Home"), Binding("f5", "refresh_stats", "Refresh")]

    def __init__(self) -> None:
        super().__init__()
        self.stats: Stats | None = None

    def compose(self) -> ComposeResult:
        yield Header()
        with VerticalScroll(id="stats-body"):
            yield Static("", id="stats-summary")
            with Horizontal(classes="plot-row"):
                yield PlotextPlot(id="plot-reviews", classes="plot")
                yield PlotextPlot(id="plot-forecast", classes="plot")
            with Horizontal(classes="plot-row"):
                yield PlotextPlot(id="plot-mastery", classes="plot")
                yield PlotextPlot(id="plot-retention", classes="plot")
            yield Static("", id="stats-topics")
        yield Footer()

    def on_mount(self) -> None:
        self.sub_title = "Stats"
        self.action_refresh_stats()

    def decks_reloaded(self, deckset: DeckSet) -> None:
        self.action_refresh_stats()

    def action_refresh_stats(self) -> None:
        app = self.app
        st = self.stats = compute(app.store, app.deckset, app.now())

        summary = Text()
        summary.append(f"{st.total_reviews} reviews", style="bold")
        summary.append(f" · items seen {st.seen_items}/{st.total_items}\n")
        summary.append("True retention ", style="bold")
        summary.append(f"(mature, interval ≥ {MATURE_DAYS}d): ")
        summary.append(_pct(st.true_retention), style="bold #5fd75f" if st.true_retention else "dim")
        summary.append(f" over {st.mature_reviews} reviews · young: {_pct(st.young_retention)}")
        self.query_one("#stats-summary", Static).update(summary)

        days = [d for d, _ in st.reviews_per_day]
        ticks = list(range(0, len(days), 7))
        plot = self.query_one("#plot-reviews", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"Reviews per day (last {len(days)} days)")
        plt.bar(list(range(len(days))), [n for _, n in st.reviews_per_day], marker="hd")
        plt.xticks(ticks, [days[i].strftime("%m-%d") for i in ticks])
        plot.refresh()

        fdays = [d for d, _ in st.forecast]
        fticks = list(range(0, len(fdays), 7))
        plot = self.query_one("#plot-forecast", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title(f"Due forecast (next {len(fdays)} days)")
        plt.bar(list(range(len(fdays))), [n for _, n in st.forecast], marker="hd", color="orange")
        plt.xticks(fticks, [fdays[i].strftime("%m-%d") for i in fticks])
        plot.refresh()

        topics = st.topics[:12]
        names = [t.topic[:14] for t in topics] or ["(none)"]
        plot = self.query_one("#plot-mastery", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Topic mastery (%)")
        plt.bar(names, [round(100 * t.mastery) for t in topics] or [0], orientation="horizontal",
                marker="hd", color="green")
        plt.xlim(0, 100)
        plot.refresh()

        plot = self.query_one("#plot-retention", PlotextPlot)
        plt = plot.plt
        plt.clear_data()
        plt.clear_figure()
        plt.title("Retention by topic (% passed)")
        plt.bar(names, [round(100 * (t.retention or 0)) for t in topics] or [0], orientation="horizontal",
                marker="hd", color="cyan")
        plt.xlim(0, 100)
        plot.refresh()

        table = Text()
        if st.topics:
            width = max(len(t.topic) for t in st.topics)
            table.append(f"{'topic':<{width}}  seen      reviews  retention  mastery  lapses\n", style="bold")
            for t in st.topics:
                table.append(f"{t.topic:<{width}}  {t.seen:>4}/{t.cards:<4}  {t.reviews:>7}  {_pct(t.retention):>9}"
                             f"  {t.mastery:>7.0%}  {t.lapses:>6}\n")
        self.query_one("#stats-topics", Static).update(table)

    def action_close(self) -> None:
        self.dismiss()
