"""The plain-terminal cram loop behind `mi-prep cram` (:mod:`mi_prep.cli.cram` registers the command)."""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mi_prep.cli.card_prompt import ask_front, show_back
from mi_prep.cli.terminal import EndOfInput, ask_rating, session_blocked
from mi_prep.core.cram import EMPTY_TEXTS, CramSession, cram_outcome
from mi_prep.core.review_grading import is_choice
from mi_prep.core.scheduling import Rating

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext

HEADER = "Cram: studying ahead: nothing here changes when cards are due."
REVIEW_HINT = {"nothing-seen": " Run `mi-prep review`.", "all-due": " Run `mi-prep review`."}


def _ask_rating(app: AppContext, suggested: Rating) -> Rating:
    return ask_rating(app, "  ".join(f"{r.value} {r.label} ({cram_outcome(r)})" for r in Rating), suggested)


def run_plain_cram(
    app: AppContext, deck_ids: Iterable[str] | None = None, tags: Iterable[str] | None = None, weakest: bool = False
) -> int:
    if session_blocked(app, deck_ids, tags):
        return 2
    session = CramSession(app.store, app.decks, app.now(), deck_ids=deck_ids, tags=tags, weakest=weakest)
    app.print(HEADER)
    app.print("Order: " + ("weakest first (lowest predicted recall now)." if weakest else "the soonest due first."))
    if session.next_item(app.now()) is None:
        reason = session.why_empty(app.now())
        app.print(EMPTY_TEXTS[reason] + REVIEW_HINT.get(reason, ""))
        return 0
    try:
        while True:
            now = app.now()
            item = session.next_item(now)
            if item is None:
                reason = session.why_empty(now)
                app.print(EMPTY_TEXTS[reason] + REVIEW_HINT.get(reason, ""))
                break
            c = session.counts(now)
            app.print(f"\n[cram · {c.left} left · {c.crammed} crammed]  {item.deck.deck.name}  ({item.card.id})")
            shown_at = time.monotonic()
            order = session.option_order(item) if is_choice(item) else []
            cmd, typed = ask_front(app, item, order, ("u", "q"), "u undo, q quit")
            if cmd == "q":
                break
            if cmd == "u":
                back = session.undo(app.now())
                app.print(f"undone: {back.item_id}" if back else "nothing to undo in this cram session")
                continue
            rating = _ask_rating(app, show_back(app, item, order, cmd, typed))
            elapsed = int((time.monotonic() - shown_at) * 1000)
            session.answer(item, rating, app.now(), elapsed_ms=elapsed)
            if rating == Rating.AGAIN:
                app.print("logged: Again; it comes back a few cards later (its schedule is unchanged)")
            else:
                app.print(f"logged: {rating.label}; done for this session (its schedule is unchanged)")
    except EndOfInput:
        pass
    n = session.counts(app.now()).crammed
    app.print(f"\n{n} {'card' if n == 1 else 'cards'} crammed; no card's schedule changed.")
    return 0
