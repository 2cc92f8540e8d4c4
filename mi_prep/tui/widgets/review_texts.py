"""The rich texts Review shows: the count line, a card's meta line, a choice card's verdict and the
"Congratulations" panel. Deck and card text is always literal (``Text``, never markup)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from rich.text import Text

from mi_prep.core.due_text import until
from mi_prep.core.session import Counts, ReviewItem

NEW_STYLE, LEARN_STYLE, DUE_STYLE = "bold #5fafff", "bold #ff5f5f", "bold #5fd75f"


def counts_line(c: Counts, current: str | None) -> Text:
    """`` 3   1   12   new · learning · due`` with the current card's kind underlined."""
    text = Text()
    for kind, n, style in (
        ("new", c.new, NEW_STYLE),
        ("learning", c.learning, LEARN_STYLE),
        ("review", c.review, DUE_STYLE),
    ):
        text.append(f" {n} ", style=style + (" underline" if kind == current else ""))
        text.append(" ")
    text.append(" new · learning · due", style="dim")
    return text


def card_meta(item: ReviewItem) -> Text:
    """Deck name, card type (and side), id and tags."""
    meta = Text()
    meta.append(item.deck.deck.name, style="bold")
    kind = {"reverse": " (reverse)", "cloze": f" (cloze {item.cloze})"}.get(item.variant, "")
    meta.append(f"  ·  {item.card.type}{kind}  ·  {item.card.id}", style="dim")
    if item.tags:
        meta.append("  ·  " + " ".join(f"#{t}" for t in item.tags), style="dim italic")
    return meta


def choice_verdict(item: ReviewItem, order: Sequence[int], picked: int | None) -> Text:
    """Right or wrong, the right option's shown number, then every option (in the shown order) with its why."""
    right = item.card.correct_index
    text = Text()
    if picked is None:
        text.append("No option chosen. ", style="bold #ffaf00")
    elif picked == right:
        text.append("✓ Correct. ", style="bold #5fd75f")
    else:
        text.append(f"✗ Wrong: you chose {order.index(picked) + 1}. ", style="bold #ff5f5f")
    text.append(f"The answer is {order.index(right) + 1}.\n")
    for pos, i in enumerate(order, 1):
        opt = item.card.options[i]
        mark, style = ("✓", "#5fd75f") if opt.correct else ("✗", "#ff5f5f")
        text.append(f"\n {mark} {pos}. ", style=f"bold {style}")
        text.append(opt.text, style="bold" if i in (right, picked) else "")
        if opt.why:
            text.append(f"\n      {opt.why}", style="dim")
    return text


def done_message(
    scope: str, any_items: bool, next_learning: datetime | None, now: datetime, limit_note: str | None = None
) -> Text:
    text = Text()
    text.append("Congratulations!\n\n", style="bold #5fd75f")
    if not any_items:
        text.append("There are no cards to review here yet.\n")
    else:
        text.append(f"You have finished {scope} for now.\n")
    if next_learning is not None:
        local = next_learning.astimezone(now.tzinfo)
        text.append(
            f"\nThe next learning card is due in {until(next_learning, now)} (at {local:%H:%M}).\n", style="bold"
        )
    else:
        text.append("\nNo more cards are due today. Come back tomorrow.\n")
    if limit_note:
        text.append(f"\n{limit_note.replace('in Settings', 'in Settings (o on Home)')}\n", style="#ffaf00")
    if any_items:
        text.append("\nc: study more (cram cards that are not due, weakest first; schedules stay as they are)\n")
    text.append("\nEscape: Home    u: undo the last action", style="dim")
    return text
