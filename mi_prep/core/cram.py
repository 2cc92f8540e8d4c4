"""Cram ("study more"): go over cards that are NOT due, without touching their schedule.

Which items can be crammed (:func:`crammable`): items seen before (a state exists and is past
``new``), not suspended, not buried, and not due today (items due today belong to normal review,
:class:`~mi_prep.core.session.ReviewSession`). The deck and tag filters work as in review.

Order: ``weakest`` puts the lowest predicted recall now first (:func:`predicted_recall`, the FSRS
forgetting curve, to the percent; ties: more Again answers, more lapses, lower ease first,
:func:`weakness_key`); otherwise the soonest due first.

Every answer is a ``cram`` event (:meth:`~mi_prep.core.store.Store.cram`): it changes no scheduling
state and stays out of retention statistics. An item is shown once per session, unless answered
Again: it then comes back :data:`AGAIN_GAP` cards later (like Anki's cram "again").
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal

from mi_prep.core.deck import DeckSet
from mi_prep.core.scheduling import CardState, Rating, aware, next_day_start
from mi_prep.core.session import ReviewItem, classify, option_order, scoped_items
from mi_prep.core.store import Store

AGAIN_GAP = 3
"""An item answered Again comes back after this many other cards (sooner when fewer are left)."""

FORGETTING_FACTOR = 19 / 81
FORGETTING_DECAY = -0.5
MIN_STABILITY_DAYS = 1 / 1440
"""A state without a usable stability or interval (a learning step) counts as one minute."""

EmptyReason = Literal["no-items", "nothing-seen", "all-due", "unavailable", "finished"]


def stability_days(state: CardState) -> float:
    """S in the forgetting curve: FSRS stability, or the SM-2 interval in days (at least one minute)."""
    if state.scheduler == "fsrs" and state.stability is not None and state.stability > 0:
        return float(state.stability)
    return max(float(state.interval or 0.0), MIN_STABILITY_DAYS)


def predicted_recall(state: CardState, now: datetime) -> float:
    """The chance of recalling the item at ``now``: ``R = (1 + 19/81 * t/S) ** -0.5`` (FSRS), with ``t``
    days since the last review and ``S`` from :func:`stability_days`; R = 0.9 when t = S. An item never
    reviewed (no ``last_review``) counts as 0."""
    aware(now)
    if state.last_review is None:
        return 0.0
    t = max(0.0, (now - state.last_review).total_seconds() / 86400)
    return float((1 + FORGETTING_FACTOR * t / stability_days(state)) ** FORGETTING_DECAY)


def is_crammable(state: CardState | None, now: datetime, day_end: datetime) -> bool:
    """Seen, not suspended, not buried and not due today (``day_end``: the next study day's start)."""
    return state is not None and state.phase != "new" and state.available(now) and classify(state, now, day_end) is None


def weakness_key(state: CardState, now: datetime, failures: int = 0) -> tuple[float, int, int, float]:
    """Sort key, weakest first: predicted recall (to the percent, so cards answered minutes apart tie),
    then more Again answers ever (a card failed five times while learning has no lapse yet), then more
    lapses, then lower ease."""
    return (round(predicted_recall(state, now), 2), -failures, -state.lapses, state.ease)


def crammable(
    items: Iterable[ReviewItem],
    states: dict[str, CardState],
    now: datetime,
    *,
    weakest: bool = False,
    failures: Mapping[str, int] | None = None,
) -> list[ReviewItem]:
    """The items of ``items`` that can be crammed at ``now``, in cram order (see the module doc)."""
    day_end = next_day_start(aware(now))
    picked = [
        (n, i, states[i.item_id]) for n, i in enumerate(items) if is_crammable(states.get(i.item_id), now, day_end)
    ]
    if weakest:
        fails = failures or {}
        picked.sort(key=lambda t: weakness_key(t[2], now, fails.get(t[1].item_id, 0)) + (t[0],))
    else:
        picked.sort(key=lambda t: (t[2].due is None, t[2].due or now, t[0]))
    return [i for _, i, _ in picked]


def cram_outcome(rating: Rating | int) -> str:
    """What an answer does in cram (nothing is scheduled): Again brings the card back soon."""
    return "again soon" if Rating(int(rating)) == Rating.AGAIN else "done"


EMPTY_TEXTS: dict[EmptyReason, str] = {
    "no-items": "There are no cards here.",
    "nothing-seen": "You have not reviewed any of these cards yet: cram only goes over cards you have seen. "
    "Review some first.",
    "all-due": "Every card you have seen here is due today: review those first (cram is for cards that are "
    "not due; review is what moves their schedule).",
    "unavailable": "Every card you have seen here that is not due is suspended or buried.",
    "finished": "You have gone through every card here that is not due.",
}


@dataclass
class CramCounts:
    left: int = 0
    """Items still to show in this session (an Again item counts once)."""
    crammed: int = 0
    """Distinct items answered in this session (undone answers not counted)."""
    answers: int = 0
    """Answers given in this session, Again included (undone ones not counted)."""


@dataclass
class CramSession:
    """The cram queue the UIs drive; built at ``now`` (pass ``now`` explicitly to every call)."""

    store: Store
    deckset: DeckSet
    now: datetime
    deck_ids: Iterable[str] | None = None
    tags: Iterable[str] | None = None
    weakest: bool = False
    items: list[ReviewItem] = field(init=False)
    states: dict[str, CardState] = field(init=False)
    queue: list[str] = field(init=False)
    """Item ids still to show, next first."""
    _answers: list[tuple[str, list[str]]] = field(init=False, default_factory=list)
    """(item id, the queue before the answer) of this session's answers, for undo."""

    def __post_init__(self) -> None:
        aware(self.now)
        self.deck_ids = list(self.deck_ids) if self.deck_ids else None
        self.tags = list(self.tags) if self.tags else None
        self._scope(self.deckset)
        self.states = self.store.states()
        fails = self.store.again_counts() if self.weakest else None
        self.queue = [
            i.item_id for i in crammable(self.items, self.states, self.now, weakest=self.weakest, failures=fails)
        ]

    def _scope(self, deckset: DeckSet) -> None:
        """The items of ``deckset`` the deck and tag filters keep (as in review)."""
        self.items = scoped_items(deckset, self.deck_ids, self.tags)
        self.by_id = {i.item_id: i for i in self.items}

    # ---- queue ---------------------------------------------------------------
    def _still_crammable(self, item_id: str, now: datetime, day_end: datetime) -> bool:
        return item_id in self.by_id and is_crammable(self.states.get(item_id), now, day_end)

    def _prune(self, now: datetime) -> None:
        """Drop items that stopped being crammable (the day turned and they came due, or decks changed)."""
        day_end = next_day_start(aware(now))
        self.queue = [i for i in self.queue if self._still_crammable(i, now, day_end)]

    def next_item(self, now: datetime) -> ReviewItem | None:
        self._prune(now)
        return self.by_id[self.queue[0]] if self.queue else None

    def counts(self, now: datetime) -> CramCounts:
        self._prune(now)
        answered = [item_id for item_id, _ in self._answers]
        return CramCounts(left=len(self.queue), crammed=len(set(answered)), answers=len(answered))

    def why_empty(self, now: datetime) -> EmptyReason:
        """Why :meth:`next_item` has nothing (meaningful when it returns None); texts: :data:`EMPTY_TEXTS`."""
        if not self.items:
            return "no-items"
        day_end = next_day_start(aware(now))
        seen = [s for i in self.items if (s := self.states.get(i.item_id)) is not None and s.phase != "new"]
        if not seen:
            return "nothing-seen"
        if self._answers or any(is_crammable(s, now, day_end) for s in seen):
            return "finished"
        if any(s.available(now) for s in seen):
            return "all-due"
        return "unavailable"

    # ---- actions -------------------------------------------------------------
    def option_order(self, item: ReviewItem) -> list[int]:
        """Display order of a choice item's options (shuffled per answer count, so Again reshuffles)."""
        salt = f"cram:{sum(1 for i, _ in self._answers if i == item.item_id)}"
        return option_order(item.item_id, len(item.card.options), salt)

    def answer(self, item: ReviewItem, rating: Rating | int, now: datetime, elapsed_ms: int = 0) -> CardState:
        """Log a cram answer (the state stays as it is). Again re-queues the item :data:`AGAIN_GAP` cards later;
        any other rating takes it out of this session."""
        rating = Rating(int(rating))
        state = self.store.cram(item.item_id, rating, now, card_id=item.card.id, elapsed_ms=max(0, int(elapsed_ms)))
        before = list(self.queue)
        rest = [i for i in self.queue if i != item.item_id]
        if rating == Rating.AGAIN:
            rest.insert(min(AGAIN_GAP, len(rest)), item.item_id)
        self.queue = rest
        self._answers.append((item.item_id, before))
        return state

    def undo(self, now: datetime) -> ReviewItem | None:
        """Undo this session's last cram answer (its log event is cancelled); returns the item, shown next.
        None when this session has no answer to undo."""
        if not self._answers:
            return None
        item_id = self.store.undo_last(now, source="cram")
        if item_id is None:
            self._answers.clear()
            return None
        if self._answers[-1][0] == item_id:
            self.queue = self._answers.pop()[1]
        if item_id not in self.by_id:  # another copy of mi-prep crammed a card outside this session since
            return None
        self.queue = [item_id] + [i for i in self.queue if i != item_id]
        return self.by_id[item_id]

    def reload(self, deckset: DeckSet) -> None:
        """Swap in freshly loaded decks (file changed): items by id are kept, removed ones dropped."""
        self.deckset = deckset
        self._scope(deckset)
        self.queue = [i for i in self.queue if i in self.by_id]
