"""Review session: builds the queue, answers, undo, suspend, bury. The UI and `mi-prep review` drive it.

Queue order (as in Anki): learning items whose step is due (or due within the learn-ahead
window when nothing else is left), then review items due today, then new items. Daily limits
(default 20 new / 200 reviews, Anki's defaults) count answers already given today.
Every answer goes to the store in one transaction before :meth:`ReviewSession.next_item`
can return another item.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from random import Random
from typing import Literal

from mi_prep.core.deck import Card, DeckSet, LoadedDeck, render_cloze
from mi_prep.core.scheduling import CardState, Rating, aware, get_scheduler, next_day_start, preview, study_day
from mi_prep.core.store import Store

LEARN_AHEAD = timedelta(minutes=20)


@dataclass(frozen=True)
class ReviewItem:
    """One schedulable side of a card."""

    item_id: str
    card: Card
    deck: LoadedDeck
    tags: tuple[str, ...]
    variant: Literal["front", "reverse", "cloze"] = "front"
    cloze: int = 0

    @property
    def line(self) -> int:
        return self.deck.card_lines.get(self.card.id, 1)

    def question(self) -> str:
        if self.variant == "reverse":
            return self.card.back
        if self.variant == "cloze":
            return render_cloze(self.card.front, self.cloze, reveal=False)
        return self.card.front

    def answer(self) -> str:
        if self.variant == "reverse":
            return self.card.front
        if self.variant == "cloze":
            revealed = render_cloze(self.card.front, self.cloze, reveal=True)
            return revealed + (f"\n\n{self.card.back}" if self.card.back else "")
        return self.card.back


def option_order(card_id: str, n: int, salt: int | str) -> list[int]:
    """The order to show a choice card's ``n`` options in: a shuffle seeded by the card id and
    ``salt`` (the review count in Review, the drill seed in a drill), so the correct option is not
    always in the same place, and undo or a replay shows the same order again."""
    order = list(range(n))
    Random(f"{card_id}:{salt}").shuffle(order)
    return order


def items_for(deckset: DeckSet) -> list[ReviewItem]:
    out: list[ReviewItem] = []
    for deck, card in deckset.cards():
        tags = deckset.effective_tags(deck, card)
        if card.type == "reverse":
            out.append(ReviewItem(card.id, card, deck, tags))
            out.append(ReviewItem(f"{card.id}#rev", card, deck, tags, "reverse"))
        elif card.type == "cloze":
            for item_id in card.item_ids():
                out.append(ReviewItem(item_id, card, deck, tags, "cloze", int(item_id.rsplit("#c", 1)[1])))
        else:
            out.append(ReviewItem(card.id, card, deck, tags))
    return out


def interview_cap(store: Store, now: datetime) -> float | None:
    """Days left until the configured interview date (``config set interview-date``), at least 1."""
    raw = store.get_config("interview-date")
    if not raw:
        return None
    day = date.fromisoformat(raw)
    left = (day - now.date()).days
    return float(max(1, left))


@dataclass
class Counts:
    new: int = 0
    learning: int = 0
    review: int = 0

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


def classify(state: CardState | None, now: datetime, day_end: datetime) -> str | None:
    """'new' | 'learning' | 'review' (due today) | None (not due, suspended or buried)."""
    if state is None:
        return "new"
    if not state.available(now):
        return None
    if state.phase == "new":
        return "new"
    if state.due is None or state.due >= day_end:
        return None
    return "learning" if state.phase in ("learning", "relearning") else "review"


@dataclass
class ReviewSession:
    store: Store
    deckset: DeckSet
    now: datetime
    deck_ids: Iterable[str] | None = None
    tags: Iterable[str] | None = None
    new_limit: int | None = None
    review_limit: int | None = None
    learn_ahead: timedelta = LEARN_AHEAD
    items: list[ReviewItem] = field(init=False)
    states: dict[str, CardState] = field(init=False)
    _undo: list[str] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        aware(self.now)
        decks = set(self.deck_ids) if self.deck_ids else None
        tags = set(self.tags) if self.tags else None
        self.items = [
            i
            for i in items_for(self.deckset)
            if (decks is None or i.deck.id in decks) and (tags is None or tags & set(i.tags))
        ]
        self.by_id = {i.item_id: i for i in self.items}
        self.states = self.store.states()
        if self.new_limit is None:
            self.new_limit = int(self.store.get_config("new-per-day"))
        if self.review_limit is None:
            self.review_limit = int(self.store.get_config("reviews-per-day"))

    # ---- queue ---------------------------------------------------------------
    def _remaining_limits(self, now: datetime) -> tuple[int, int]:
        if self.new_limit is None or self.review_limit is None:  # __post_init__ sets both
            raise RuntimeError("ReviewSession limits are unset")
        done = self.store.today_counts(now)
        return max(0, self.new_limit - done["new"]), max(0, self.review_limit - done["review"])

    def counts(self, now: datetime) -> Counts:
        """What is left today (new and review capped by the daily limits)."""
        day_end = next_day_start(now)
        c = Counts()
        for item in self.items:
            kind = classify(self.states.get(item.item_id), now, day_end)
            if kind == "new":
                c.new += 1
            elif kind == "learning":
                c.learning += 1
            elif kind == "review":
                c.review += 1
        new_left, rev_left = self._remaining_limits(now)
        c.new = min(c.new, new_left)
        c.review = min(c.review, rev_left)
        return c

    def next_item(self, now: datetime) -> ReviewItem | None:
        aware(now)
        day_end = next_day_start(now)
        learning: list[tuple[datetime, ReviewItem]] = []
        reviews: list[tuple[datetime, ReviewItem]] = []
        new: list[ReviewItem] = []
        for item in self.items:
            state = self.states.get(item.item_id)
            kind = classify(state, now, day_end)
            if kind == "new":
                new.append(item)
            elif state is None or state.due is None:  # classify: only new items lack a due date
                continue
            elif kind == "learning":
                learning.append((state.due, item))
            elif kind == "review":
                reviews.append((state.due, item))
        learning.sort(key=lambda t: t[0])
        if learning and learning[0][0] <= now:
            return learning[0][1]
        new_left, rev_left = self._remaining_limits(now)
        if reviews and rev_left > 0:
            reviews.sort(key=lambda t: t[0])
            return reviews[0][1]
        if new and new_left > 0:
            return new[0]
        if learning and learning[0][0] <= now + self.learn_ahead:
            return learning[0][1]
        return None

    def next_learning_due(self, now: datetime) -> datetime | None:
        """When the next learning step comes due today (for "come back in 8 minutes")."""
        day_end = next_day_start(now)
        dues = [
            s.due
            for i in self.items
            if (s := self.states.get(i.item_id)) is not None
            and s.due is not None
            and classify(s, now, day_end) == "learning"
        ]
        return min(dues) if dues else None

    # ---- actions -------------------------------------------------------------
    def state(self, item: ReviewItem) -> CardState:
        return self.states.get(item.item_id) or CardState(item.item_id, scheduler=self.store.scheduler_name)

    def option_order(self, item: ReviewItem) -> list[int]:
        """Display order of a choice item's options for this review (see :func:`option_order`)."""
        return option_order(item.item_id, len(item.card.options), self.store.review_count(item.item_id))

    def preview(self, item: ReviewItem, now: datetime) -> dict[Rating, timedelta]:
        state = self.state(item)
        sched = self.store.scheduler() if state.phase == "new" else get_scheduler(state.scheduler)
        return preview(sched, state, now, max_interval=interview_cap(self.store, now))

    def answer(self, item: ReviewItem, rating: Rating | int, now: datetime, elapsed_ms: int = 0) -> CardState:
        new = self.store.answer(
            item.item_id,
            rating,
            now,
            card_id=item.card.id,
            elapsed_ms=max(0, int(elapsed_ms)),
            max_interval=interview_cap(self.store, now),
        )
        self.states[item.item_id] = new
        self._undo.append(item.item_id)
        return new

    def suspend(self, item: ReviewItem, now: datetime) -> CardState:
        self.states[item.item_id] = self.store.suspend(item.item_id, now)
        self._undo.append(item.item_id)
        return self.states[item.item_id]

    def unsuspend(self, item: ReviewItem, now: datetime) -> CardState:
        self.states[item.item_id] = self.store.unsuspend(item.item_id, now)
        return self.states[item.item_id]

    def bury(self, item: ReviewItem, now: datetime) -> CardState:
        """Hide the item until the next study day."""
        until = next_day_start(now)
        self.states[item.item_id] = self.store.bury(item.item_id, now, until)
        self._undo.append(item.item_id)
        return self.states[item.item_id]

    def undo(self, now: datetime) -> ReviewItem | None:
        """Undo the last answer/suspend/bury (from any session, last first). Returns that item to show again."""
        item_id = self.store.undo_last(now)
        if item_id is None:
            return None
        state = self.store.state(item_id)
        if state is not None:
            self.states[item_id] = state
        if self._undo and self._undo[-1] == item_id:
            self._undo.pop()
        return self.by_id.get(item_id)

    def reload(self, deckset: DeckSet) -> None:
        """Swap in freshly loaded decks (file changed); states and history are kept by id."""
        self.deckset = deckset
        self.__post_init__()


