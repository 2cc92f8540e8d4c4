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
"""

from __future__ import annotations

from datetime import datetime

from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Center, Horizontal, VerticalScroll
from textual.widgets import Button, Footer, SelectionList, Static, TextArea

from mi_prep.core.deck import DeckSet
from mi_prep.core.due_text import next_review_in
from mi_prep.core.review_grading import (
    choice_suggestion,
    coverage_suggestion,
    is_choice,
    key_point_coverage,
    picked_option,
    takes_typed_answer,
)
from mi_prep.core.scheduling import Rating, next_day_start
from mi_prep.core.session import ReviewItem, ReviewSession, classify
from mi_prep.tui.editor import open_in_editor
from mi_prep.tui.screens.base import MiPrepScreen
from mi_prep.tui.storage import guarded
from mi_prep.tui.widgets.answer_bar import AnswerBar
from mi_prep.tui.widgets.keypoints import KeyPointList
from mi_prep.tui.widgets.review_card import ReviewCard
from mi_prep.tui.widgets.review_texts import choice_verdict, counts_line, done_message


class ReviewScreen(MiPrepScreen[None]):
    BINDINGS = [
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
        Binding("s", "suspend", "Suspend"),
        Binding("b", "bury", "Bury"),
        Binding("e", "edit", "Edit"),
        Binding("i", "info", "Info"),
        Binding("escape", "close", "Home"),
        Binding("down,j", "scroll('down')", "Scroll", show=False),
        Binding("up,k", "scroll('up')", "Scroll", show=False),
        Binding("pagedown", "scroll('page_down')", "Page down", show=False),
        Binding("pageup", "scroll('page_up')", "Page up", show=False),
        Binding("home", "scroll('home')", "Top", show=False),
        Binding("end", "scroll('end')", "Bottom", show=False),
    ]

    def __init__(self, deck_ids: list[str] | None = None, tags: list[str] | None = None) -> None:
        super().__init__()
        self.deck_ids = deck_ids
        self.tags = tags
        self.session: ReviewSession | None = None
        self.item: ReviewItem | None = None
        self.phase = "loading"  # loading | front | back | done
        self.shown_at: datetime | None = None
        self.picked: int | None = None
        self.order: list[int] = []
        """Display position -> option index of the current choice card (shuffled per review)."""
        self.suggested: Rating | None = None
        self.coverage: list[bool] = []
        self.last = ""

    # ---- layout ------------------------------------------------------------------
    def compose(self) -> ComposeResult:
        with Horizontal(id="review-top"):
            yield Static("", id="counts")
            yield Static("", id="last-answer")
        yield ReviewCard(id="card-scroll")
        with Center(id="done", classes="hidden"):
            yield Static("", id="done-text")
        yield AnswerBar(id="answer-bar")
        yield Footer()

    async def on_mount(self) -> None:
        app = self.mi_app
        self.session = ReviewSession(app.store, app.deckset, app.now(), deck_ids=self.deck_ids, tags=self.tags)
        self.set_interval(5.0, self.poll_due, name="review-poll")
        await self.advance()

    # ---- bindings ----------------------------------------------------------------
    def check_action(self, action: str, parameters: tuple[object, ...]) -> bool | None:
        explain_front = self.phase == "front" and self._is_explain()
        if action == "reveal":
            return self.phase == "front"
        if action == "submit":
            return explain_front
        if action in ("rate", "accept"):
            return self.phase == "back"
        if action in ("suspend", "bury", "edit", "info"):
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
        assert self.session is not None
        now = self.mi_app.now()
        c = self.session.counts(now)
        current = None
        if self.item is not None and self.phase in ("front", "back"):
            current = classify(self.session.states.get(self.item.item_id), now, next_day_start(now))
        self.query_one("#counts", Static).update(counts_line(c, current))
        self.query_one("#last-answer", Static).update(Text(self.last, style="dim"))

    async def advance(self) -> None:
        assert self.session is not None
        item = self.session.next_item(self.mi_app.now())
        if item is None:
            await self.show_done()
        else:
            await self.show_item(item)

    async def show_item(self, item: ReviewItem) -> None:
        self.item = item
        self.phase = "front"
        self.picked = None
        self.order = self.session.option_order(item) if item.card.type == "choice" and self.session else []
        self.suggested = None
        self.coverage = []
        self.shown_at = self.mi_app.now()
        self._set_hidden("#card-scroll", False)
        self._set_hidden("#done", True)
        await self.query_one(ReviewCard).show_front(item, self.order if self._is_choice() else [], self._is_explain())
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
        assert self.item is not None and self.session is not None
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
        self.query_one(AnswerBar).show_ratings(self.session.preview(item, self.mi_app.now()), self.suggested)
        self._update_counts()
        self.refresh_bindings()

    def _label_buttons(self) -> None:
        assert self.item is not None and self.session is not None
        self.query_one(AnswerBar).label_ratings(self.session.preview(self.item, self.mi_app.now()), self.suggested)

    async def show_done(self) -> None:
        assert self.session is not None
        self.item = None
        self.phase = "done"
        now = self.mi_app.now()
        nxt = self.session.next_learning_due(now)
        scope = "these decks" if self.deck_ids else "all decks"
        if self.deck_ids and len(self.deck_ids) == 1:
            scope = next((d.deck.name for d in self.mi_app.deckset.decks if d.id == self.deck_ids[0]), self.deck_ids[0])
        text = done_message(scope, bool(self.session.items), nxt, now)
        self.query_one("#done-text", Static).update(text)
        self._set_hidden("#card-scroll", True)
        self._set_hidden("#done", False)
        self.query_one(AnswerBar).hide()
        self.set_focus(None)
        self._update_counts()
        self.refresh_bindings()

    async def poll_due(self) -> None:
        """On the Congratulations panel, show the next card as soon as one comes due."""
        if self.phase == "done" and self.session is not None and self.session.next_item(self.mi_app.now()) is not None:
            await self.advance()

    # ---- input -------------------------------------------------------------------
    async def on_key(self, event) -> None:
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
        if self.phase != "front":
            return
        if self._is_explain():
            await self.action_submit()
            return
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
        self.last = f"{r.label} · next in {next_review_in(state, now)}"
        await self.advance()

    async def action_undo(self) -> None:
        if self.session is None:
            return
        saved, back = guarded(self.app, self.session.undo, self.mi_app.now())
        if not saved:
            return
        if back is None:
            self.notify("Nothing to undo in this session.", timeout=3)
            await self.advance()
            return
        self.last = f"undone: {back.card.id}"
        await self.show_item(back)

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

    def action_edit(self) -> None:
        if self.item is not None:
            open_in_editor(self, self.item.deck.path, self.item.line)

    def action_info(self) -> None:
        if self.item is None:
            return
        from mi_prep.tui.screens.card_info import CardInfoScreen

        self.app.push_screen(CardInfoScreen(self.item.item_id))

    def action_close(self) -> None:
        if isinstance(self.focused, TextArea):
            self.set_focus(None)  # leave the text area so u/s/b/e/i work
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
        assert self.session is not None
        if self.item is not None and self.phase in ("front", "back"):
            fresh = self.session.by_id.get(self.item.item_id)
            if fresh is not None and fresh.card == self.item.card:
                self.item = fresh
                self._update_counts()
                return
            if fresh is not None and self.phase == "front" and not self._is_explain():
                await self.show_item(fresh)
                return
            if fresh is not None and self.phase == "back":
                self.item = fresh
                self._update_counts()
                return
        await self.advance()
