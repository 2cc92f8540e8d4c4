"""Browse screen: layout at 80/100/120 columns, one-line filter row, sorting, empty state, `e` edit,
literal (never markup) deck text."""

from __future__ import annotations

import asyncio
from contextlib import nullcontext
from datetime import timedelta
from pathlib import Path

import pytest
from textual.widgets import DataTable, Input, Select, Static

from mi_prep.core.browse import sort_value
from mi_prep.tui.screens.browse import BrowseScreen

ODD = """\
id: odd
name: "[bold]A very long deck name about sparse autoencoders [12%] and more"
tags: ["[12%]", "[A][B]"]
cards:
  - id: odd-one
    front: "Progress [12%] of [A][B] with [bold]not bold[/bold]"
    back: yes
  - id: odd-two
    front: Zebra question
    back: no
"""
ODD_NAME = "[bold]A very long deck name about sparse autoencoders [12%] and more"
FIXED = ("State", "Due", "Ease", "Lapses")


def screen_lines(app) -> list[str]:
    """The screen as plain text, one string per terminal row."""
    return [strip.text for strip in app.screen._compositor.render_strips()]


def header_line(app) -> str:
    return next(line for line in screen_lines(app) if line.lstrip().startswith("Question"))


async def open_browse(app, pilot) -> BrowseScreen:
    await pilot.pause()
    await pilot.press("b")
    await pilot.pause()
    screen = app.screen
    assert isinstance(screen, BrowseScreen)
    return screen


def seed(app, clock) -> None:
    """Varied states: reviews with different due dates / ease / lapses, a learning card, a suspended one."""
    t = clock.t
    store = app.store
    for item_id, ratings in (
        ("qk-ov", (3, 3, 3)),
        ("attn-code", (3, 4, 4)),
        ("sae-def", (3, 3, 1, 3)),
        ("sup-def#c1", (4, 3)),
    ):
        when = t - timedelta(days=30)
        for rating in ratings:
            store.answer(item_id, rating, when, card_id=item_id.split("#")[0])
            when += timedelta(days=6)
    store.answer("residual-stream", 1, t - timedelta(minutes=5), card_id="residual-stream")
    store.suspend("induction-explain", t)


def check_order(screen: BrowseScreen, key: str, descending: bool) -> None:
    now = screen.app.now()
    values = [sort_value(screen.by_id[i], screen.states.get(i), key, now) for i in screen.shown]
    have = [v for v in values if v is not None]
    assert values[: len(have)] == have, f"{key}: missing values must come last"
    assert have == sorted(have, reverse=descending), f"{key} {'desc' if descending else 'asc'}: {values}"
    assert len(set(map(str, have))) >= 2, f"{key}: test data should have at least two distinct values"


@pytest.mark.parametrize("size", [(80, 24), (100, 30), (120, 40)])
def test_state_columns_visible_and_fit(make_app, clock, size):
    async def body():
        app = make_app()
        seed(app, clock)
        async with app.run_test(size=size) as pilot:
            s = await open_browse(app, pilot)
            table = s.query_one("#browse-table", DataTable)
            keys = [c.key.value for c in table.columns.values()]
            for key in ("q", "deck", "state", "due", "ease", "lapses"):
                assert key in keys
            assert ("tags" in keys) == (size[0] >= 100)
            used = sum(c.get_render_width(table) for c in table.columns.values())
            assert used <= table.size.width - table.styles.scrollbar_size_vertical
            assert table.virtual_size.width <= table.size.width  # no horizontal scrolling
            assert table.scroll_x == 0 and not table.show_horizontal_scrollbar
            header = header_line(app)
            for label in FIXED:
                assert label in header
            # the question takes what is left: it is the widest column
            q = table.columns[next(k for k in table.columns if k.value == "q")]
            assert q.width == max(c.width for c in table.columns.values())
            # a long question is cut with an ellipsis, the state columns are not
            row = next(line for line in screen_lines(app) if "Explain how an" in line)
            assert "…" in row and row.rstrip().endswith("0")

    asyncio.run(body())


