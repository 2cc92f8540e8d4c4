"""Replaying the review log: an item's state rebuilt from its ``review_log`` rows alone (no SQL here).

Undone events are skipped; every event kind is replayed (review, suspend, unsuspend, bury, boost), so
``card_state`` is derived data: :meth:`Store.replay_item` must equal the stored row (tested).
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Any

from mi_prep.core.scheduling import CardState, Rating, get_scheduler
from mi_prep.core.store import checks
from mi_prep.core.store.errors import DamagedRow


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
    now = datetime.fromisoformat(r["ts_local"] or r["ts"])
    data = json.loads(r["data"]) if r["data"] else {}
    if r["kind"] == "review":
        name = scheduler or (state.scheduler if state.phase != "new" else r["scheduler"] or default_scheduler)
        return get_scheduler(name).review(state, Rating(r["rating"]), now, max_interval=r["max_interval"])
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
