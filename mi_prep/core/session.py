"""Review session: builds the queue, answers, undo, suspend, bury. The UI and `mi-prep review` drive it.

Queue order (as in Anki): learning items whose step is due (or due within the learn-ahead
window, 20 minutes, when nothing else is left; also across the 04:00 day boundary), then review
items due today, then new items. Daily limits (default 20 new / 200 reviews, Anki's defaults) count
answers already given today; as in Anki, the review limit also caps new cards (new answers count
toward it), so once it is reached nothing more is shown.

Siblings (the two sides of a reverse card, the deletions of a cloze card) are buried for the rest
of the study day once one of them is answered (new and review items, as Anki's "bury siblings"),
so one never gives the next away; learning steps are not buried. This is read from today's log, so
an undo un-buries them.

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
from mi_prep.core.store import LogEntry, Store

LEARN_AHEAD = timedelta(minutes=20)


@dataclass(frozen=True, slots=True)
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
    """Every review item of ``deckset``, in deck and card order (built once per loaded DeckSet)."""
    items = deckset.derived.get("review-items")
    if items is None:
        items = deckset.derived["review-items"] = _build_items(deckset)
    return list(items)


def _build_items(deckset: DeckSet) -> tuple[ReviewItem, ...]:
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
    return tuple(out)


def scoped_items(deckset: DeckSet, deck_ids: Iterable[str] | None, tags: Iterable[str] | None) -> list[ReviewItem]:
    """The review items of ``deckset`` in the decks ``deck_ids`` (None: all) carrying one of ``tags`` (None: any)."""
    decks = set(deck_ids) if deck_ids else None
    wanted = set(tags) if tags else None
    return [
        i
        for i in items_for(deckset)
        if (decks is None or i.deck.id in decks) and (wanted is None or wanted & set(i.tags))
    ]


def interview_cap(store: Store, now: datetime) -> float | None:
    """Days left until the configured interview date (``config set interview-date``), at least 1; None
    when unset or once the date has passed (then intervals grow again).

    Counted in study days (before 04:00 it is still yesterday), so Home and the scheduler agree."""
    raw = store.get_config("interview-date")
    if not raw:
        return None
    day = date.fromisoformat(raw)
    left = (day - study_day(now)).days
    return None if left < 0 else float(max(1, left))


def interval_limit(store: Store, now: datetime) -> float:
    """The longest interval an answer given at ``now`` may get: the ``max-interval`` setting, or the days
    left to the interview when fewer. The buttons' preview and the answer both use it."""
    setting = float(store.get_config("max-interval"))
    cap = interview_cap(store, now)
    return setting if cap is None else min(setting, cap)


@dataclass
class Counts:
    new: int = 0
    learning: int = 0
    review: int = 0

    @property
    def total(self) -> int:
        return self.new + self.learning + self.review


def classify(
    state: CardState | None, now: datetime, day_end: datetime, learn_ahead: timedelta = LEARN_AHEAD
) -> str | None:
    """'new' | 'learning' | 'review' (due today) | None (not due, suspended or buried).

    A learning step due within ``learn_ahead`` counts even when it falls after the day boundary
    (an Again at 03:59:30 is due at 04:00:30: it belongs to this session, not tomorrow's)."""
    if state is None:
        return "new"
    if not state.available(now):
        return None
    if state.phase == "new":
        return "new"
    if state.due is None:
        return None
    if state.phase in ("learning", "relearning"):
        return "learning" if state.due < day_end or state.due <= now + learn_ahead else None
    return "review" if state.due < day_end else None


