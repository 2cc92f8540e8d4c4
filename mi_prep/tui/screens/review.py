"""Review: Anki-style review of due cards, driven by :class:`mi_prep.core.session.ReviewSession`.

Front shown; Space/Enter reveals; 1-4 answer Again/Hard/Good/Easy (each button shows the next
interval from ``session.preview``); at the back Space/Enter takes the suggested rating.
``u`` undo, ``s`` suspend, ``b`` bury, ``e`` edit the card in ``$EDITOR`` at its line, ``i`` card info,
Escape back to Home. Down/Up/j/k/PageDown/PageUp/Home/End scroll a long card.

* ``choice`` cards: the options are shuffled for each review (the same order again after an undo);
  press 1..n to pick one; the result, each option's ``why`` and a suggested rating (Good if right,
  Again if wrong) are shown.
* ``explain`` cards: type the answer in the text area, Ctrl+S (or Submit) shows the model answer
  and the key points as a checklist pre-ticked by the key-point grader (:mod:`mi_prep.core.review_grading`);
  Up/Down and ``x`` change the ticks, then grade (the suggestion follows the share of points covered).
* Every answer is written to the store (``session.answer``) before the next card is shown.

What Review shares with Cram (the card, the answer bar, the keys) is in
:class:`~mi_prep.tui.screens.card_study.CardStudyScreen`.
"""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from rich.text import Text
from textual.binding import Binding, BindingType

from mi_prep.core.due_text import leech_note, until
from mi_prep.core.scheduling import CardState, Rating, format_interval, next_day_start
from mi_prep.core.session import ReviewSession, classify
from mi_prep.tui.editor import open_in_editor
from mi_prep.tui.screens.card_study import CardStudyScreen
from mi_prep.tui.storage import guarded
from mi_prep.tui.widgets.answer_bar import AnswerBar
from mi_prep.tui.widgets.review_texts import counts_line, done_message


class ReviewScreen(CardStudyScreen[ReviewSession]):
    BINDINGS: ClassVar[list[BindingType]] = [  # after CardStudyScreen's
        Binding("s", "suspend", "Suspend"),
        Binding("b", "bury", "Bury"),
        Binding("e", "edit", "Edit"),
        Binding("i", "info", "Info"),
        Binding("c", "cram", "Study more"),
        Binding("escape", "close", "Home"),
        Binding("home", "scroll('home')", "Top", show=False),
        Binding("end", "scroll('end')", "Bottom", show=False),
    ]
    CARD_ACTIONS: ClassVar[tuple[str, ...]] = ("suspend", "bury", "edit", "info")

    def __init__(self, deck_ids: list[str] | None = None, tags: list[str] | None = None) -> None:
        super().__init__(deck_ids=deck_ids, tags=tags)
        self.shown: dict[Rating, str] = {}
        """The interval each answer button shows (the confirmation repeats the chosen one's words)."""

    # ---- CardStudyScreen hooks ------------------------------------------------------
    def _new_session(self) -> ReviewSession:
        """The review session; while this screen is up it also polls for cards coming due (``poll_due``)."""
        app = self.mi_app
        session = ReviewSession(app.store, app.deckset, app.now(), deck_ids=self.deck_ids, tags=self.tags)
        self.set_interval(5.0, self.poll_due, name="review-poll")
        return session

    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "cram":
            return self.phase == "done"
        return super().check_action(action, parameters)

    def _counts_line(self) -> Text:
        assert self.session is not None
        now = self.mi_app.now()
        c = self.session.counts(now)
        current = None
        if self.item is not None and self.phase in ("front", "back"):
            current = classify(self.session.states.get(self.item.item_id), now, next_day_start(now))
        return counts_line(c, current)

    def _label_buttons(self) -> None:
        """Again / Hard / Good / Easy, each with the interval it would schedule (``session.preview``)."""
        assert self.item is not None and self.session is not None
        preview = self.session.preview(self.item, self.mi_app.now())
        self.shown = {r: format_interval(d) for r, d in preview.items()}
        self.query_one(AnswerBar).label_ratings(preview, self.suggested)

    def _done_text(self) -> Text:
        assert self.session is not None
        now = self.mi_app.now()
        nxt = self.session.next_learning_due(now)
        scope = "these decks" if self.deck_ids else "all decks"
        if self.deck_ids and len(self.deck_ids) == 1:
            scope = next((d.deck.name for d in self.mi_app.deckset.decks if d.id == self.deck_ids[0]), self.deck_ids[0])
        return done_message(scope, bool(self.session.items), nxt, now, self.session.limit_note(now))

    def _answered(self, rating: Rating, state: CardState, now: datetime) -> None:
        assert self.item is not None
        self.last = f"{rating.label} · next in {self.shown.get(rating) or until(state.due, now)}"
        if state.leech and state.suspended:
            self.notify(f"{self.item.card.id}{leech_note(state)}", title="Leech", severity="warning", timeout=8)

    async def poll_due(self) -> None:
        """On the Congratulations panel, show the next card as soon as one comes due."""
        if self.phase == "done" and self.session is not None and self.session.next_item(self.mi_app.now()) is not None:
            await self.advance()

    # ---- actions -----------------------------------------------------------------
    async def action_undo(self) -> None:
        if self.session is None:
            return
        saved, undone = guarded(self.app, self.session.undo, self.mi_app.now())
        if not saved:
            return
        if undone is None:
            self.notify("Nothing to undo.", timeout=3)
            await self.advance()
            return
        self.last = undone.short
        if undone.item is None:  # answered elsewhere (another deck or filter): say so, stay here
            self.notify(f"{undone.description}: not in this review, so it is not shown here.", timeout=6)
            await self.advance()
            return
        await self.show_item(undone.item)

    async def action_suspend(self) -> None:
        if self.item is None or self.session is None:
            return
        if not guarded(self.app, self.session.suspend, self.item, self.mi_app.now())[0]:
            return
        self.last = f"suspended {self.item.card.id} (u undoes)"
        await self.advance()

    async def action_bury(self) -> None:
        if self.item is None or self.session is None:
            return
        if not guarded(self.app, self.session.bury, self.item, self.mi_app.now())[0]:
            return
        self.last = f"buried {self.item.card.id} until tomorrow"
        await self.advance()

    def action_cram(self) -> None:
        """Study more: cards of this review's decks that are not due, weakest first (schedules unchanged)."""
        from mi_prep.tui.screens.cram import CramScreen

        self.app.push_screen(CramScreen(deck_ids=self.deck_ids, tags=self.tags, weakest=True))

    def action_edit(self) -> None:
        if self.item is not None:
            open_in_editor(self, self.item.deck.path, self.item.line)
