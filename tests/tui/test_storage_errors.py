"""Storage failing under a running TUI: one clear notification, the app keeps running, and the
answer that hit the failure is not shown as saved (the same card stays), then saves once the disk
has room again."""

from __future__ import annotations

import asyncio
import sqlite3

from mi_prep.tui.screens.review import ReviewScreen


def test_disk_full_while_answering_keeps_the_card_and_says_what_to_do(make_app, monkeypatch):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            await pilot.press("r")
            await pilot.pause()
            s = app.screen
            assert isinstance(s, ReviewScreen)
            first = s.item.item_id
            await pilot.press("space")
            await pilot.pause()
            store = app.store
            real_transaction = store.transaction

            def full_disk():
                raise sqlite3.OperationalError("database or disk is full")

            monkeypatch.setattr(store, "transaction", full_disk)
            await pilot.press("3")
            await pilot.pause()
            assert app.is_running and app.return_code is None
            assert app.screen is s and s.item.item_id == first, "the card must stay: its answer was not saved"
            assert store.log_rows() == []
            notes = [n.message for n in app._notifications]
            assert any("disk" in m and "not saved" in m for m in notes), notes
            # room again: the same key saves it and the review moves on
            monkeypatch.setattr(store, "transaction", real_transaction)
            await pilot.press("3")
            await pilot.pause()
            assert [r["item_id"] for r in store.log_rows()] == [first]
            assert s.item is None or s.item.item_id != first or s.phase == "front"

    asyncio.run(body())
