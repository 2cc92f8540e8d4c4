"""What Review and Cram share: one card at a time, its front, then its back and four answer buttons.

:class:`CardStudyScreen` holds the card, the answer bar, the keys and the card types; a subclass says
which session it drives and what an answer means there (the hooks below). Front shown; Space/Enter
reveals; 1-4 answer Again/Hard/Good/Easy; at the back Space/Enter takes the suggested rating; Escape
leaves. Down/Up/j/k/PageDown/PageUp scroll a long card.

* ``choice`` cards: the options are shuffled by the session (``session.option_order``); press 1..n to
  pick one; the result, each option's ``why`` and a suggested rating (Good if right, Again if wrong)
  are shown.
* ``explain`` cards: type the answer in the text area, Ctrl+S (or Submit) shows the model answer and
  the key points as a checklist pre-ticked by the key-point grader (:mod:`mi_prep.core.review_grading`);
  Up/Down and ``x`` change the ticks, then grade (the suggestion follows the share of points covered).
* Every answer goes to the session (``session.answer``, a store write) before the next card is shown;
  when the write fails the card and its answer stay on screen and the same key tries again.

Hooks a subclass overrides: ``_new_session``, ``_counts_line``, ``_label_buttons``, ``_done_text``,
``_answered`` and ``action_undo``; ``CARD_ACTIONS`` lists its actions that need a card on screen.
Textual merges ``BINDINGS`` along the class hierarchy, so a subclass lists only the keys it adds (shown
in the footer after these).
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import ClassVar, Generic, Protocol, TypeVar

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding, BindingType
from textual.containers import Center, Horizontal, VerticalScroll
from textual.widgets import Button, SelectionList, Static, TextArea

from mi_prep.core.deck import DeckSet
from mi_prep.core.review_grading import (
    choice_suggestion,
    coverage_suggestion,
    is_choice,
    key_point_coverage,
    picked_option,
    takes_typed_answer,
)
from mi_prep.core.scheduling import CardState, Rating
from mi_prep.core.session import ReviewItem
from mi_prep.tui.screens.base import MiPrepScreen
from mi_prep.tui.storage import guarded
from mi_prep.tui.widgets.answer_bar import AnswerBar
from mi_prep.tui.widgets.footer import AppFooter
from mi_prep.tui.widgets.keypoints import KeyPointList
from mi_prep.tui.widgets.review_card import ReviewCard
from mi_prep.tui.widgets.review_texts import choice_verdict


class StudySession(Protocol):
    """What the screen needs of a session (:class:`~mi_prep.core.session.ReviewSession`, ``CramSession``)."""

    @property
    def by_id(self) -> Mapping[str, ReviewItem]: ...

    def next_item(self, now: datetime) -> ReviewItem | None: ...

    def option_order(self, item: ReviewItem) -> list[int]: ...

    def answer(self, item: ReviewItem, rating: Rating | int, now: datetime, elapsed_ms: int = 0) -> CardState: ...

    def reload(self, deckset: DeckSet) -> None: ...


SessionT = TypeVar("SessionT", bound=StudySession)


class CardStudyScreen(MiPrepScreen[None], Generic[SessionT]):
    BINDINGS: ClassVar[list[BindingType]] = [
        Binding("space", "reveal", "Show answer"),
        Binding("enter", "reveal", "Show answer", show=False),
        Binding("space", "accept", "Accept suggested"),
        Binding("enter", "accept", "Accept suggested", show=False),
        # not a priority binding: it must reach the screen after the keys typed before it
        Binding("ctrl+s", "submit", "Submit"),
        Binding("1", "rate(1)", "Again", show=False),
        Binding("2", "rate(2)", "Hard", show=False),
        Binding("3", "rate(3)", "Good", show=False),
        Binding("4", "rate(4)", "Easy", show=False),
        Binding("u", "undo", "Undo"),
        Binding("down,j", "scroll('down')", "Scroll", show=False),
        Binding("up,k", "scroll('up')", "Scroll", show=False),
        Binding("pagedown", "scroll('page_down')", "Page down", show=False),
        Binding("pageup", "scroll('page_up')", "Page up", show=False),
    ]
    CARD_ACTIONS: ClassVar[tuple[str, ...]] = ("info",)
    """Actions that act on the card on screen: enabled only while one is shown (front or back)."""

    def __init__(self, deck_ids: list[str] | None = None, tags: list[str] | None = None) -> None:
        super().__init__()
        self.deck_ids = deck_ids
        self.tags = tags
        self.session: SessionT | None = None
        self.item: ReviewItem | None = None
        self.phase = "loading"  # loading | front | back | done
        self.shown_at: datetime | None = None
        self.picked: int | None = None
        self.order: list[int] = []
        """Display position -> option index of the current choice card (shuffled per review)."""
        self.suggested: Rating | None = None
        self.coverage: list[bool] = []
        self.last = ""

    # ---- hooks ---------------------------------------------------------------------
    def _new_session(self) -> SessionT:
        """The session this screen drives (called once, on mount)."""
        raise NotImplementedError(f"{type(self).__name__} must say which session it drives")

    def _counts_line(self) -> Text:
        """The line at the top left (what is left in the session)."""
        raise NotImplementedError(f"{type(self).__name__} must say what its counts line shows")

    def _label_buttons(self) -> None:
        """Label the four answer buttons for the card on screen, starring ``self.suggested``."""
        raise NotImplementedError(f"{type(self).__name__} must label its answer buttons")

    def _done_text(self) -> Text:
        """The panel shown when the session has no card left."""
        raise NotImplementedError(f"{type(self).__name__} must say what its done panel shows")

    def _answered(self, rating: Rating, state: CardState, now: datetime) -> None:
        """After ``rating`` was saved (``state`` is what the session returned): set ``self.last``, notify."""
        raise NotImplementedError(f"{type(self).__name__} must say what an answer did")

    async def action_undo(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must say how an answer is undone")

    # ---- layout ------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="review-top"):
            yield Static("", id="counts")
            yield Static("", id="last-answer")
        yield ReviewCard(id="card-scroll")
        with Center(id="done", classes="hidden"):
            yield Static("", id="done-text")
        yield AnswerBar(id="answer-bar")
        yield AppFooter()

    async def on_mount(self) -> None:
        self.session = self._new_session()
        await self.advance()

    # ---- bindings ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        if action == "reveal":
            return self.phase == "front"
        if action == "submit":
            return self.phase == "front" and self._is_explain()
        if action in ("rate", "accept"):
            return self.phase == "back"
        if action in self.CARD_ACTIONS:
            return self.item is not None and self.phase in ("front", "back")
        return True

    def _is_explain(self) -> bool:
        return self.item is not None and takes_typed_answer(self.item)

    def _is_choice(self) -> bool:
        return self.item is not None and is_choice(self.item)

    # ---- showing -----------------------------------------------------------------
    def _set_hidden(self, selector: str, hidden: bool) -> None:
        self.query_one(selector).set_class(hidden, "hidden")

    def _update_counts(self) -> None:
        self.query_one("#counts", Static).update(self._counts_line())
        self.query_one("#last-answer", Static).update(Text(self.last, style="dim"))

    async def advance(self) -> None:
        assert self.session is not None
        item = self.session.next_item(self.mi_app.now())
        if item is None:
            await self.show_done()
        else:
            await self.show_item(item)

    async def show_item(self, item: ReviewItem) -> None:
        assert self.session is not None
        self.item = item
        self.phase = "front"
        self.picked = None
        self.order = self.session.option_order(item) if is_choice(item) else []
        self.suggested = None
        self.coverage = []
        self.shown_at = self.mi_app.now()
        self._set_hidden("#card-scroll", False)
        self._set_hidden("#done", True)
        await self.query_one(ReviewCard).show_front(item, self.order, self._is_explain())
        self.query_one(AnswerBar).show_front(
            "Submit answer  (ctrl+s)"
            if self._is_explain()
            else "Show answer without choosing  (space)"
            if self._is_choice()
            else "Show answer  (space)"
        )
        if self._is_explain():
            self.query_one("#typed", TextArea).focus()
        else:
            self.set_focus(None)
        self._update_counts()
        self.refresh_bindings()

    async def show_back(self) -> None:
        assert self.item is not None
        item = self.item
        self.phase = "back"
        card = self.query_one(ReviewCard)
        if self._is_choice():
            self.suggested = choice_suggestion(item, self.picked)
            await card.show_choice_back(item, choice_verdict(item, self.order, self.picked))
        elif self._is_explain():
            self.coverage = key_point_coverage(item, card.typed.text)
            self.suggested = coverage_suggestion(self.coverage)
            (await card.show_explain_back(item, self.coverage)).focus()
        else:
            self.suggested = None
            await card.show_plain_back(item)
        bar = self.query_one(AnswerBar)
        bar.ensure_rating_buttons()
        self._label_buttons()
        bar.show_ratings()
        self._update_counts()
        self.refresh_bindings()

    async def show_done(self) -> None:
        assert self.session is not None
        self.item = None
        self.phase = "done"
        self.query_one("#done-text", Static).update(self._done_text())
        self._set_hidden("#card-scroll", True)
        self._set_hidden("#done", False)
        self.query_one(AnswerBar).hide()
        self.set_focus(None)
        self._update_counts()
        self.refresh_bindings()

    # ---- input -------------------------------------------------------------------
    async def on_key(self, event: events.Key) -> None:
        """Number keys pick a choice card's option by its shown position (letters stay commands)."""
        if self.phase != "front" or not self._is_choice() or self.item is None:
            return
        picked = picked_option(self.order, event.key)
        if picked is None:
            return
        event.prevent_default()
        event.stop()
        await self.choose(picked)

    async def choose(self, index: int) -> None:
        """Pick option ``index`` (its index in the deck, not its shown position)."""
        if self.phase == "front" and self._is_choice():
            self.picked = index
            await self.show_back()

    async def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        bid = event.button.id or ""
        if bid == "show":
            await self.action_reveal()
        elif bid == "submit":
            await self.action_submit()
        elif bid.startswith("rate-"):
            await self.action_rate(int(bid.split("-")[1]))

    def on_selection_list_selected_changed(self, event: SelectionList.SelectedChanged) -> None:
        if self.phase == "back" and self._is_explain():
            self.suggested = coverage_suggestion(self.query_one("#points", KeyPointList).ticks())
            self._label_buttons()

    # ---- actions -----------------------------------------------------------------
    def action_scroll(self, how: str) -> None:
        scroll = self.query_one("#card-scroll", VerticalScroll)
        {
            "down": scroll.scroll_down,
            "up": scroll.scroll_up,
            "page_down": scroll.scroll_page_down,
            "page_up": scroll.scroll_page_up,
            "home": scroll.scroll_home,
            "end": scroll.scroll_end,
        }[how](animate=False)

    async def action_reveal(self) -> None:
        """Show the back (an explain card's typed answer is graded as by Submit)."""
        if self.phase == "front":
            await self.show_back()

    async def action_submit(self) -> None:
        if self.phase == "front" and self._is_explain():
            await self.show_back()

    async def action_accept(self) -> None:
        if self.phase == "back":
            await self.action_rate(int(self.suggested or Rating.GOOD))

    async def action_rate(self, rating: int) -> None:
        if self.phase != "back" or self.item is None or self.session is None:
            return
        now = self.mi_app.now()
        elapsed = (now - self.shown_at).total_seconds() * 1000 if self.shown_at else 0
        r = Rating(rating)
        saved, state = guarded(self.app, self.session.answer, self.item, r, now, elapsed_ms=int(max(0, elapsed)))
        if not saved:  # the card and its answer stay on screen; the same key tries again
            return
        self._answered(r, state, now)
        await self.advance()

    def action_info(self) -> None:
        if self.item is None:
            return
        from mi_prep.tui.screens.card_info import CardInfoScreen

        self.app.push_screen(CardInfoScreen(self.item.item_id))

    def action_close(self) -> None:
        if isinstance(self.focused, TextArea):
            self.set_focus(None)  # leave the text area so the letter keys (u, i, ...) work
            self.refresh_bindings()
            return
        self.dismiss()

    # ---- reload -------------------------------------------------------------------
    def decks_reloaded(self, deckset: DeckSet) -> None:
        if self.session is None:
            return
        self.session.reload(deckset)
        self.call_later(self._after_reload)

    async def _after_reload(self) -> None:
        """Keep the card on screen when it is still there (its new text at the back; the front shown
        again if it changed, unless the user is typing an answer), else go on to the next card."""
        assert self.session is not None
        if self.item is not None and self.phase in ("front", "back"):
            fresh = self.session.by_id.get(self.item.item_id)
            if fresh is not None and (fresh.card == self.item.card or self.phase == "back"):
                self.item = fresh
                self._update_counts()
                return
            if fresh is not None and not self._is_explain():
                await self.show_item(fresh)
                return
        await self.advance()
