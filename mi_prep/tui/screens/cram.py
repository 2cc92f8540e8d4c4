"""Cram ("study more"): cards you have seen that are not due, driven by :class:`mi_prep.core.cram.CramSession`.

Shown like Review (the same card, answer bar and texts) but nothing is scheduled: each answer is a
``cram`` event that leaves the card's schedule as it is and stays out of the statistics. The answer
buttons say what the answer does in this session ("again soon": the card comes back a few cards
later; "done"). Space/Enter reveals; 1-4 answer; at the back Space/Enter takes the suggested rating;
``u`` undoes the last answer, ``i`` card info, Escape goes back (to Review's done panel when pushed
from there). ``choice`` and ``explain`` cards work as in Review: what the two screens share is in
:class:`~mi_prep.tui.screens.card_study.CardStudyScreen`.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType
from textual.widgets import Button

from mi_prep.core.cram import EMPTY_TEXTS, CramSession, EmptyReason, cram_outcome
from mi_prep.core.scheduling import CardState, Rating
from mi_prep.tui.screens.card_study import CardStudyScreen
from mi_prep.tui.storage import guarded
from mi_prep.tui.widgets.answer_bar import AnswerBar
from mi_prep.tui.widgets.review_texts import DUE_STYLE

UNCHANGED = "Schedules are unchanged: every card is due when it was before."


def cram_counts_line(left: int, crammed: int, weakest: bool) -> Text:
    text = Text()
    text.append(" Cram ", style="bold reverse")
    text.append(f"  {left} ", style=DUE_STYLE)
    text.append("left · ", style="dim")
    text.append(f"{crammed} ", style="bold")
    text.append("crammed · " + ("weakest first" if weakest else "soonest due first"), style="dim")
    return text


def cram_done_message(crammed: int, empty_reason: EmptyReason | None) -> Text:
    """The done panel: how many were crammed and that no schedule changed (or why there was nothing)."""
    text = Text()
    if empty_reason is not None:
        text.append("Nothing to cram\n\n", style="bold #ffaf00")
        text.append(EMPTY_TEXTS[empty_reason] + "\n")
    else:
        text.append("Cram done\n\n", style="bold #5fd75f")
        text.append(f"You crammed {crammed} {'card' if crammed == 1 else 'cards'}.\n")
    text.append(f"\n{UNCHANGED}\n", style="bold")
    text.append("\nEscape: back    u: undo the last answer", style="dim")
    return text


class CramScreen(CardStudyScreen[CramSession]):
    BINDINGS: ClassVar[list[BindingType]] = [  # after CardStudyScreen's
        Binding("i", "info", "Info"),
        Binding("escape", "close", "Back"),
    ]

    def __init__(self, deck_ids: list[str] | None = None, tags: list[str] | None = None, weakest: bool = True) -> None:
        super().__init__(deck_ids=deck_ids, tags=tags)
        self.weakest = weakest

    # ---- CardStudyScreen hooks ------------------------------------------------------
    def _new_session(self) -> CramSession:
        app = self.mi_app
        return CramSession(
            app.store, app.deckset, app.now(), deck_ids=self.deck_ids, tags=self.tags, weakest=self.weakest
        )

    def _counts_line(self) -> Text:
        assert self.session is not None
        c = self.session.counts(self.mi_app.now())
        return cram_counts_line(c.left, c.crammed, self.weakest)

    def _label_buttons(self) -> None:
        """Again / Hard / Good / Easy with what each does here ("again soon" / "done"), no intervals."""
        bar = self.query_one(AnswerBar)
        for rating in Rating:
            button = bar.query_one(f"#rate-{int(rating)}", Button)
            star = "★ " if rating == self.suggested else ""
            button.label = f"{star}{int(rating)} {rating.label}  {cram_outcome(rating)}"
            button.set_class(rating == self.suggested, "suggested")
            button.refresh(layout=True)

    def _done_text(self) -> Text:
        assert self.session is not None
        now = self.mi_app.now()
        crammed = self.session.counts(now).crammed
        reason: EmptyReason | None = None if crammed else self.session.why_empty(now)
        return cram_done_message(crammed, reason)

    def _answered(self, rating: Rating, state: CardState, now: datetime) -> None:
        self.last = f"{rating.label} · " + (
            "back in a few cards" if rating == Rating.AGAIN else "done; schedule unchanged"
        )

    # ---- actions -----------------------------------------------------------------
    async def action_undo(self) -> None:
        if self.session is None:
            return
        saved, back = guarded(self.app, self.session.undo, self.mi_app.now())
        if not saved:
            return
        if back is None:
            self.notify("Nothing to undo in this cram session.", timeout=3)
            return
        self.last = f"undone: {back.card.id}"
        await self.show_item(back)
