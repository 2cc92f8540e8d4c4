"""Settings screen: opened from Home with ``o`` (and from the palette), one row per setting of the registry,
values typed and saved, bad values refused with the parser's message (nothing stored), the scheduler switch
confirmed and replayed, the theme applied at once, the time zone making the context forget its zone,
Escape back to Home, and the whole screen reachable by Tab at 80x24."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest
from textual.widgets import Input, Select

from mi_prep.core.settings import SETTINGS
from mi_prep.tui.screens.home import HomeScreen
from mi_prep.tui.screens.settings import SettingsScreen, shown
from mi_prep.tui.widgets.confirm import Confirm


def parse_error(name: str, text: str) -> str:
    with pytest.raises(ValueError) as info:
        SETTINGS[name].parse(text)
    return str(info.value)


def text_of(widget) -> str:
    return str(widget.render())


async def open_settings(pilot) -> SettingsScreen:
    await pilot.pause()
    await pilot.press("o")
    await pilot.pause()
    screen = pilot.app.screen
    assert isinstance(screen, SettingsScreen)
    return screen


async def tab_to(pilot, name: str) -> Input | Select:
    """Press Tab until the field of ``name`` has the focus (as a user would)."""
    for _ in range(len(SETTINGS) + 1):
        if pilot.app.focused is not None and pilot.app.focused.id == f"field-{name}":
            return pilot.app.focused
        await pilot.press("tab")
        await pilot.pause()
    raise AssertionError(f"Tab never reached {name}; focus is on {pilot.app.focused}")


async def type_into(pilot, name: str, text: str, then: str = "enter") -> None:
    field = await tab_to(pilot, name)
    assert isinstance(field, Input)
    await pilot.press("ctrl+u")  # clear whatever is there (the cursor is at the end)
    await pilot.press(*text)
    assert field.value == text
    await pilot.press(then)
    await pilot.pause()


def test_o_on_home_opens_settings_and_a_typed_limit_is_saved(make_app):
    async def body():
        app = make_app()
        assert "o" not in {b.key for b in app.BINDINGS}  # the app's own keys do not take it
        async with app.run_test(size=(100, 34)) as pilot:
            s = await open_settings(pilot)
            row = s.row("new-per-day")
            assert text_of(s.query_one("#value-new-per-day")) == "20 (default)"
            await type_into(pilot, "new-per-day", "3")
            assert app.store.get_config("new-per-day") == 3
            assert text_of(s.query_one("#value-new-per-day")) == "3"
            msg = s.query_one("#msg-new-per-day")
            assert text_of(msg) == "✓ saved" and msg.has_class("-ok")
            assert isinstance(row.editor, Input) and row.editor.value == "3"
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)
            assert "3 new" in text_of(app.screen.query_one("#summary"))  # Home's limit follows at once

    asyncio.run(body())


@pytest.mark.parametrize("bad", ["abc", "-3"])
def test_a_bad_value_shows_the_parser_message_and_stores_nothing(make_app, bad):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await open_settings(pilot)
            await type_into(pilot, "new-per-day", bad)
            msg = s.query_one("#msg-new-per-day")
            assert text_of(msg) == "✗ " + parse_error("new-per-day", bad)
            assert msg.has_class("-error") and s.row("new-per-day").editor.has_class("-invalid")
            assert "new-per-day" not in app.store.all_config()
            assert text_of(s.query_one("#value-new-per-day")) == "20 (default)"
            # leaving the field (Tab) checks it too; still nothing stored, the message stays
            await pilot.press("shift+tab")
            await pilot.pause()
            await type_into(pilot, "new-per-day", bad + "0", then="tab")
            assert text_of(msg) == "✗ " + parse_error("new-per-day", bad + "0")
            assert "new-per-day" not in app.store.all_config()
            # Escape does not drop the bad edit silently: once it warns and stays, the second time it leaves
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen is s and app.focused is s.row("new-per-day").editor
            assert "new-per-day not saved" in list(app._notifications)[-1].message
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)
            assert "new-per-day" not in app.store.all_config()

    asyncio.run(body())


def test_escape_saves_a_good_edit_still_in_its_field(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await open_settings(pilot)
            field = await tab_to(pilot, "reviews-per-day")
            await pilot.press(*"150")
            assert field.value == "150"
            await pilot.press("escape")
            await pilot.pause()
            assert isinstance(app.screen, HomeScreen)
            assert app.store.get_config("reviews-per-day") == 150

    asyncio.run(body())


def test_scheduler_switch_asks_first_then_replays_every_history(make_app, seeder, clock):
    async def body():
        app = make_app()
        seeder(app.store, app.deckset, clock)
        before = app.store.states()
        assert before and app.store.scheduler_name == "sm2"
        logged = {r["item_id"] for r in app.store.db.query("SELECT item_id FROM review_log")}
        async with app.run_test(size=(100, 34)) as pilot:
            s = await open_settings(pilot)
            select = await tab_to(pilot, "scheduler")
            assert isinstance(select, Select) and select.value == "sm2"

            async def choose_fsrs() -> None:
                await pilot.press("enter")  # opens the list on sm2
                await pilot.pause()
                await pilot.press("down", "enter")
                await pilot.pause()
                assert isinstance(app.screen, Confirm)
                assert "sm2 to fsrs" in app.screen.question

            await choose_fsrs()
            await pilot.press("n")
            await pilot.pause()
            assert app.screen is s and select.value == "sm2"
            assert app.store.scheduler_name == "sm2" and app.store.states() == before
            assert text_of(s.query_one("#msg-scheduler")) == "✓ kept sm2"

            await choose_fsrs()
            await pilot.press("y")
            await pilot.pause()
            assert app.screen is s
            assert app.store.scheduler_name == "fsrs" and select.value == "fsrs"
            after = app.store.states()
            assert after != before and set(after) == set(before)
            assert all(st.scheduler == "fsrs" for st in after.values())
            assert after == {i: app.store.replay_item(i, "fsrs") for i in after}
            n = len(logged)
            assert text_of(s.query_one("#msg-scheduler")) == f"✓ saved: {n} items rescheduled under fsrs"
            assert text_of(s.query_one("#value-scheduler")) == "fsrs"
            assert any(f"{n} items rescheduled" in note.message for note in app._notifications)

    asyncio.run(body())


def test_interview_date_set_refused_and_cleared(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await open_settings(pilot)
            await type_into(pilot, "interview-date", "2026-09-30")
            assert app.store.get_config("interview-date") == "2026-09-30"
            assert text_of(s.query_one("#value-interview-date")) == "2026-09-30"
            await type_into(pilot, "interview-date", "2026-13-01")
            assert text_of(s.query_one("#msg-interview-date")).startswith("✗ ")
            assert app.store.get_config("interview-date") == "2026-09-30"
            await type_into(pilot, "interview-date", "")  # empty: cleared
            assert app.store.get_config("interview-date") is None
            assert "interview-date" not in app.store.all_config()
            assert text_of(s.query_one("#value-interview-date")) == "not set (default)"
            assert text_of(s.query_one("#msg-interview-date")) == "✓ reset to the default"
            await pilot.press("escape")
            await pilot.pause()
            assert app.screen.query_one("#interview").has_class("hidden")

    asyncio.run(body())


def test_leech_threshold_saved_and_out_of_range_refused(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await open_settings(pilot)
            await type_into(pilot, "leech-threshold", "0")
            assert app.store.get_config("leech-threshold") == 0
            assert text_of(s.query_one("#value-leech-threshold")) == "0"
            await type_into(pilot, "leech-threshold", "100")
            assert text_of(s.query_one("#msg-leech-threshold")) == "✗ " + parse_error("leech-threshold", "100")
            assert app.store.get_config("leech-threshold") == 0
            await type_into(pilot, "leech-threshold", "5")
            assert app.store.get_config("leech-threshold") == 5

    asyncio.run(body())


def test_timezone_saved_and_the_context_forgets_its_zone(make_app, monkeypatch):
    async def body():
        app = make_app()
        forgotten: list[bool] = []
        monkeypatch.setattr(app.ctx, "forget_zone", lambda: forgotten.append(True), raising=False)
        async with app.run_test(size=(100, 34)) as pilot:
            s = await open_settings(pilot)
            await type_into(pilot, "timezone", "Mars/Base")
            assert text_of(s.query_one("#msg-timezone")) == "✗ " + parse_error("timezone", "Mars/Base")
            assert "timezone" not in app.store.all_config() and not forgotten
            await type_into(pilot, "timezone", "Europe/Berlin")
            assert app.store.get_config("timezone") == "Europe/Berlin" and forgotten == [True]

    asyncio.run(body())


def test_theme_applies_at_once_and_follows_ctrl_t(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            s = await open_settings(pilot)
            assert "theme" not in app.store.all_config()  # opening the screen stores nothing
            select = s.row("theme").editor
            assert isinstance(select, Select) and select.value == app.theme
            other = next(t for t in sorted(app.available_themes) if t != app.theme)
            await tab_to(pilot, "theme")
            select.value = other  # what picking it in the list does
            await pilot.pause()
            assert app.theme == other and app.store.get_config("theme") == other
            assert text_of(s.query_one("#msg-theme")) == "✓ saved"
            await pilot.press("ctrl+t")  # the app's toggle while Settings is open
            await pilot.pause()
            assert select.value == app.theme == app.store.get_config("theme")
            assert text_of(s.query_one("#value-theme")) == app.theme

    asyncio.run(body())


def test_every_setting_has_a_row_with_its_doc_value_and_editor(make_app):
    async def body():
        app = make_app()
        app.store.set_config("new-per-day", 7)
        async with app.run_test(size=(120, 60)) as pilot:
            s = await open_settings(pilot)
            assert [r.setting.name for r in s.query(".setting-row")] == list(SETTINGS)
            for name, setting in SETTINGS.items():
                row = s.row(name)
                assert text_of(row.query_one(".setting-name")) == name
                assert text_of(row.query_one(".setting-doc")) == setting.doc
                editor = row.editor
                value = app.store.get_config(name)
                stored = name in app.store.all_config()
                label = text_of(s.query_one(f"#value-{name}"))
                if name == "theme":
                    value = app.theme
                expected = shown(value) + ("" if stored else " (default)")
                if name == "timezone" and value == "auto":  # auto also says which zone it found
                    expected += f" = {getattr(app.ctx.zone(), 'key', app.ctx.zone())}"
                assert label == expected, name
                if s.choices(name) is not None:
                    assert isinstance(editor, Select) and editor.value == value
                else:
                    assert isinstance(editor, Input) and editor.placeholder == shown(setting.default)
                    assert editor.value == (shown(value) if stored else "")
            assert s.row("new-per-day").editor.value == "7"
            assert text_of(s.query_one("#value-new-per-day")) == "7"
            # Tab visits every field once, in registry order, and wraps
            seen = []
            for _ in SETTINGS:
                seen.append(app.focused.id)
                await pilot.press("tab")
                await pilot.pause()
            assert seen == [f"field-{n}" for n in SETTINGS] and app.focused.id == seen[0]

    asyncio.run(body())


def test_settings_at_80x24_scrolls_each_field_into_view(make_app, screen_text):
    async def body():
        app = make_app()
        async with app.run_test(size=(80, 24)) as pilot:
            s = await open_settings(pilot)
            body_widget = s.query_one("#settings-body")
            assert body_widget.max_scroll_y > 0
            for name in SETTINGS:
                field = await tab_to(pilot, name)
                await pilot.pause(0.3)  # the scroll animation
                assert body_widget.region.contains_region(field.region), name
                assert field.region.right <= 80
                name_label = s.row(name).query_one(".setting-name")
                assert body_widget.region.contains_region(name_label.region), name  # the whole row shows
            assert "theme" in screen_text(app)
            await type_into(pilot, "lab-threads", "many")
            assert body_widget.region.contains_region(s.query_one("#msg-lab-threads").region)
            msg = s.query_one("#msg-lab-threads")
            assert text_of(msg) == "✗ " + parse_error("lab-threads", "many") and msg.region.height > 0
            assert "✗ 'many'" in screen_text(app)  # on screen, not only in the widget

    asyncio.run(body())


def test_palette_opens_settings(make_app):
    async def body():
        app = make_app()
        async with app.run_test(size=(100, 34)) as pilot:
            await pilot.pause()
            await pilot.press("ctrl+p")
            await pilot.pause()
            await pilot.press(*"settings")
            await pilot.pause(0.5)
            await pilot.press("enter")
            await pilot.pause(0.3)
            assert isinstance(app.screen, SettingsScreen)

    asyncio.run(body())


def test_a_full_disk_says_so_and_shows_nothing_as_saved(make_app, seeder, clock, monkeypatch):
    async def body():
        app = make_app()
        seeder(app.store, app.deckset, clock)
        store = app.store
        before = store.states()
        real_transaction = store.transaction

        def full_disk():
            raise sqlite3.OperationalError("database or disk is full")

        async with app.run_test(size=(100, 34)) as pilot:
            s = await open_settings(pilot)
            monkeypatch.setattr(store, "transaction", full_disk)
            await type_into(pilot, "new-per-day", "9")
            assert app.is_running and app.screen is s
            assert "new-per-day" not in store.all_config()
            assert text_of(s.query_one("#value-new-per-day")) == "20 (default)"
            assert text_of(s.query_one("#msg-new-per-day")).startswith("✗ not saved")
            assert any("disk" in n.message and "not saved" in n.message for n in app._notifications)
            select = s.row("scheduler").editor
            select.value = "fsrs"
            await pilot.pause()
            await pilot.press("y")
            await pilot.pause()
            assert select.value == "sm2" and store.scheduler_name == "sm2" and store.states() == before
            assert text_of(s.query_one("#msg-scheduler")).startswith("✗ still sm2")
            # room again: Enter in the same field saves it
            monkeypatch.setattr(store, "transaction", real_transaction)
            await type_into(pilot, "new-per-day", "9")
            assert store.get_config("new-per-day") == 9

    asyncio.run(body())
