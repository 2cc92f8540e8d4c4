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
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext


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
    from mi_prep.cli.cram_run import run_plain_cram  # the session machinery: only when cramming

    return run_plain_cram(app, deck_ids=args.deck, tags=args.tag, weakest=args.weakest)
