"""Shared fixtures for the TUI tests: a fake clock, a tmp data dir and a copy of the fixture decks."""

from __future__ import annotations

import shutil
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

FIXTURES = Path(__file__).parent / "fixtures"
T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


class FakeClock:
    def __init__(self, t: datetime = T0) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, **kw) -> None:
        self.t += timedelta(**kw)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def decks_dir(tmp_path: Path) -> Path:
    d = tmp_path / "decks"
    shutil.copytree(FIXTURES / "decks", d)
    return d


@pytest.fixture
def make_app(tmp_path: Path, clock: FakeClock, decks_dir: Path):
    """``make_app(deck_paths=None, **kw)`` -> MiPrepApp on a tmp data dir, the fake clock, no polling."""
    from mi_prep.context import AppContext
    from mi_prep.tui.app import MiPrepApp

    def make(deck_paths: list[Path] | None = None, data_dir: Path | None = None, **kw):
        ctx = AppContext(
            data_dir=data_dir or tmp_path / "data",
            deck_paths=deck_paths if deck_paths is not None else [decks_dir],
            clock=clock,
        )
        kw.setdefault("poll_seconds", None)
        return MiPrepApp(ctx, clock=clock, **kw)

    return make


def seed_history(store, deckset, clock: FakeClock, days: int = 120) -> None:
    """Deterministic past reviews so heatmap, streak and stats have something to show: on most days the
    first few items are answered when they are new or due (as a user would), so intervals grow."""
    from mi_prep.core.session import items_for

    items = items_for(deckset)
    start = clock.t - timedelta(days=days)
    for d in range(days):
        if d % 5 == 1:
            continue
        when = start + timedelta(days=d)
        for k, item in enumerate(items[: 3 + d % 4]):
            state = store.state(item.item_id)
            at = when + timedelta(minutes=k)
            if state is not None and state.due is not None and state.due > at + timedelta(hours=12):
                continue  # not due yet
            rating = 1 if (d + k) % 11 == 0 else 3
            store.answer(item.item_id, rating, at, card_id=item.card.id, elapsed_ms=4000)


@pytest.fixture
def seeder():
    return seed_history


def plain_screenshot(app) -> str:
    """The screen as text (the SVG screenshot with its markup and entities removed), for literal checks."""
    import html
    import re

    svg = app.export_screenshot()
    lines: dict[str, list[str]] = {}
    for line_id, text in re.findall(r'clip-path="url\(#[\w-]+-line-(\d+)\)"[^>]*>([^<]*)<', svg):
        lines.setdefault(line_id, []).append(html.unescape(text).replace("\xa0", " "))
    return "\n".join("".join(parts) for _, parts in sorted(lines.items(), key=lambda kv: int(kv[0])))


@pytest.fixture
def screen_text():
    return plain_screenshot