def test_columns_refit_on_resize(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(120, 40)) as pilot:
            s = await open_browse(app, pilot)
            table = s.query_one("#browse-table", DataTable)
            wide_q = s.columns[0].width
            assert "tags" in [c.key for c in s.columns]
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            await pilot.pause()
            assert "tags" not in [c.key for c in s.columns]
            assert s.columns[0].key == "q" and s.columns[0].width < wide_q
            used = sum(c.get_render_width(table) for c in table.columns.values())
            assert used <= table.size.width - 2
            for label in FIXED:
                assert label in header_line(app)
            await pilot.resize_terminal(100, 30)
            await pilot.pause()
            await pilot.pause()
            assert "tags" in [c.key for c in s.columns]
            for label in FIXED:
                assert label in header_line(app)

    asyncio.run(body())


@pytest.mark.parametrize("width", [80, 100, 120])
def test_filter_row_stays_one_line_with_long_names(make_app, decks_dir, width):
    (decks_dir / "odd.yaml").write_text(ODD)

    async def body():
        app = make_app()
        async with app.run_test(size=(width, 24)) as pilot:
            s = await open_browse(app, pilot)
            s.query_one("#f-deck", Select).value = "odd"
            s.query_one("#f-tag", Select).value = "[A][B]"
            s.query_one("#f-state", Select).value = "new"
            await pilot.pause(0.3)
            assert s.shown == ["odd-one", "odd-two"]
            assert s.query_one("#browse-filters").size.height == 1
            lines = screen_lines(app)
            filters = lines[1]
            assert "[bold]A v" in filters and "…" in filters and "[A][B]" in filters
            assert lines[2].lstrip().startswith("2 of ")  # the status line is right below
            assert lines[3].lstrip().startswith("Question")
            # the deck column cuts the long name too
            assert any("[bold]A" in line and "…" in line for line in lines[4:6])

    asyncio.run(body())


def test_sort_by_each_column_and_reverse(make_app, clock):
    async def body():
        app = make_app()
        seed(app, clock)
        async with app.run_test(size=(120, 40)) as pilot:
            s = await open_browse(app, pilot)
            file_order = list(s.shown)
            status = s.query_one("#browse-status", Static)
            assert "file order" in str(status.render())
            for key, label in (
                ("q", "Question"),
                ("deck", "Deck"),
                ("tags", "Tags"),
                ("state", "State"),
                ("due", "Due"),
                ("ease", "Ease"),
                ("lapses", "Lapses"),
            ):
                await pilot.press("o")
                await pilot.pause()
                assert s.sort_key == key and not s.sort_desc
                if key != "tags":  # the fixture decks' tags are too alike to tell the order apart
                    check_order(s, key, descending=False)
                assert f"sorted by {label} ↑" in str(status.render())
                assert f"{label} ↑" in header_line(app)
                await pilot.press("O")
                await pilot.pause()
                assert s.sort_desc
                if key != "tags":
                    check_order(s, key, descending=True)
                assert f"sorted by {label} ↓" in str(status.render())
            await pilot.press("o")  # back to the file order
            await pilot.pause()
            assert s.sort_key is None and s.shown == file_order

            # due: new cards last in both directions, soonest first ascending
            s.sort_key, s.sort_desc = "due", False
            s.refresh_table()
            news = [i for i in s.shown if s.states.get(i) is None]
            assert s.shown[-len(news) :] == news
            s.sort_desc = True
            s.refresh_table()
            assert s.shown[-len(news) :] == news
            # question: alphabetical
            s.sort_key, s.sort_desc = "q", False
            s.refresh_table()
            questions = [s.by_id[i].question().casefold() for i in s.shown]
            assert questions == sorted(questions)

    asyncio.run(body())


