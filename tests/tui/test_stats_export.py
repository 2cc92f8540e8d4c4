"""Stats and Export screens: full topic names, bars that match their numbers, integer plot ticks,
keyboard scrolling, names shown literally, and the export result visible with a toast, at 80x24 to 120x40."""

from __future__ import annotations

import asyncio
import re
from datetime import timedelta
from pathlib import Path

import pytest
from textual.geometry import Region
from textual.widgets import SelectionList

from mi_prep.tui.screens.export import ExportScreen
from mi_prep.tui.screens.stats import StatsScreen, TopicTable, int_ticks, topic_lines

LONG_TOPIC = "a-long-topic-name-that-was-cut-at-14-chars"  # 42: at 80 columns the bars shrink to fit it
MARKUP_TOPIC = "[b]bold[/b]-topic"
MARKUP_DECK = "[red]Markup[/red] deck [x]"


def _deck(deck_id: str, name: str, tags: list[str], n: int) -> str:
    tag_list = ", ".join(f"'{t}'" for t in tags)
    cards = "".join(f"  - id: {deck_id}-{i}\n    front: Q{i}?\n    back: A{i}.\n    source: me\n" for i in range(n))
    return f"id: {deck_id}\nname: '{name}'\ntags: [{tag_list}]\ncards:\n{cards}"


@pytest.fixture
def many_decks(tmp_path: Path) -> Path:
    """13 decks, like the bundled set: a long topic name, a topic and a deck name with [brackets]."""
    d = tmp_path / "many"
    d.mkdir()
    (d / "long.yaml").write_text(_deck("long", "Long", [LONG_TOPIC], 6))
    reverse = "  - id: markup-rev\n    type: reverse\n    front: T\n    back: M\n    source: me\n"
    (d / "markup.yaml").write_text(_deck("markup", MARKUP_DECK, [MARKUP_TOPIC], 4) + reverse)
    for k in range(11):
        (d / f"d{k}.yaml").write_text(_deck(f"d{k}", f"Deck number {k}", [f"topic-{k}"], 3 + k))
    return d


def seed(app, clock, days: int = 30) -> None:
    """Answer the first cards Good on their due days, a few Again, so topics get different numbers."""
    from mi_prep.core.session import items_for

    items = items_for(app.deckset)
    start = clock.t - timedelta(days=days)
    for d in range(days):
        when = start + timedelta(days=d)
        states = app.store.states()
        for k, item in enumerate(items[: 4 + d]):
            s = states.get(item.item_id)
            if s is not None and s.due is not None and s.due > when:
                continue
            rating = 1 if (k + d) % 9 == 0 else 3
            app.store.answer(item.item_id, rating, when + timedelta(minutes=k), card_id=item.card.id)


ROW = re.compile(
    r"^(?P<name>\S.*?)?\s+(?P<mbar>[█░]+) +(?P<mpct>\d+%) +"
    r"(?P<rbar>[█░]+) +(?P<rpct>\d+%|-) +\d+/\d+"
)


def parse_rows(lines: list[str]) -> dict[str, tuple[float, float, float | None, float | None]]:
    """topic -> (mastery bar share, mastery %, retention bar share, retention %); a name alone on a
    line (too long for a bar) belongs to the row below it."""
    rows: dict[str, tuple] = {}
    pending = None
    for line in lines[1:]:
        m = ROW.match(line)
        if not m:
            pending = line.strip()
            continue
        name = m["name"].strip() if m["name"] else pending
        pending = None
        share = lambda bar: bar.count("█") / len(bar)  # noqa: E731
        rows[name] = (
            share(m["mbar"]),
            int(m["mpct"][:-1]) / 100,
            share(m["rbar"]),
            None if m["rpct"] == "-" else int(m["rpct"][:-1]) / 100,
        )
    return rows


def rendered(widget) -> list[str]:
    """What the widget actually draws (after any wrapping), one string per screen row."""
    w, h = widget.size
    return [strip.text.rstrip() for strip in widget.render_lines(Region(0, 0, w, h))]


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
def test_stats_topic_rows_are_whole_and_bars_match(make_app, many_decks, clock, size):
    async def body():
        app = make_app(deck_paths=[many_decks])
        seed(app, clock)
        async with app.run_test(size=size) as pilot:
            await pilot.pause()
            await pilot.press("s")
            await pilot.pause()
            s = app.screen
            assert isinstance(s, StatsScreen)
            table = s.query_one("#stats-topics", TopicTable)
            lines = rendered(table)
            assert all(len(line) <= table.size.width for line in lines)
            rows = parse_rows(lines)
            topics = {t.topic: t for t in s.stats.topics}
            assert set(rows) == set(topics)  # every topic, one row each, full name (the long and the [b] one)
            assert len(lines) == 1 + len(topics), "\n".join(lines)
            assert any(LONG_TOPIC in line for line in lines) and any(MARKUP_TOPIC in line for line in lines)
            for name, (mbar, mpct, rbar, rpct) in rows.items():
                t = topics[name]
                assert mpct == round(t.mastery, 2)
                assert (rpct is None) == (t.retention is None)
                width = len(ROW.match(next(line for line in lines[1:] if ROW.match(line)))["mbar"])
                assert abs(mbar - mpct) <= 0.5 / width + 0.005, (name, mbar, mpct)
                if rpct is not None:
                    assert rpct == round(t.retention, 2) and abs(rbar - rpct) <= 0.5 / width + 0.005
            assert any(t.mastery > 0 for t in topics.values()) and any(t.mastery == 0 for t in topics.values())
            # the count plots: whole-number y ticks only
            for pid in ("#plot-reviews", "#plot-forecast"):
                plot_lines = rendered(s.query_one(pid))
                labels = [line.split("┤")[0].strip() for line in plot_lines if "┤" in line]
                assert labels and all(re.fullmatch(r"\d+", label) for label in labels), labels

    asyncio.run(body())


