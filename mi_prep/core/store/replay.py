"""Replaying the review log: an item's state rebuilt from its ``review_log`` rows alone (no SQL here).

Undone events are skipped; every event kind is replayed (review, suspend, unsuspend, bury, boost; cram
changes nothing), so ``card_state`` is derived data: :meth:`Store.replay_item` must equal the stored row
(tested). Each row is replayed at its time in the IANA zone it was logged in (``tz``), so day arithmetic
across daylight-saving changes comes out as it did; a review row carries the leech threshold it was
answered under (``data.leech``).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mi_prep.core.scheduling import CardState, Rating, get_scheduler
from mi_prep.core.store import checks
from mi_prep.core.store.errors import DamagedRow
from mi_prep.core.store.review_log import event_time


def is_leech(lapses: int, threshold: int) -> bool:
    """Anki's rule: a leech at ``threshold`` lapses, and again every ``threshold // 2`` lapses after."""
    if threshold <= 0 or lapses < threshold:
        return False
    return (lapses - threshold) % max(1, threshold // 2) == 0


def leech_check(before: CardState, after: CardState, threshold: Any) -> CardState:
    """``after`` tagged a leech and suspended if this answer was a lapse that reached the threshold."""
    if not isinstance(threshold, int) or after.lapses <= before.lapses or not is_leech(after.lapses, threshold):
        return after
    return after.evolve(leech=True, suspended=True)


def replay(
    item_id: str, rows: list[dict[str, Any]], scheduler: str | None = None, default_scheduler: str = "sm2"
) -> CardState:
    """Rebuild an item's state from its log rows alone (undone events skipped).

    A row replay cannot use raises :class:`DamagedRow` (a ValueError) naming it."""
    undone = {r["ref_id"] for r in rows if r["kind"] == "undo"}
    state = CardState(item_id=item_id, scheduler=scheduler or default_scheduler)
    for r in rows:
        checks.check_log_row(r)
        if r["kind"] == "undo" or r["id"] in undone:
            continue
        try:
            state = replay_row(state, r, scheduler, default_scheduler)
        except DamagedRow:
            raise
        except (OverflowError, ValueError) as exc:  # dates past 9999, absurd numbers: edited by hand
            raise DamagedRow("review_log", r["id"], f"replaying it fails: {exc}") from None
    return state


def replay_row(state: CardState, r: dict[str, Any], scheduler: str | None, default_scheduler: str) -> CardState:
    """The state after one (not undone) log row."""
    now = event_time(r)
    data = json.loads(r["data"]) if r["data"] else {}
    if r["kind"] == "review":
        name = scheduler or (state.scheduler if state.phase != "new" else r["scheduler"] or default_scheduler)
        after = get_scheduler(name).review(state, Rating(r["rating"]), now, max_interval=r["max_interval"])
        return leech_check(state, after, data.get("leech", 0))
    if r["kind"] == "suspend":
        return state.evolve(suspended=True)
    if r["kind"] == "unsuspend":
        return state.evolve(suspended=False)
    if r["kind"] == "bury":
        return state.evolve(buried_until=datetime.fromisoformat(data["until"]))
    if r["kind"] == "boost":
        due = datetime.fromisoformat(data["due"])
        if state.phase != "new" and state.due is not None and state.due > due:
            return state.evolve(due=due)
    return state
