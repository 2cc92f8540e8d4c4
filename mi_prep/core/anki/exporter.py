"""The export itself: choose decks, turn their cards into notes (:class:`NoteBuilder`), write the
package (:mod:`.package`) and report."""

from __future__ import annotations

import html
import re
import time
from collections.abc import Sequence
from datetime import datetime
from functools import cache
from pathlib import Path

import nh3

from mi_prep.core.anki.collection import AnkiDeck
from mi_prep.core.anki.errors import ExportError
from mi_prep.core.anki.ids import deck_anki_id
from mi_prep.core.anki.notes import NoteBuilder
from mi_prep.core.anki.package import check_output, write_package
from mi_prep.core.anki.report import ExportReport
from mi_prep.core.anki.sanitize import make_cleaner
from mi_prep.core.deck import DeckSet, LoadedDeck

DECK_ROOT = "MI Prep"
"""Parent deck in Anki: every YAML deck becomes ``MI Prep::<deck name>``."""


@cache
def _text_only() -> nh3.Cleaner:
    return make_cleaner(None, tags=set())


def _plain_name(name: str) -> str:
    """A deck name as plain text: markup removed (Anki shows names as text), no ``<`` / ``>`` left."""
    text = html.unescape(_text_only().clean(name))
    return re.sub(r"\s+", " ", text.replace("<", "").replace(">", "")).strip() or "Untitled"


def _select(deckset: DeckSet, deck_ids: Sequence[str] | None) -> list[LoadedDeck]:
    if deck_ids is None:
        chosen = list(deckset.decks)
    else:
        known = {d.id for d in deckset.decks}
        unknown = [d for d in deck_ids if d not in known]
        if unknown:
            raise ExportError(f"unknown deck id(s): {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}")
        wanted = set(deck_ids)
        chosen = [d for d in deckset.decks if d.id in wanted]
    if not chosen:
        raise ExportError("there are no decks to export; check --decks / the deck files (`mi-prep check`)")
    return chosen


def export_apkg(
    deckset: DeckSet, out: Path | str, *, deck_ids: Sequence[str] | None = None, now: datetime | None = None
) -> ExportReport:
    """Write the decks (all, or those in ``deck_ids``) to the Anki package ``out``.

    Raises :class:`ExportError` (nothing written) for an unknown deck id, an unusable output path,
    a failed write (full disk, read-only directory, ...), or a card whose image is missing or
    outside its deck's directory; its message is one line for the user: file, line and card id
    where known, what is wrong, what to do. Cards whose front would be empty in Anki are left out
    (:attr:`ExportReport.skipped`); they and every left-out image, link or style are in
    :attr:`ExportReport.warnings`, skipped cards first.
    """
    try:
        return _export(deckset, Path(out).expanduser(), deck_ids, now)
    except OSError as exc:  # anything not caught where it happened (e.g. a deck directory gone)
        name = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        raise ExportError(
            f"export to {out} failed: {exc.strerror or exc}{name}; "
            "check that file and export again; nothing was written"
        ) from None


def _export(deckset: DeckSet, out: Path, deck_ids: Sequence[str] | None, now: datetime | None) -> ExportReport:
    started = time.perf_counter()
    chosen = _select(deckset, deck_ids)
    parent = check_output(out)
    timestamp = now.timestamp() if now is not None else time.time()

    exporter = NoteBuilder(deckset)
    plain = {loaded.id: _plain_name(loaded.deck.name) for loaded in chosen}
    names: dict[str, int] = {}
    for name in plain.values():
        names[name.casefold()] = names.get(name.casefold(), 0) + 1
    anki_decks: list[AnkiDeck] = []
    n_notes = n_cards = 0
    for loaded in chosen:
        name = plain[loaded.id]
        if names[name.casefold()] > 1:  # Anki matches decks by name: keep two YAML decks apart
            name = f"{name} ({loaded.id})"
        deck = AnkiDeck(deck_anki_id(loaded.id), f"{DECK_ROOT}::{name}", exporter.description(loaded))
        for card in loaded.deck.cards:
            note = exporter.note(loaded, card, due=n_notes)
            if note is None:
                continue
            deck.notes.append(note)
            n_notes += 1
            n_cards += len(note.ords)
        anki_decks.append(deck)

    write_package(anki_decks, exporter.media, out, parent, timestamp)
    try:
        size = out.stat().st_size
    except OSError:  # pragma: no cover - removed right after it was written
        size = 0
    return ExportReport(
        path=out,
        decks=len(anki_decks),
        notes=n_notes,
        cards=n_cards,
        media=len(exporter.media),
        size=size,
        warnings=tuple(dict.fromkeys([*exporter.skipped, *exporter.warnings])),
        seconds=time.perf_counter() - started,
        skipped=len(exporter.skipped),
    )
