"""The footer every screen shows: Textual's :class:`~textual.widgets.Footer`, rebuilt only when the keys
it shows change.

Textual's footer recomposes all its keys whenever a screen refreshes its bindings, which the review
screens do after every card; rebuilding ~15 keys and restyling each one was a good part of the time to
the first card. This one compares what it would show (key, label, enabled, tooltip, group) with what it
shows and keeps the widgets when nothing changed.
"""

from __future__ import annotations

from typing import Any

from textual.app import ComposeResult
from textual.screen import Screen
from textual.widgets import Footer


class AppFooter(Footer):
    DEFAULT_CSS = ""  # Footer's own CSS applies (it matches the Footer type)

    _shown: tuple[Any, ...] | None = None

    def _signature(self) -> tuple[Any, ...]:
        return tuple(
            (b.key, b.description, b.action, b.show, enabled, tooltip, b.group, b.key_display)
            for (_, b, enabled, tooltip) in self.screen.active_bindings.values()
        ) + (self.compact, self.show_command_palette, self.combine_groups, self.app.app_focus)

    def compose(self) -> ComposeResult:
        if self._bindings_ready:
            self._shown = self._signature()
        yield from super().compose()

    def bindings_changed(self, screen: Screen[Any]) -> None:
        self._bindings_ready = True
        if not screen.app.app_focus:
            return
        if self.is_attached and screen is self.screen:
            self.call_after_refresh(self._recompose_if_changed)

    async def _recompose_if_changed(self) -> None:
        if self.is_attached and self._signature() != self._shown:
            await self.recompose()
