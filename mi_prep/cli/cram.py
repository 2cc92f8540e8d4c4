"""`mi-prep cram [--deck D] [--tag T] [--weakest]`: study cards that are not due, in the plain terminal.

Cram ("study more") goes over cards you have seen that are not due today (:mod:`mi_prep.core.cram`);
every answer is logged as a ``cram`` event that changes no schedule and stays out of the statistics.

Protocol (one line of input per prompt), as in ``mi-prep review``:
* at a question: Enter reveals; ``u`` undo, ``q`` quit. ``choice`` cards: type the option number.
  ``explain`` cards: type your answer (one or more lines, an empty line ends it).
* after the answer: ``1``-``4`` (Again brings the card back a few cards later; the others finish it);
  Enter takes the suggested rating.
EOF ends the session; every answer is already saved.
"""

from __future__ import annotations

import argparse
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mi_prep.cli.card_prompt import ask_front, show_back
from mi_prep.cli.terminal import EndOfInput, ask_rating, scope_problem
from mi_prep.core.cram import EMPTY_TEXTS, CramSession, cram_outcome
from mi_prep.core.review_grading import is_choice
from mi_prep.core.scheduling import Rating

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext

HEADER = "Cram: studying ahead: nothing here changes when cards are due."
REVIEW_HINT = {"nothing-seen": " Run `mi-prep review`.", "all-due": " Run `mi-prep review`."}


def register(sub: argparse._SubParsersAction) -> None:
    s = sub.add_parser(
        "cram", help="study cards that are not due (seen before; nothing is rescheduled; answers on stdin like review)"
    )
    s.add_argument("--deck", action="append", help="only this deck id (repeatable)")
    s.add_argument("--tag", action="append", help="only cards with this tag (repeatable)")
    s.add_argument(
        "--weakest", action="store_true", help="lowest predicted recall first (default: the soonest due first)"
    )
    s.set_defaults(func=cmd_cram)


def cmd_cram(args: argparse.Namespace, app: AppContext) -> int:
    return run_plain_cram(app, deck_ids=args.deck, tags=args.tag, weakest=args.weakest)


def _ask_rating(app: AppContext, suggested: Rating) -> Rating:
    return ask_rating(app, "  ".join(f"{r.value} {r.label} ({cram_outcome(r)})" for r in Rating), suggested)


def run_plain_cram(
    app: AppContext, deck_ids: Iterable[str] | None = None, tags: Iterable[str] | None = None, weakest: bool = False
) -> int:
    for issue in app.decks.errors:
        app.print(f"! {issue}")
    problem = scope_problem(app, deck_ids, tags)
    if problem:
        app.print(problem)
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