def due_by_deck(store: Store, deckset: DeckSet, now: datetime) -> dict[str, Counts]:
    """Per-deck counts of new (uncapped), learning and review items due today."""
    states = store.states()
    day_end = next_day_start(now)
    out: dict[str, Counts] = {d.id: Counts() for d in deckset.decks}
    for item in items_for(deckset):
        kind = classify(states.get(item.item_id), now, day_end)
        if kind:
            c = out[item.deck.id]
            setattr(c, kind, getattr(c, kind) + 1)
    return out


LAB_PREFIX = "lab:"


def lab_item_id(lab_name: str) -> str:
    """The review item a lab is scheduled as (its score rates it like a card)."""
    return LAB_PREFIX + lab_name


def due_labs(store: Store, now: datetime) -> list[str]:
    """Labs (items ``lab:NAME``, scheduled from lab scores) due by the end of today, most overdue first."""
    day_end = next_day_start(now)
    due = [
        (s.due, item_id.removeprefix(LAB_PREFIX))
        for item_id, s in store.states(LAB_PREFIX).items()
        if s.available(now) and s.due is not None and s.due < day_end
    ]
    return [name for _, name in sorted(due)]


def streak(store: Store, now: datetime) -> int:
    """Consecutive study days with at least one review, ending today (or yesterday if none yet today)."""
    days = {study_day(ts, now.tzinfo) for ts in store.review_times()}
    today = study_day(now)
    day = today if today in days else today - timedelta(days=1)
    n = 0
    while day in days:
        n += 1
        day -= timedelta(days=1)
    return n
