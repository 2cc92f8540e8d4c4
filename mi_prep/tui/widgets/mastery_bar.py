"""Mastery bars as Home and Stats draw them: the colour a mastery share gets, and bars of block characters."""

from __future__ import annotations

from rich.text import Text

GOOD, FAIR, POOR = "#5fd75f", "#ffaf00", "#ff5f5f"


def mastery_style(share: float) -> str:
    """Green from 70 %, amber from 30 %, red below."""
    return GOOD if share >= 0.7 else FAIR if share >= 0.3 else POOR


def bar(share: float, width: int = 20) -> str:
    """``width`` cells, ``round(share * width)`` of them filled."""
    filled = round(max(0.0, min(1.0, share)) * width)
    return "█" * filled + "░" * (width - filled)


def styled_bar(share: float | None, width: int, style: str) -> Text:
    """:func:`bar` with the filled part in ``style`` and the rest dim; all empty for None."""
    filled = 0 if share is None else round(max(0.0, min(1.0, share)) * width)
    text = Text("█" * filled, style=style)
    text.append("░" * (width - filled), style="dim")
    return text
