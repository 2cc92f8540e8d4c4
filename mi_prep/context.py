"""AppContext: what every frontend gets (data dir, deck paths, clock, terminal streams, lazily opened
store and decks, the drill's lab provider). It sits above ``lab`` and ``core`` and below ``cli``/``tui``.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

if TYPE_CHECKING:
    from mi_prep.core.deck import DeckSet
    from mi_prep.core.drill import LabProvider
    from mi_prep.core.store import Store


def zone_for(name: str | None) -> tzinfo:
    """The time zone to study in: the IANA zone ``name`` (the ``timezone`` setting), or for ``auto``/None the
    system's (:func:`mi_prep.core.locations.system_zone_name`), else the current fixed offset."""
    from zoneinfo import ZoneInfo

    from mi_prep.core.locations import system_zone_name
    from mi_prep.core.settings import zone_exists

    key = name if name and name != "auto" and zone_exists(name) else system_zone_name()
    if key is not None:
        return ZoneInfo(key)
    return datetime.now().astimezone().tzinfo or UTC


@dataclass
class AppContext:
    """Where things are, the clock, and the terminal streams; the store and decks open on first use."""

    data_dir: Path | None
    deck_paths: list[Path]
    stdin: TextIO = field(default_factory=lambda: sys.stdin)
    stdout: TextIO = field(default_factory=lambda: sys.stdout)
    clock: Callable[[], datetime] | None = None
    """``() -> aware datetime`` (tests inject a fake); None: the real time in :meth:`zone`."""
    lab_provider: LabProvider | None = None
    """A drill's lab provider (tests inject a fake); None: :meth:`drill_lab_provider` makes the real one."""
    deck_cache_dir: Path | None = None
    """The parsed-deck cache's folder; None: :func:`mi_prep.core.locations.deck_cache_dir`."""
    _store: Store | None = field(default=None, repr=False)
    _decks: DeckSet | None = field(default=None, repr=False)
    _zone: tzinfo | None = field(default=None, repr=False)

    def now(self) -> datetime:
        """The current time in the user's IANA zone (study days and DST follow it), or the injected clock's."""
        if self.clock is not None:
            return self.clock()
        return datetime.now(self.zone())

    def zone(self) -> tzinfo:
        """The user's time zone: the ``timezone`` setting once the store is open, else the system's."""
        if self._zone is not None:
            return self._zone
        if self._store is None:
            return zone_for(None)
        from mi_prep.core.store import StorageError

        try:
            name = self._store.get_config("timezone")
        except StorageError:  # a storage problem surfaces elsewhere; the clock must still tell the time
            name = None
        self._zone = zone_for(name)
        return self._zone

    def forget_zone(self) -> None:
        """Read the ``timezone`` setting again (after it changed)."""
        self._zone = None

    @property
    def store(self) -> Store:
        """The opened store (raises :class:`~mi_prep.core.store.StorageError` with a one-line message)."""
        if self._store is None:
            from mi_prep.core.store import open_store

            self._store = open_store(self.data_dir, now=self.now())
            for warning in self._store.warnings:
                self.print(f"warning: {warning}")
        return self._store

    def close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
            self._zone = None

    @property
    def store_path(self) -> Path | None:
        """The database file, once the store is open (for error messages)."""
        return getattr(self._store, "path", None)

    @property
    def decks(self) -> DeckSet:
        if self._decks is None:
            self._decks = self.load_decks()
        return self._decks

    def load_decks(self, paths: list[Path] | None = None, *, cache: bool = True) -> DeckSet:
        """Read ``paths`` (default: the deck paths) from disk now, through the parsed-deck cache unless
        ``cache`` is False."""
        from mi_prep.core.deck import DeckCache, load_decks
        from mi_prep.core.locations import deck_cache_dir

        folder = self.deck_cache_dir or deck_cache_dir()
        return load_decks(*(self.deck_paths if paths is None else paths), cache=DeckCache(folder) if cache else None)

    def set_decks(self, deckset: DeckSet) -> None:
        """Use ``deckset`` from now on (the TUI's reload)."""
        self._decks = deckset

    def drill_lab_provider(self) -> LabProvider:
        """The lab provider a drill uses: the injected one, else a real lab run."""
        if self.lab_provider is not None:
            return self.lab_provider
        from mi_prep.lab.drill_provider import make_lab_provider

        return make_lab_provider(threads=self.lab_threads())

    def lab_threads(self) -> int | str:
        """The ``lab-threads`` setting (``auto`` when the store cannot be read: a lab still runs)."""
        from mi_prep.core.settings import default

        try:
            return self.store.get_config("lab-threads")
        except Exception:  # noqa: BLE001 - a damaged store is reported where it is used, not here
            return default("lab-threads")

    def print(self, *parts: Any, end: str = "\n") -> None:
        print(*parts, file=self.stdout, end=end)
        self.stdout.flush()
