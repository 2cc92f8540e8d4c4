"""Settings: every setting of :data:`mi_prep.core.settings.SETTINGS`, one row each, edited in place.

A row shows the setting's name, its current value ("(default)" while it is not stored) and its doc line,
and an editor: a ``Select`` for a setting with a fixed list of choices (scheduler, theme), an ``Input``
for the others, whose placeholder is the default. Enter, leaving the field or its Save button parses the
text with ``Setting.parse`` and stores it; a bad value shows the parser's message beside the field and
stores nothing; an empty field resets the setting to its default. A setting added to the registry gets
a row here without new code.

Special cases: switching the scheduler replays every card's history, so it asks first and says how many
items were rebuilt; the theme applies at once; a new time zone makes the app's context forget the zone
it cached. Escape goes back (an edit that was not saved yet is saved first; a bad one keeps the screen
open once, so it is not lost silently).
"""

from __future__ import annotations

from typing import Any

from rich.text import Text
from textual import events
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.timer import Timer
from textual.widgets import Button, Header, Input, Select, Static

from mi_prep.core.scheduling import study_day
from mi_prep.core.scheduling.registry import SCHEDULERS
from mi_prep.core.settings import SETTINGS, Setting, saved_note
from mi_prep.tui.screens.base import MiPrepScreen
from mi_prep.tui.storage import guarded
from mi_prep.tui.widgets.confirm import Confirm
from mi_prep.tui.widgets.footer import AppFooter

UNSET: Any = object()
"""``store.get_config(key, UNSET)`` returns this when the setting is not stored (it means its default)."""

SAVED_SECONDS = 3.0
"""How long "saved" stays beside a field."""


def shown(value: Any) -> str:
    """A setting's value as the user types it (``None``: not set)."""
    return "not set" if value is None else str(value)


class SettingRow(Horizontal):
    """One setting: its name, current value and doc on the left; its editor and a message on the right."""

    def __init__(self, setting: Setting, choices: list[str] | None, current: Any, stored: bool) -> None:
        super().__init__(id=f"row-{setting.name}", classes="setting-row")
        self.setting = setting
        self.choices = choices
        self.current = current
        self.stored = stored
        self._clear_timer: Timer | None = None

    @property
    def saved_text(self) -> str:
        """What the Input holds when nothing is pending: the stored value, or nothing (the default)."""
        return shown(self.current) if self.stored and self.current is not None else ""

    def compose(self) -> ComposeResult:
        name = self.setting.name
        with Vertical(classes="setting-text"):
            with Horizontal(classes="setting-head"):
                yield Static(name, classes="setting-name", markup=False)
                yield Static("", id=f"value-{name}", classes="setting-value", markup=False)
            yield Static(self.setting.doc, classes="setting-doc", markup=False)
        with Vertical(classes="setting-field"):
            with Horizontal(classes="setting-editor"):
                if self.choices is not None:
                    yield Select(
                        [(c, c) for c in self.choices], value=self.current, allow_blank=False, id=f"field-{name}"
                    )
                else:
                    default = self.setting.default
                    yield Input(self.saved_text, placeholder=shown(default), id=f"field-{name}")
                    save = Button("Save", id=f"save-{name}", classes="setting-save")
                    save.can_focus = False  # Tab goes field to field; Enter in the field saves
                    yield save
            yield Static("", id=f"msg-{name}", classes="setting-msg")

    def on_mount(self) -> None:
        self.show_value()

    @property
    def editor(self) -> Input | Select[str]:
        editor = self.query_one(f"#field-{self.setting.name}")
        assert isinstance(editor, (Input, Select))
        return editor

    def show_value(self) -> None:
        label = self.query_one(f"#value-{self.setting.name}", Static)
        text = shown(self.current) + ("" if self.stored else " (default)")
        if self.setting.name == "timezone" and self.current == "auto":  # say which zone auto found
            zone = self.app.ctx.zone()  # type: ignore[attr-defined]
            text += f" = {getattr(zone, 'key', zone)}"
        label.update(Text(text))

    def set_value(self, value: Any, stored: bool) -> None:
        """The value now in the store: shown in the head and in the editor."""
        self.current, self.stored = value, stored
        self.show_value()
        editor = self.editor
        if isinstance(editor, Input):
            editor.value = self.saved_text
        elif value in (self.choices or ()) and editor.value != value:
            with editor.prevent(Select.Changed):
                editor.value = value
        editor.remove_class("-invalid")

    def message(self, text: str, *, ok: bool) -> None:
        """``✓ text`` for a few seconds (ok) or ``✗ text`` until the next save (an error)."""
        msg = self.query_one(f"#msg-{self.setting.name}", Static)
        if self._clear_timer is not None:
            self._clear_timer.stop()
            self._clear_timer = None
        msg.update(Text(("✓ " if ok else "✗ ") + text))
        msg.set_class(ok, "-ok")
        msg.set_class(not ok, "-error")
        self.editor.set_class(not ok, "-invalid")
        if ok and "note:" not in text:  # a warning stays until the next save
            self._clear_timer = self.set_timer(SAVED_SECONDS, self.clear_message)
        self.call_after_refresh(msg.scroll_visible, animate=False)  # an error below the fold is not missed

    def clear_message(self) -> None:
        msg = self.query_one(f"#msg-{self.setting.name}", Static)
        msg.update("")
        msg.remove_class("-ok", "-error")
        self.editor.remove_class("-invalid")


