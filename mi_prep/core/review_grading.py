"""How a review answer is checked and which rating is suggested: the one rule Review (TUI) and
``mi-prep review`` share.

* ``choice`` cards: the user picks an option by its shown number (the options are shuffled per
  review, :func:`mi_prep.core.session.option_order`); right suggests Good, wrong or none Again.
* ``explain`` cards (front side): the typed answer's key points are pre-ticked by the one grader
  (:mod:`mi_prep.core.grading`); the suggestion follows the share of points ticked, also after the
  user changes the ticks.
* other cards have no suggestion of their own (the frontends fall back to Good).
"""

from __future__ import annotations

from collections.abc import Sequence

from mi_prep.core.grading import coverage, suggest_rating
from mi_prep.core.scheduling import Rating
from mi_prep.core.session import ReviewItem


def is_choice(item: ReviewItem) -> bool:
    return item.card.type == "choice"


def takes_typed_answer(item: ReviewItem) -> bool:
    """An explain card's front: the user types an answer before seeing the model answer."""
    return item.card.type == "explain" and item.variant == "front"


def picked_option(order: Sequence[int], shown: str) -> int | None:
    """The option index behind the shown number ``shown`` (``"1"`` .. ``str(len(order))``), else None."""
    shown = shown.strip()
    if shown.isdigit() and 1 <= int(shown) <= len(order):
        return order[int(shown) - 1]
    return None


def choice_suggestion(item: ReviewItem, picked: int | None) -> Rating:
    """Good for the right option, Again for a wrong one or none."""
    return Rating.GOOD if picked == item.card.correct_index else Rating.AGAIN


def key_point_coverage(item: ReviewItem, typed: str) -> list[bool]:
    """Which of the card's key points the typed answer covers."""
    return coverage([kp.grading_point() for kp in item.card.key_points], typed)


def coverage_suggestion(ticks: Sequence[bool]) -> Rating:
    """The rating suggested for ``ticks`` (one per key point, True where covered)."""
    return Rating(suggest_rating(sum(ticks) / max(1, len(ticks))))