def test_click_header_sorts_and_toggles(make_app, clock):
    async def body():
        app = make_app()
        seed(app, clock)
        async with app.run_test(size=(100, 30)) as pilot:
            s = await open_browse(app, pilot)
            table = s.query_one("#browse-table", DataTable)
            header = header_line(app)
            x = header.index("Lapses") - table.region.x
            await pilot.click("#browse-table", offset=(x, 0))
            await pilot.pause()
            assert (s.sort_key, s.sort_desc) == ("lapses", False)
            check_order(s, "lapses", descending=False)
            x = header_line(app).index("Lapses") - table.region.x
            await pilot.click("#browse-table", offset=(x, 0))
            await pilot.pause()
            assert (s.sort_key, s.sort_desc) == ("lapses", True)
            check_order(s, "lapses", descending=True)
            x = header_line(app).index("Ease")
            await pilot.click("#browse-table", offset=(x, 0))
            await pilot.pause()
            assert (s.sort_key, s.sort_desc) == ("ease", False)

    asyncio.run(body())


def test_cursor_stays_on_card_after_sort_and_filter(make_app, clock):
    async def body():
        app = make_app()
        seed(app, clock)
        async with app.run_test(size=(100, 30)) as pilot:
            s = await open_browse(app, pilot)
            table = s.query_one("#browse-table", DataTable)
            table.move_cursor(row=s.shown.index("attn-code"))
            await pilot.pause()
            for keys in ("o", "o", "O", "o", "o"):
                await pilot.press(keys)
                await pilot.pause()
                assert s.current_item_id() == "attn-code"
                assert table.cursor_row == s.shown.index("attn-code")
            s.query_one("#f-deck", Select).value = "circuits"
            await pilot.pause(0.3)
            assert s.current_item_id() == "attn-code"
            await pilot.press("slash", *"softmax", "enter")
            await pilot.pause(0.3)
            assert s.shown == ["attn-code"] and s.current_item_id() == "attn-code"

    asyncio.run(body())