@dataclass(frozen=True)
class Undone:
    """What an undo took back, wherever it was answered."""

    event: LogEntry
    item: ReviewItem | None
    """The item to show again, when it belongs to this session (else None: another deck or filter)."""
    card_id: str
    deck_name: str | None

    @property
    def item_id(self) -> str:
        return self.event.item_id

    @property
    def short(self) -> str:
        """A few words for a status line: "undone: Good on c-1" (the card id, as the other messages)."""
        what = Rating(self.event.rating).label if self.event.kind == "review" and self.event.rating else self.event.kind
        return f"undone: {what} on {self.card_id}"

    @property
    def description(self) -> str:
        """A sentence: "Undid the answer (Good) to card c-1 (deck Attention)"."""
        what = {
            "review": "the answer" + (f" ({Rating(self.event.rating).label})" if self.event.rating else ""),
            "suspend": "the suspension of",
            "bury": "the burying of",
            "unsuspend": "the unsuspension of",
        }.get(self.event.kind, f"the {self.event.kind} of")
        to = " to" if self.event.kind == "review" else ""
        where = f" (deck {self.deck_name})" if self.deck_name else ""
        side = "" if self.item_id == self.card_id else f", side {self.item_id}"
        return f"Undid {what}{to} card {self.card_id}{side}{where}"


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
    _answered: dict[str, set[str]] = field(init=False, default_factory=dict)
    """card id -> its items answered today (for burying siblings)."""
    _answered_day: date | None = field(init=False, default=None)

    def __post_init__(self) -> None:
        aware(self.now)
        self.items = scoped_items(self.deckset, self.deck_ids, self.tags)
        self.by_id = {i.item_id: i for i in self.items}
        self.states = self.store.states()
        if self.new_limit is None:
            self.new_limit = int(self.store.get_config("new-per-day"))
        if self.review_limit is None:
            self.review_limit = int(self.store.get_config("reviews-per-day"))

    # ---- queue ---------------------------------------------------------------
    def _remaining_limits(self, now: datetime) -> tuple[int, int]:
        """(new, reviews) still allowed today; new and review answers both count toward the review limit."""
        if self.new_limit is None or self.review_limit is None:  # __post_init__ sets both
            raise RuntimeError("ReviewSession limits are unset")
        done = self.store.today_counts(now)
        rev_left = max(0, self.review_limit - done["review"] - done["new"])
        return min(max(0, self.new_limit - done["new"]), rev_left), rev_left

    def _answered_today(self, now: datetime) -> dict[str, set[str]]:
        """card id -> its items answered during ``now``'s study day (read once per study day)."""
        day = study_day(now)
        if self._answered_day != day:
            self._answered = answered_by_card(self.store, now)
            self._answered_day = day
        return self._answered

    def _kinds(self, now: datetime, day_end: datetime) -> list[str | None]:
        """Each item's kind today (:func:`classify`), None for a new or review item whose sibling was
        answered today: it waits for the next study day."""
        answered = self._answered_today(now)
        states, ahead = self.states, self.learn_ahead
        kinds: list[str | None] = []
        for item in self.items:
            kind = classify(states.get(item.item_id), now, day_end, ahead)
            if answered and kind in ("new", "review") and has_answered_sibling(answered, item):
                kind = None
            kinds.append(kind)
        return kinds

    def counts(self, now: datetime) -> Counts:
        """What is left today (new and review capped by the daily limits)."""
        day_end = next_day_start(now)
        c = Counts()
        for kind in self._kinds(now, day_end):
            if kind == "new":
                c.new += 1
            elif kind == "learning":
                c.learning += 1
            elif kind == "review":
                c.review += 1
        new_left, rev_left = self._remaining_limits(now)
        c.review = min(c.review, rev_left)
        c.new = min(c.new, new_left, rev_left - c.review)
        return c

    def next_item(self, now: datetime) -> ReviewItem | None:
        aware(now)
        day_end = next_day_start(now)
        learning: list[tuple[datetime, ReviewItem]] = []
        reviews: list[tuple[datetime, ReviewItem]] = []
        new: list[ReviewItem] = []
        for item, kind in zip(self.items, self._kinds(now, day_end), strict=True):
            state = self.states.get(item.item_id)
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

    def limit_note(self, now: datetime) -> str | None:
        """Why cards are held back today, when a daily limit is what stops the queue (as Anki says it)."""
        day_end = next_day_start(now)
        kinds = self._kinds(now, day_end)
        new_left, rev_left = self._remaining_limits(now)
        if "review" in kinds and rev_left == 0:
            return (
                f"Today's review limit ({self.review_limit}, new cards included) is reached; "
                "raise reviews-per-day in Settings to go on."
            )
        if "new" in kinds and new_left == 0:
            return f"Today's new-card limit ({self.new_limit}) is reached; raise new-per-day in Settings for more."
        return None

    def next_learning_due(self, now: datetime) -> datetime | None:
        """When the next learning step comes due today (for "come back in 8 minutes")."""
        day_end = next_day_start(now)
        dues = [
            s.due
            for i in self.items
            if (s := self.states.get(i.item_id)) is not None
            and s.due is not None
            and classify(s, now, day_end, self.learn_ahead) == "learning"
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
        return preview(sched, state, now, max_interval=interval_limit(self.store, now))

    def answer(self, item: ReviewItem, rating: Rating | int, now: datetime, elapsed_ms: int = 0) -> CardState:
        new = self.store.answer(
            item.item_id,
            rating,
            now,
            card_id=item.card.id,
            elapsed_ms=max(0, int(elapsed_ms)),
            max_interval=interval_limit(self.store, now),
        )
        self.states[item.item_id] = new
        self._undo.append(item.item_id)
        self._answered_day = None  # re-read today's answers (siblings) on the next queue build
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

    def undo(self, now: datetime) -> Undone | None:
        """Undo the last answer/suspend/bury (from any session, last first): what was undone, and the item
        to show again when it belongs to this session."""
        event = self.store.undo_last_event(now)
        if event is None:
            return None
        item_id = event.item_id
        state = self.store.state(item_id)
        if state is not None:
            self.states[item_id] = state
        if self._undo and self._undo[-1] == item_id:
            self._undo.pop()
        self._answered_day = None
        item = self.by_id.get(item_id)
        card_id = item_id.split("#")[0]
        found = self.deckset.card_index().get(card_id)
        deck = item.deck if item is not None else found[0] if found is not None else None
        return Undone(event, item, card_id, deck.deck.name if deck is not None else None)

    def reload(self, deckset: DeckSet) -> None:
        """Swap in freshly loaded decks (file changed); states and history are kept by id."""
        self.deckset = deckset
        self.__post_init__()


def answered_by_card(store: Store, now: datetime) -> dict[str, set[str]]:
    """card id -> its items answered in review during ``now``'s study day (not undone)."""
    answered: dict[str, set[str]] = {}
    for item_id, card_id in store.answered_on_study_day(now):
        answered.setdefault(card_id, set()).add(item_id)
    return answered


def has_answered_sibling(answered: dict[str, set[str]], item: ReviewItem) -> bool:
    """Whether another item of ``item``'s card is in ``answered`` (:func:`answered_by_card`)."""
    return bool(answered.get(item.card.id, set()) - {item.item_id})