class SettingsScreen(MiPrepScreen[None]):
    BINDINGS = [Binding("escape", "close", "Back")]

    def __init__(self) -> None:
        super().__init__()
        self._leave_armed = False

    def choices(self, name: str) -> list[str] | None:
        """The values a setting can take when they are a fixed list (shown as a Select), else None."""
        if name == "scheduler":
            return list(SCHEDULERS)
        if name == "theme":
            return sorted(self.app.available_themes)
        return None

    def stored(self, name: str) -> tuple[Any, bool]:
        """(the value in effect, whether it is stored rather than the default)."""
        value = self.mi_app.store.get_config(name, UNSET)
        if value is UNSET:
            return SETTINGS[name].default, False
        return value, True

    def compose(self) -> ComposeResult:
        yield Header()
        body = VerticalScroll(id="settings-body")
        body.can_focus = False  # Tab goes field to field (focusing one scrolls it into view)
        with body:
            yield Static(
                Text(
                    "Enter, leaving a field or Save stores it; an empty field resets it to its default. "
                    "Tab moves between fields, Escape goes back."
                ),
                id="settings-intro",
            )
            for setting in SETTINGS.values():
                value, stored = self.stored(setting.name)
                choices = self.choices(setting.name)
                if setting.name == "theme":
                    value = self.app.theme  # the theme in use (a stored one this app lacks is not applied)
                yield SettingRow(setting, choices, value, stored)
        yield AppFooter()

    def on_mount(self) -> None:
        self.sub_title = "Settings"
        self.watch(self.app, "theme", self._theme_changed, init=False)
        first = next(iter(SETTINGS))
        self.row(first).editor.focus(scroll_visible=False)

    def row(self, name: str) -> SettingRow:
        return self.query_one(f"#row-{name}", SettingRow)

    @staticmethod
    def _setting_of(widget_id: str | None) -> str:
        return (widget_id or "").split("-", 1)[1]

    # ---- events ------------------------------------------------------------------
    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        self.commit(self._setting_of(event.input.id), explicit=True)

    def on_input_blurred(self, event: Input.Blurred) -> None:
        if self.is_attached and self.app.screen is self:  # not while leaving or under a dialog
            self.commit(self._setting_of(event.input.id), explicit=False)

    def on_input_changed(self, event: Input.Changed) -> None:
        self._leave_armed = False

    def on_button_pressed(self, event: Button.Pressed) -> None:
        if event.button.id and event.button.id.startswith("save-"):
            event.stop()
            self.commit(self._setting_of(event.button.id), explicit=True)

    def on_select_changed(self, event: Select.Changed) -> None:
        event.stop()
        name = self._setting_of(event.select.id)
        if event.value is Select.NULL:
            return
        value = str(event.value)
        if value == self.row(name).current:  # also the Changed a Select posts when it is mounted
            return
        if name == "scheduler":
            self.ask_scheduler(value)
        elif name == "theme":
            self.apply_theme(value)
        else:
            self.save(name, SETTINGS[name].parse(value))

    def on_descendant_focus(self, event: events.DescendantFocus) -> None:
        """Keep the whole row (its name and doc too) in view when Tab reaches its field."""
        for node in event.widget.ancestors:
            if isinstance(node, SettingRow):
                self.call_after_refresh(node.scroll_visible, animate=False)
                break

    # ---- saving --------------------------------------------------------------------
    def commit(self, name: str, *, explicit: bool) -> bool:
        """Parse the text typed for ``name`` and store it. ``explicit`` (Enter, Save): also confirm an
        unchanged value; otherwise (leaving the field) an unchanged one is left alone. Returns whether the
        field now holds nothing unsaved."""
        row = self.row(name)
        editor = row.editor
        if not isinstance(editor, Input):
            return True
        text = editor.value.strip()
        try:
            value = SETTINGS[name].parse(text) if text else None
        except ValueError as exc:
            row.message(f"{exc}" or f"not a valid {name}", ok=False)
            return False
        if not explicit and text == row.saved_text:
            row.clear_message()
            return True
        if name == "scheduler":  # a registry that shows it as a text field still asks first
            self.ask_scheduler(value or SETTINGS[name].default)
            return True
        return self.save(name, value)

    def save(self, name: str, value: Any) -> bool:
        """Store ``value`` (None: back to the default) and show it; a refused value is shown as an error."""
        row = self.row(name)
        store = self.mi_app.store
        if value == SETTINGS[name].default:
            value = None  # the default itself: stored as "not set", so the row says "(default)"
        try:
            ok, _ = guarded(self.mi_app, store.set_config, name, value)
        except ValueError as exc:  # the store refused it (a value the parser let through)
            row.message(str(exc), ok=False)
            return False
        if not ok:
            row.message("not saved: the database refused it (see the notice); Enter tries again", ok=False)
            return False
        if name == "timezone":
            self.mi_app.ctx.forget_zone()
        current, stored = self.stored(name)
        row.set_value(current, stored)
        note = saved_note(name, value, study_day(self.mi_app.now()))
        row.message(
            f"saved - note: {note}" if note else "saved" if value is not None else "reset to the default", ok=True
        )
        return True

    def ask_scheduler(self, name: str) -> None:
        store = self.mi_app.store
        old = store.scheduler_name
        row = self.row("scheduler")
        if name == old:
            return

        def answered(yes: bool | None) -> None:
            if not yes:
                row.set_value(*self.stored("scheduler"))
                row.message(f"kept {old}", ok=True)
                return
            ok, n = guarded(self.mi_app, store.set_scheduler, name)
            if not ok:
                row.set_value(*self.stored("scheduler"))
                row.message(f"still {old}: the database refused the switch (see the notice)", ok=False)
                return
            row.set_value(*self.stored("scheduler"))
            done = f"{n} item{'s' if n != 1 else ''} rescheduled under {name}"
            row.message(f"saved: {done}", ok=True)
            self.notify(f"Scheduler is now {name}: {done} by replaying their history.", title="Settings")

        self.app.push_screen(
            Confirm(
                f"Switch the scheduler from {old} to {name}?\n\nEvery card's review history is replayed "
                f"under {name}, so due dates and intervals change. Switching back replays it again.",
                yes="Switch",
            ),
            answered,
        )

    def apply_theme(self, theme: str) -> None:
        if theme not in self.app.available_themes:
            self.row("theme").message(f"{theme!r} is not a theme of this app", ok=False)
            return
        self.app.theme = theme  # applies at once; the app's theme watcher stores it too
        if self.mi_app.store.get_config("theme", UNSET) != theme:
            self.save("theme", theme)
        else:
            row = self.row("theme")
            row.set_value(theme, True)
            row.message("saved", ok=True)

    def _theme_changed(self, theme: str) -> None:
        """ctrl+t or the palette changed the theme while this screen is open: show it."""
        if self.is_attached:
            self.row("theme").set_value(theme, self.mi_app.store.get_config("theme", UNSET) is not UNSET)

    # ---- leaving -------------------------------------------------------------------
    def action_close(self) -> None:
        """Back; an edit still in a field is saved first. A bad one keeps the screen open once."""
        failed: list[str] = []
        for name in SETTINGS:
            row = self.row(name)
            editor = row.editor
            if isinstance(editor, Input) and editor.value.strip() != row.saved_text:
                if not self.commit(name, explicit=False):
                    failed.append(name)
        if failed and not self._leave_armed:
            self._leave_armed = True
            self.row(failed[0]).editor.focus()
            self.notify(
                f"{', '.join(failed)} not saved: fix the value or empty the field (its default). "
                "Escape again leaves without saving it.",
                title="Settings",
                severity="warning",
            )
            return
        self.dismiss()