def test_empty_state_message_appears_and_clears(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            s = await open_browse(app, pilot)
            table = s.query_one("#browse-table", DataTable)
            empty = s.query_one("#browse-empty", Static)
            assert table.display and not empty.display
            await pilot.press("slash", *"zzzz")
            await pilot.pause(0.3)
            assert s.shown == [] and not table.display and empty.display
            text = "\n".join(screen_lines(app))
            assert "No cards match search “zzzz”" in text
            assert "Esc or ctrl+u in the search box clears the search" in text
            assert s.check_action("edit", ()) is None and s.check_action("toggle_suspend", ()) is None
            await pilot.press("enter")  # nothing to go to: the focus stays in the search box
            await pilot.pause()
            assert app.focused is s.query_one("#browse-search", Input)
            await pilot.resize_terminal(100, 30)  # resized while empty: the columns still fit after
            await pilot.pause()
            await pilot.press("escape")  # Esc in the search box clears it
            await pilot.pause(0.3)
            assert s.query_one("#browse-search", Input).value == ""
            assert len(s.shown) == 8 and table.display and not empty.display
            assert app.focused is table and s.check_action("edit", ()) is True
            assert "tags" in [c.key for c in s.columns]
            assert sum(c.get_render_width(table) for c in table.columns.values()) <= 98
            await pilot.resize_terminal(80, 24)
            await pilot.pause()
            # a filter that matches nothing, then `c` clears every filter
            s.query_one("#f-state", Select).value = "buried"
            s.query_one("#f-deck", Select).value = "circuits"
            await pilot.pause(0.3)
            assert empty.display
            msg = str(empty.render())
            assert "deck “Circuits”" in msg and "state “buried”" in msg and "all decks" in msg
            await pilot.press("c")
            await pilot.pause(0.3)
            assert len(s.shown) == 8 and table.display and not empty.display
            assert s.query_one("#f-state", Select).value is Select.NULL
            assert s.query_one("#f-deck", Select).value is Select.NULL
            # Esc with the table focused still goes Home
            await pilot.press("escape")
            await pilot.pause()
            assert not isinstance(app.screen, BrowseScreen)

    asyncio.run(body())


def test_edit_opens_editor_at_card_line_and_reloads(make_app, monkeypatch, decks_dir):
    calls = []
    monkeypatch.setenv("EDITOR", "myeditor --wait")

    def fake_run(cmd, check):
        calls.append(cmd)
        path = Path(cmd[-1])
        path.write_text(path.read_text().replace("What does this compute?", "What does this code compute?"))

    monkeypatch.setattr("mi_prep.tui.editor.subprocess.run", fake_run)

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            s = await open_browse(app, pilot)
            monkeypatch.setattr(app, "suspend", lambda: nullcontext())
            table = s.query_one("#browse-table", DataTable)
            await pilot.press("o")  # sort by question: the card moves, the cursor follows it
            await pilot.pause()
            table.move_cursor(row=s.shown.index("attn-code"))
            await pilot.pause()
            item = s.by_id["attn-code"]
            await pilot.press("e")
            await pilot.pause()
            assert calls == [["myeditor", "--wait", f"+{item.line}", str(decks_dir / "circuits.yaml")]]
            assert item.line > 1
            for _ in range(20):  # the reload runs in a worker thread
                await pilot.pause(0.1)
                if s.by_id["attn-code"].card.front == "What does this code compute?":
                    break
            assert s.by_id["attn-code"].card.front == "What does this code compute?"
            assert s.current_item_id() == "attn-code"
            assert any("What does this code compute?" in line for line in screen_lines(app))

    asyncio.run(body())


def test_edit_without_editor_says_where_the_card_is(make_app, monkeypatch):
    monkeypatch.delenv("EDITOR", raising=False)
    monkeypatch.delenv("VISUAL", raising=False)

    async def body():
        app = make_app()
        async with app.run_test(size=(100, 30)) as pilot:
            s = await open_browse(app, pilot)
            await pilot.press("e")
            await pilot.pause()
            item = s.by_id[s.current_item_id()]
            assert any(f"{item.deck.path}:{item.line}" in str(n.message) for n in app._notifications)

    asyncio.run(body())


def test_literal_brackets_in_table_filters_and_status(make_app, decks_dir):
    (decks_dir / "odd.yaml").write_text(ODD)

    async def body():
        app = make_app()
        async with app.run_test(size=(120, 30)) as pilot:
            s = await open_browse(app, pilot)
            table = s.query_one("#browse-table", DataTable)
            row = table.get_row("odd-one")
            assert "Progress [12%] of [A][B] with [bold]not bold[/bold]" in str(row[0])
            assert str(row[1]) == ODD_NAME
            assert "[12%] [A][B]" in str(row[2])
            text = "\n".join(screen_lines(app))
            assert "Progress [12%] of [A][B] with [bold]no" in text
            # the filters: deck name and tag shown literally
            s.query_one("#f-deck", Select).value = "odd"
            s.query_one("#f-tag", Select).value = "[12%]"
            await pilot.pause(0.3)
            assert s.shown == ["odd-one", "odd-two"]
            filters = screen_lines(app)[1]
            assert "[bold]A very" in filters and "[12%]" in filters
            # the dropdown lists them literally too
            s.query_one("#f-tag", Select).focus()
            await pilot.press("enter")
            await pilot.pause()
            text = "\n".join(screen_lines(app))
            assert "[A][B]" in text and "[12%]" in text
            await pilot.press("escape")
            await pilot.pause()
            # the empty-state message and status line show the search literally
            s.query_one("#browse-search", Input).value = "[bold]nothing [12%]"
            await pilot.pause(0.3)
            text = "\n".join(screen_lines(app))
            assert "search “[bold]nothing [12%]”" in text
            assert "deck “[bold]A very long deck name" in text and "tag “[12%]”" in text
            assert "0 of 10 cards" in text

    asyncio.run(body())
