"""Browse's table columns: which columns fit a width and how wide each is, and an item's cells.

State, Due, Ease and Lapses keep fixed widths; the question takes what is left (cut with an
ellipsis); Deck shrinks and Tags is dropped on narrow terminals. All deck text is literal ``Text``.
"""

from __future__ import annotations

from dataclasses import dataclass

from rich.cells import cell_len
from rich.text import Text

from mi_prep.core.browse import ScheduleCells, one_line
from mi_prep.core.session import ReviewItem

# column key -> header label; the order is the table's column order and the `o` cycle order
COLUMNS = {
    "q": "Question",
    "deck": "Deck",
    "tags": "Tags",
    "state": "State",
    "due": "Due",
    "ease": "Ease",
    "lapses": "Lapses",
}
# content widths of the columns that are never cut ("suspended", "10.5mo", "1000%", header "Lapses")
FIXED_WIDTHS = {"state": 9, "due": 6, "ease": 5, "lapses": 6}
RIGHT_ALIGNED = ("due", "ease", "lapses")
SORT_CYCLE = (None, "q", "deck", "tags", "state", "due", "ease", "lapses")
TAGS_MIN_WIDTH = 100  # below this many columns the Tags column is dropped (the tag filter remains)
QUESTION_MIN = 12
ARROWS = {False: "↑", True: "↓"}
STATE_STYLES = {
    "new": "#5fafff",
    "learning": "#ff5f5f",
    "review": "#5fd75f",
    "suspended": "#ffaf00",
    "leech": "bold #ff5f5f",
    "buried": "dim",
}


@dataclass(frozen=True)
class ColumnSpec:
    key: str
    label: str
    width: int


def plan_columns(
    width: int,
    deck_names: list[str],
    tag_texts: list[str],
    sort_key: str | None,
    descending: bool,
    *,
    padding: int = 1,
    scrollbar: int = 2,
) -> list[ColumnSpec]:
    """Column widths for a table ``width`` cells wide: the fixed columns first, then Deck and Tags
    (shrunk, or dropped when there is no room), the question gets the rest."""

    def label(key: str) -> str:
        return COLUMNS[key] + (f" {ARROWS[descending]}" if key == sort_key else "")

    def need(key: str, content: int) -> int:
        return max(content, cell_len(label(key)))

    pad = 2 * padding
    avail = max(0, width - scrollbar)
    fixed = {k: need(k, w) for k, w in FIXED_WIDTHS.items()}
    rest = avail - sum(w + pad for w in fixed.values()) - pad  # what Question, Deck and Tags share
    widths: dict[str, int] = {}
    longest_deck = max((cell_len(n) for n in deck_names), default=4)
    longest_tags = max((cell_len(t) for t in tag_texts), default=4)
    share = rest // 5  # Deck and Tags get up to a fifth each of what is left
    if rest - QUESTION_MIN >= 8 + pad:
        widths["deck"] = max(need("deck", 0), min(longest_deck, max(10, share), rest - QUESTION_MIN - pad))
        rest -= widths["deck"] + pad
    if width >= TAGS_MIN_WIDTH and rest - QUESTION_MIN >= 8 + pad:
        widths["tags"] = max(need("tags", 0), min(longest_tags, max(8, share)))
        rest -= widths["tags"] + pad
    widths["q"] = max(QUESTION_MIN, rest)
    widths.update(fixed)
    return [ColumnSpec(k, label(k), widths[k]) for k in COLUMNS if k in widths]


def header(spec: ColumnSpec) -> Text:
    return Text(spec.label, justify="right" if spec.key in RIGHT_ALIGNED else "left", end="")


def _cut(text: str) -> Text:
    """One literal line that the table cuts with an ellipsis instead of wrapping."""
    return Text(one_line(text), no_wrap=True, overflow="ellipsis", end="")


def item_cells(item: ReviewItem, schedule: ScheduleCells) -> dict[str, Text]:
    """Every column's cell for ``item`` (column key -> cell)."""
    return {
        "q": _cut(item.question()),
        "deck": _cut(item.deck.deck.name),
        "tags": _cut(" ".join(item.tags)),
        "state": Text(schedule.state, style=STATE_STYLES[schedule.state], end=""),
        "due": Text(schedule.due, justify="right", end=""),
        "ease": Text(schedule.ease, justify="right", end=""),
        "lapses": Text(schedule.lapses, justify="right", end=""),
    }
