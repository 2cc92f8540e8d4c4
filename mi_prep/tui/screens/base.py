"""Base classes for the app's screens: ``mi_app`` is ``self.app`` typed as :class:`~mi_prep.tui.app.MiPrepApp`.

Textual types ``self.app`` as a plain ``App``; the screens read the app's ``store``, ``deckset``,
``now()``, ``ctx`` and call its actions, so they go through ``mi_app`` to have those checked.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar, cast

from textual.screen import ModalScreen, Screen

if TYPE_CHECKING:  # pragma: no cover - app imports the screens lazily; this import is for typing only
    from mi_prep.tui.app import MiPrepApp

ResultT = TypeVar("ResultT")


class MiPrepScreen(Screen[ResultT]):
    """A screen shown by :class:`~mi_prep.tui.app.MiPrepApp`."""

    @property
    def mi_app(self) -> MiPrepApp:
        return cast("MiPrepApp", self.app)


class MiPrepModalScreen(ModalScreen[ResultT]):
    """A modal screen shown by :class:`~mi_prep.tui.app.MiPrepApp`."""

    @property
    def mi_app(self) -> MiPrepApp:
        return cast("MiPrepApp", self.app)