def test_topic_lines_shrink_bars_never_names():
    from mi_prep.core.stats import TopicStat

    def stat(name, mastery):
        return TopicStat(name, 10, 5, 8, 6, 2.5, 1, mastery=mastery, mature=3)

    topics = [stat("short", 0.5), stat("x" * 40, 0.25)]
    wide = [line.plain for line in topic_lines(topics, 116)]
    narrow = [line.plain for line in topic_lines(topics, 76)]
    assert all("x" * 40 in "\n".join(v) for v in (wide, narrow))
    assert all(len(line) <= 76 for line in narrow)
    assert narrow[1].count("█") + narrow[1].count("░") < wide[1].count("█") + wide[1].count("░")
    assert "mature" in wide[0] and "reviews" in wide[0]
    # a name too long for even a small bar gets a line of its own; nothing is cut or wider than asked
    huge = [line.plain for line in topic_lines([stat("y" * 70, 1.0), stat("short", 0.0)], 76)]
    assert huge[1] == "y" * 70 and huge[2].startswith(" ") and "100%" in huge[2]
    assert all(len(line) <= 76 for line in huge)


def test_int_ticks():
    assert int_ticks(0) == [0, 1]
    assert int_ticks(3) == [0, 1, 2, 3]
    assert int_ticks(7) == [0, 2, 4, 6, 8]
    assert int_ticks(13) == [0, 5, 10, 15]
    assert int_ticks(35) == [0, 10, 20, 30, 40]
    assert int_ticks(180) == [0, 50, 100, 150, 200]


def test_stats_scrolls_by_keyboard_without_tab(make_app, many_decks, clock):
    async def body():
        app = make_app(deck_paths=[many_decks])
        seed(app, clock)
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.pause()
            await pilot.press("s")
            await pilot.pause()
            scroll = app.screen.query_one("#stats-body")
            assert scroll.max_scroll_y > 0 and scroll.scroll_y == 0
            await pilot.press("down")
            await pilot.pause()
            assert scroll.scroll_y == 1
            await pilot.press("pagedown")
            await pilot.pause()
            assert scroll.scroll_y > 5
            await pilot.press("end")
            await pilot.pause()
            assert scroll.scroll_y == scroll.max_scroll_y

    asyncio.run(body())


def _prompts(screen) -> list[str]:
    sl = screen.query_one("#export-decks", SelectionList)
    return [str(sl.get_option_at_index(i).prompt) for i in range(sl.option_count)]


@pytest.mark.parametrize("size", [(80, 24), (100, 30)])
def test_export_success_toasts_and_result_is_visible(make_app, many_decks, tmp_path, size):
    async def body():
        app = make_app(deck_paths=[many_decks])
        async with app.run_test(size=size) as pilot:
            await pilot.press("x")
            await pilot.pause()
            s = app.screen
            assert isinstance(s, ExportScreen)
            prompts = _prompts(s)
            assert f"{MARKUP_DECK}  (5 → 6)" in prompts  # literal name; 5 cards -> 6 Anki cards (a reverse)
            assert "Deck number 0  (3 → 3)" in prompts
            out = tmp_path / f"out-{size[0]}.apkg"
            s.query_one("#export-path").value = str(out)
            await pilot.press("ctrl+e")
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.pause()
            assert out.exists()
            result = s.query_one("#export-result")
            assert "Exported 13 decks" in str(result.render())
            body_region = s.query_one("#export-body").region
            assert result.region.height > 0 and body_region.contains_region(result.region)
            notes = list(app._notifications)
            assert notes and notes[-1].title == "Export" and notes[-1].severity == "information"
            assert str(out) in notes[-1].message and "Anki cards" in notes[-1].message
            for toast in app.screen.query("Toast"):
                assert not toast.region.overlaps(result.region)

    asyncio.run(body())


def test_export_failure_toasts_an_error_and_ctrl_e_works_from_the_path(make_app, many_decks, tmp_path):
    async def body():
        app = make_app(deck_paths=[many_decks])
        async with app.run_test(size=(80, 24)) as pilot:
            await pilot.press("x")
            await pilot.pause()
            s = app.screen
            path = s.query_one("#export-path")
            path.value = str(tmp_path / "missing-dir" / "[x].apkg")
            path.focus()
            await pilot.pause()
            await pilot.press("ctrl+e")  # the footer's key works with the cursor in the path too
            await app.workers.wait_for_complete()
            await pilot.pause()
            await pilot.pause()
            result = s.query_one("#export-result")
            assert "Export failed" in str(result.render()) and "[x].apkg" in str(result.render())
            assert s.query_one("#export-body").region.contains_region(result.region)
            note = list(app._notifications)[-1]
            assert note.severity == "error" and "[x].apkg" in note.message
            s.query_one("#export-decks", SelectionList).deselect_all()
            await pilot.press("ctrl+e")
            await pilot.pause()
            assert list(app._notifications)[-1].severity == "warning"
            assert "Choose at least one deck" in str(result.render())

    asyncio.run(body())
