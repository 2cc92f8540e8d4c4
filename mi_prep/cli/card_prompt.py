"""The card itself in the plain terminal, for `mi-prep review` and `mi-prep cram`: the question with its
prompt (choice cards: the shuffled options; explain cards: a typed answer), then the answer side with the
suggested rating."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from mi_prep.cli.terminal import read_line
from mi_prep.core.review_grading import (
    choice_suggestion,
    coverage_suggestion,
    is_choice,
    key_point_coverage,
    picked_option,
    takes_typed_answer,
)
from mi_prep.core.scheduling import Rating
from mi_prep.core.session import ReviewItem

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext


def ask_front(
    app: AppContext, item: ReviewItem, order: list[int], commands: Sequence[str], hint: str
) -> tuple[str, str]:
    """Show the question and read the reply: (command or chosen number, typed answer). ``commands`` are the
    one-letter commands a typed answer may be instead (``u``, ``q`` ...); ``hint`` spells them out."""
    app.print(item.question())
    keys = "/".join(commands)
    if is_choice(item):
        for pos, idx in enumerate(order, 1):
            app.print(f"  {pos}. {item.card.options[idx].text}")
        return read_line(app, f"your choice (number; {keys}): ").strip().lower(), ""
    if takes_typed_answer(item):
        app.print(f"(type your answer; an empty line ends it; or {keys} alone)")
        lines: list[str] = []
        while True:
            line = read_line(app, "> " if lines else "answer> ")
            if not line.strip():
                break
            lines.append(line)
        typed = "\n".join(lines)
        cmd = typed.strip().lower() if len(lines) == 1 and typed.strip().lower() in commands else ""
        return cmd, typed
    return read_line(app, f"Enter to show the answer ({hint}): ").strip().lower(), ""


def show_back(app: AppContext, item: ReviewItem, order: list[int], cmd: str, typed: str) -> Rating:
    """Print the answer side of ``item`` (``cmd``: the option number picked; ``typed``: the typed answer);
    returns the suggested rating."""
    app.print("-" * 40)
    suggested = Rating.GOOD
    if is_choice(item):
        right = item.card.correct_index
        picked = picked_option(order, cmd)
        suggested = choice_suggestion(item, picked)
        app.print(
            ("Correct: " if picked == right else "Wrong. Answer: ")
            + f"{order.index(right) + 1}. {item.card.options[right].text}"
        )
        for pos, idx in enumerate(order, 1):
            if item.card.options[idx].why:
                app.print(f"  {pos}. {item.card.options[idx].why}")
        if item.card.back:
            app.print(item.card.back)
    elif takes_typed_answer(item):
        app.print("Model answer:\n" + item.card.back)
        cov = key_point_coverage(item, typed)
        app.print("Key points (x = found in your answer):")
        for hit, kp in zip(cov, item.card.key_points):
            app.print(f"  [{'x' if hit else ' '}] {kp.text}")
        suggested = coverage_suggestion(cov)
    else:
        app.print(item.answer())
    if item.card.source:
        app.print(f"source: {item.card.source}")
    return suggested
