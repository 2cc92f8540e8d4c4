"""The card Review shows, front then back, in one scrolling column.

Front: the meta line, the question, a choice card's options (in the shown order) or an explain
card's answer box with its Submit button. Back: a choice card's verdict, the answer (an explain
card's model answer above its key-point checklist), the source. Children keep the ids the app's
CSS and tests use (``#card-meta``, ``#question``, ``#options``, ``#typed``, ``#submit``, ``#verdict``,
``#answer``, ``#points``, ``#source`` ...). Card text goes through :func:`math_markdown` or ``Text``,
never markup.
"""

from __future__ import annotations

from collections.abc import Sequence

from rich.text import Text
from textual.app import ComposeResult
from textual.containers import Horizontal, VerticalScroll
from textual.widgets import Button, Markdown, Rule, Static, TextArea

from mi_prep.core.session import ReviewItem
from mi_prep.tui.widgets.keypoints import KeyPointList
from mi_prep.tui.widgets.mathmd import math_markdown
from mi_prep.tui.widgets.review_texts import card_meta

BACK_PARTS = ("#divider", "#verdict", "#answer", "#points-title", "#points", "#source")


class ReviewCard(VerticalScroll):
    def compose(self) -> ComposeResult:
        yield Static("", id="card-meta")
        yield Markdown("", id="question")
        yield Markdown("", id="options", classes="hidden")
        yield Rule(id="divider", classes="hidden")
        yield Static("", id="verdict", classes="hidden")
        yield Markdown("", id="answer", classes="hidden")
        yield Static("", id="source", classes="hidden")

    def _show(self, selector: str, shown: bool) -> None:
        found = self.query(selector)
        if found:
            found.first().set_class(not shown, "hidden")
        elif shown:
            raise RuntimeError(f"{selector} is shown before it is mounted")

    @property
    def typed(self) -> TextArea:
        return self.query_one("#typed", TextArea)

    async def _mount_explain_parts(self) -> None:
        """An explain card's answer box, Submit button and key-point checklist, mounted the first time an
        explain card shows (most cards never need them, and they cost time before the first card)."""
        if self.query("#typed"):
            return
        await self.mount(
            TextArea(id="typed", classes="hidden", soft_wrap=True, tab_behavior="focus"),
            Horizontal(
                Button("Submit answer (ctrl+s)", id="submit", variant="primary", compact=True),
                id="submit-row",
                classes="hidden",
            ),
            after=self.query_one("#options"),
        )
        await self.mount(
            Static("Key points — tick the ones you covered:", id="points-title", classes="hidden"),
            KeyPointList(id="points", classes="hidden"),
            before=self.query_one("#source"),
        )

    async def show_front(self, item: ReviewItem, order: Sequence[int], typed_answer: bool) -> None:
        """The front of ``item``: options in ``order`` (a choice card), an empty answer box (``typed_answer``)."""
        self.query_one("#card-meta", Static).update(card_meta(item))
        await self.query_one("#question", Markdown).update(math_markdown(item.question()))
        options = self.query_one("#options", Markdown)
        if order:
            await options.update(
                "\n\n".join(f"**{pos}** — {math_markdown(item.card.options[i].text)}" for pos, i in enumerate(order, 1))
            )
        options.set_class(not order, "hidden")
        if typed_answer:
            await self._mount_explain_parts()
        for typed in self.query("#typed").results(TextArea):
            typed.text = ""
            typed.read_only = False
            typed.remove_class("answered")
        self._show("#typed", typed_answer)
        self._show("#submit-row", typed_answer)
        for sel in BACK_PARTS:
            self._show(sel, False)
        self.scroll_home(animate=False)

    async def show_choice_back(self, item: ReviewItem, verdict: Text) -> None:
        self.query_one("#verdict", Static).update(verdict)
        await self.query_one("#answer", Markdown).update(math_markdown(item.card.back) if item.card.back else "")
        self._show("#answer", bool(item.card.back))
        self._show("#verdict", True)
        self._show_rest(item)

    async def show_explain_back(self, item: ReviewItem, covered: Sequence[bool]) -> KeyPointList:
        """Lock the typed answer, show the model answer and the key points ticked where ``covered``."""
        self.typed.read_only = True
        self.typed.add_class("answered")
        await self.query_one("#answer", Markdown).update("**Model answer**\n\n" + math_markdown(item.card.back))
        points = self.query_one("#points", KeyPointList)
        points.set_points([kp.text for kp in item.card.key_points], covered)
        for sel in ("#answer", "#points-title", "#points"):
            self._show(sel, True)
        self._show("#submit-row", False)
        self._show_rest(item)
        return points

    async def show_plain_back(self, item: ReviewItem) -> None:
        await self.query_one("#answer", Markdown).update(math_markdown(item.answer()))
        self._show("#answer", True)
        self._show_rest(item)

    def _show_rest(self, item: ReviewItem) -> None:
        self._show("#divider", True)
        source = self.query_one("#source", Static)
        source.update(Text(f"source: {item.card.source}", style="dim italic") if item.card.source else "")
        self._show("#source", bool(item.card.source))
