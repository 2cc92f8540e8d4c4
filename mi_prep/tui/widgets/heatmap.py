"""A GitHub-style calendar heatmap of reviews per study day (weeks as columns, Mon..Sun as rows)."""

from __future__ import annotations

from datetime import date, timedelta

from rich.text import Text
from textual.widgets import Static

LEVEL_STYLES = ("#3a3a3a", "#0e4429", "#006d32", "#26a641", "#39d353")
LIGHT_LEVEL_STYLES = ("#d8dde3", "#9be9a8", "#40c463", "#30a14e", "#216e39")
DAY_LABELS = ("Mon", "", "Wed", "", "Fri", "", "Sun")


def level(count: int, peak: int) -> int:
    if count <= 0 or peak <= 0:
        return 0
    return min(4, 1 + (4 * (count - 1)) // max(peak, 1))


class Heatmap(Static):
    """Render ``{date: reviews}`` for the ``weeks`` weeks ending with ``today``."""

    DEFAULT_CSS = """
    Heatmap { height: auto; width: auto; }
    """

    def __init__(self, weeks: int = 26, **kwargs) -> None:
        super().__init__("", **kwargs)
        self.weeks = weeks
        self.counts: dict[date, int] = {}
        self.today: date | None = None

    def set_data(self, counts: dict[date, int], today: date) -> None:
        self.counts = dict(counts)
        self.today = today
        self.update(self.render_text())

    def on_mount(self) -> None:
        self.watch(self.app, "theme", self._theme_changed, init=False)

    def _theme_changed(self, _theme: str) -> None:
        if self.today is not None:
            self.update(self.render_text())

    def render_text(self) -> Text:
        if self.today is None:
            return Text("")
        styles = LEVEL_STYLES if self.app.current_theme.dark else LIGHT_LEVEL_STYLES
        today = self.today
        last_monday = today - timedelta(days=today.weekday())
        first = last_monday - timedelta(weeks=self.weeks - 1)
        shown = {d: n for d, n in self.counts.items() if first <= d <= today}
        peak = max(shown.values(), default=0)
        text = Text()
        # month labels along the top
        months = [" "] * (self.weeks * 2)
        last_month = None
        for w in range(self.weeks):
            monday = first + timedelta(weeks=w)
            if monday.month != last_month:
                label = monday.strftime("%b")
                if w * 2 + len(label) <= len(months) and (w == 0 or months[w * 2 - 1] == " "):
                    months[w * 2 : w * 2 + len(label)] = list(label)
                last_month = monday.month
        text.append("    " + "".join(months).rstrip() + "\n", style="dim")
        for row in range(7):
            text.append(f"{DAY_LABELS[row]:<4}", style="dim")
            for w in range(self.weeks):
                day = first + timedelta(weeks=w, days=row)
                if day > today:
                    text.append("  ")
                    continue
                n = shown.get(day, 0)
                text.append("■ ", style=styles[level(n, peak)])
            text.append("\n")
        total = sum(shown.values())
        active = sum(1 for n in shown.values() if n)
        text.append(f"    {total} reviews on {active} days in the last {self.weeks} weeks   less ", style="dim")
        for s in styles:
            text.append("■", style=s)
        text.append(" more", style="dim")
        return text
