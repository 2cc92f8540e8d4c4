"""`mi-prep review`: review in the plain terminal, line by line, so it also works from a script.

Protocol (one line of input per prompt):
* at a question: Enter reveals; ``u`` undo, ``s`` suspend, ``b`` bury, ``q`` quit.
  ``choice`` cards: type the option number (options are shuffled per review). ``explain`` cards: type your answer
  (one or more lines, an empty line ends it).
* after the answer: ``1``-``4`` (Again/Hard/Good/Easy); Enter takes the suggested rating.
EOF ends the session; every answer is already saved.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mi_prep.cli.card_prompt import ask_front, show_back
from mi_prep.cli.terminal import EndOfInput, ask_rating, session_blocked
from mi_prep.core.due_text import leech_note, until
from mi_prep.core.review_grading import is_choice
from mi_prep.core.scheduling import Rating, format_interval
from mi_prep.core.session import ReviewSession

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext


def run_plain_review(
    app: AppContext, deck_ids: Iterable[str] | None = None, tags: Iterable[str] | None = None, limit: int | None = None
) -> int:
    if session_blocked(app, deck_ids, tags):
        return 2
    now = app.now()
    session = ReviewSession(app.store, app.decks, now, deck_ids=deck_ids, tags=tags)
    answered = 0
    actions: list[str] = []  # what each undo step would take back ('answer' | 'suspend' | 'bury')
    try:
        while limit is None or answered < limit:
            now = app.now()
            item = session.next_item(now)
            if item is None:
                nxt = session.next_learning_due(now)
                if nxt is not None:
                    app.print(f"Nothing more right now; {until(nxt, now)} until the next learning card.")
                else:
                    app.print("Congratulations! No more cards are due today.")
                note = session.limit_note(now)
                if note:
                    app.print(note.replace("in Settings", "(mi-prep config set, or Settings in the TUI)"))
                break
            c = session.counts(now)
            app.print(
                f"\n[{c.new} new · {c.learning} learning · {c.review} due]  {item.deck.deck.name}  ({item.card.id})"
            )
            shown_at = time.monotonic()
            order = session.option_order(item) if is_choice(item) else []
            cmd, typed = ask_front(app, item, order, ("u", "s", "b", "q"), "u undo, s suspend, b bury, q quit")
            if cmd == "q":
                break
            if cmd == "u":
                undone = session.undo(app.now())
                if undone is None:
                    app.print("nothing to undo")
                    continue
                if actions and actions.pop() == "answer":
                    answered -= 1
                app.print(undone.description + ("" if undone.item is not None else " (not in this session's decks)"))
                continue
            if cmd == "s":
                session.suspend(item, app.now())
                actions.append("suspend")
                app.print("suspended")
                continue
            if cmd == "b":
                session.bury(item, app.now())
                actions.append("bury")
                app.print("buried until tomorrow")
                continue
            suggested = show_back(app, item, order, cmd, typed)
            pv = session.preview(item, app.now())
            shown = {r: format_interval(pv[r]) for r in Rating}  # the confirmation repeats these words
            rating = ask_rating(app, "  ".join(f"{r.value} {r.label} ({shown[r]})" for r in Rating), suggested)
            elapsed = int((time.monotonic() - shown_at) * 1000)
            state = session.answer(item, rating, app.now(), elapsed_ms=elapsed)
            answered += 1
            actions.append("answer")
            app.print(f"saved: {rating.label}; next in {shown[rating]}" + leech_note(state))
    except EndOfInput:
        pass
    app.print(f"\n{answered} answers saved.")
    return 0
