"""Review's answer bar: "Show answer" on the front, then Again / Hard / Good / Easy, each with the
interval it would schedule; the suggested rating is starred. The buttons never take the focus (the
screen's keys drive them); a click posts ``Button.Pressed`` (ids ``show`` and ``rate-1`` .. ``rate-4``)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import timedelta

from textual.app import ComposeResult
from textual.containers import Horizontal
from textual.widgets import Button
from textual.widgets.button import ButtonVariant

from mi_prep.core.scheduling import Rating, format_interval

RATING_VARIANTS: dict[Rating, ButtonVariant] = {
    Rating.AGAIN: "error",
    Rating.HARD: "warning",
    Rating.GOOD: "success",
    Rating.EASY: "primary",
}


def _button(label: str, id: str, variant: ButtonVariant, classes: str = "") -> Button:
    button = Button(label, id=id, variant=variant, classes=classes)
    button.can_focus = False
    return button


class AnswerBar(Horizontal):
    """The rating buttons are mounted at the first reveal: they cost time before the first card shows."""

    def compose(self) -> ComposeResult:
        yield _button("Show answer  (space)", "show", "primary")

    def ensure_rating_buttons(self) -> None:
        if not self.query(".rate"):
            self.mount_all(
                _button(r.label, f"rate-{int(r)}", RATING_VARIANTS[r], classes="rate hidden") for r in Rating
            )

    def show_front(self, label: str) -> None:
        """Only the show-answer button, labelled ``label``."""
        show = self.query_one("#show", Button)
        show.label = label
        show.remove_class("hidden")
        show.refresh(layout=True)  # a label set while hidden keeps the old width otherwise (cut off)
        self.query(".rate").add_class("hidden")

    def show_ratings(self) -> None:
        """The rating buttons (labelled by the screen after :meth:`ensure_rating_buttons`) instead of "Show answer"."""
        self.query_one("#show").add_class("hidden")
        self.query(".rate").remove_class("hidden")

    def label_ratings(self, preview: Mapping[Rating, timedelta], suggested: Rating | None) -> None:
        for rating in Rating:
            button = self.query_one(f"#rate-{int(rating)}", Button)
            star = "★ " if rating == suggested else ""
            button.label = f"{star}{int(rating)} {rating.label}  {format_interval(preview[rating])}"
            button.set_class(rating == suggested, "suggested")
            button.refresh(layout=True)  # the label's width changes with the star and the interval

    def hide(self) -> None:
        self.query(Button).add_class("hidden")
