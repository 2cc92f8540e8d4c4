"""Snapshot tests (pytest-textual-snapshot): Home, Review front and back, Stats, on a fixed fake clock.

Regenerate after an intended UI change with ``pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from __future__ import annotations

import pytest

SIZE = (100, 34)


@pytest.fixture
def app(make_app, seeder, clock):
    app = make_app()
    seeder(app.store, app.deckset, clock)
    app.store.set_config("interview-date", "2026-07-24")
    return app


async def settle(pilot) -> None:
    await pilot.app.workers.wait_for_complete()
    await pilot.pause()
    await pilot.wait_for_scheduled_animations()
    await pilot.pause()


def test_home(snap_compare, app):
    assert snap_compare(app, terminal_size=SIZE, run_before=settle)


def test_review_front(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("r")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_review_back_choice(snap_compare, make_app):
    app = make_app()

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("r", "space", "3")  # residual-stream: Good -> the choice card
        await settle(pilot)
        await pilot.press("2")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_review_back_basic_light(snap_compare, make_app):
    app = make_app()
    app.store.set_config("theme", "textual-light")

    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("r", "space")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_stats(snap_compare, app):
    async def run_before(pilot):
        await settle(pilot)
        await pilot.press("s")
        await settle(pilot)

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
