"""How the time until something is due is written, in every frontend (``3d``, ``due``, ``in 3d``, ``now``, ``-``).

Intervals use :func:`mi_prep.core.scheduling.format_interval` (Anki-style: ``<1m``, ``10m``, ``3h``,
``6d``, ``1.5mo``, ``2.1y``).
"""

from __future__ import annotations

from datetime import datetime

from mi_prep.core.scheduling import CardState, format_interval, shown_delta


def until(when: datetime | None, now: datetime) -> str:
    """The interval from ``now`` to ``when``; ``-`` when there is no such time."""
    return "-" if when is None else format_interval(shown_delta(when, now))


def next_review_in(state: CardState, now: datetime) -> str:
    """After an answer: how long until the item comes back (``next in 3d``)."""
    return until(state.due, now)


def lab_due_text(state: CardState | None, now: datetime) -> str:
    """``due`` / ``in 3d`` / ``-`` for a lab's SRS state (``lab:NAME``; ``-``: never scored or suspended)."""
    if state is None or state.due is None or state.suspended:
        return "-"
    return "due" if state.due <= now else f"in {until(state.due, now)}"


def due_cell(state: CardState | None, now: datetime) -> str:
    """A card's due time in a table: ``now`` / ``3d``, ``-`` for a new card."""
    if state is None or state.due is None or state.phase == "new":
        return "-"
    return "now" if state.due <= now else until(state.due, now)


def leech_note(state: CardState) -> str:
    """After an answer that made the card a leech: what happened and what to do."""
    if not (state.leech and state.suspended):
        return ""
    return (
        f" - this card lapsed {state.lapses} times: tagged a leech and suspended "
        "(rewrite it, then unsuspend it in Browse)"
    )
