"""The rows of ``collection.anki2``: decks and note types (JSON in ``col``), notes and cards.

Row for row what genanki writes (``Package.write_to_db``, ``Note.write_to_db``, ``Card.write_to_db``),
built without a genanki ``Note`` per card and inserted in two ``executemany`` calls, in time linear
in decks, notes and cards. ``tests/core/test_anki_collection.py`` compares it with genanki's own
writer row for row.
"""

from __future__ import annotations

import json
import re
import sqlite3
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import NamedTuple

import genanki
from genanki.apkg_col import APKG_COL
from genanki.apkg_schema import APKG_SCHEMA


class NoteRow(NamedTuple):
    """One note: its note type, fields (HTML), tags, GUID, position in the new queue, and the
    template ordinals of its cards (in the order genanki writes them)."""

    model: genanki.Model
    fields: tuple[str, ...]
    tags: tuple[str, ...]
    guid: str
    due: int
    ords: tuple[int, ...]


@dataclass
class AnkiDeck:
    """One Anki deck and its notes."""

    deck_id: int
    name: str
    description: str = ""
    notes: list[NoteRow] = field(default_factory=list)

    def to_json(self) -> dict:
        return genanki.Deck(self.deck_id, self.name, self.description).to_json()


_CLOZE_REF = re.compile(r"{{c(\d+)::.+?}}", re.DOTALL)


@cache
def _cloze_fields(model: genanki.Model) -> tuple[int, ...]:
    """Indexes of the fields a cloze note type's first template deletes from (genanki's scan)."""
    qfmt = model.templates[0]["qfmt"]
    names = set(re.findall(r"{{[^}]*?cloze:(?:[^}]?:)*(.+?)}}", qfmt) + re.findall("<%cloze:(.+?)%>", qfmt))
    field_names = [f["name"] for f in model.fields]
    return tuple(field_names.index(name) if name in field_names else -1 for name in names)


def card_ords(model: genanki.Model, fields: Sequence[str]) -> tuple[int, ...]:
    """The template ordinals of the cards Anki makes for a note, as genanki's ``Note.cards``."""
    if model.model_type == genanki.Model.FRONT_BACK:
        ords = []
        for card_ord, any_or_all, required in model._req:
            present = (fields[i] for i in required)
            if any(present) if any_or_all == "any" else all(present):
                ords.append(card_ord)
        return tuple(ords)
    if model.model_type != genanki.Model.CLOZE:
        raise ValueError("Expected model_type CLOZE or FRONT_BACK")
    found: set[int] = set()
    for index in _cloze_fields(model):
        value = fields[index] if index >= 0 else ""
        found.update(int(m) - 1 for m in _CLOZE_REF.findall(value) if int(m) > 0)
    return tuple(found)  # a set, iterated as genanki iterates it


def write_collection(
    cursor: sqlite3.Cursor, decks: Sequence[AnkiDeck], timestamp: float, id_gen: Iterator[int]
) -> None:
    """Write ``decks`` (and the note types their notes use) into an empty Anki collection.

    What ``genanki.Package.write_to_db`` writes, in linear time: genanki reads, extends and rewrites
    the whole ``col.decks`` JSON once per deck (and ``col.models`` too), which is quadratic in the
    number of decks (2,000 decks: 20 s). Here both are written once, and the notes and cards in one
    ``executemany`` each. Row for row the same: deck JSON from ``Deck.to_json``, note types from
    ``Model.to_json`` (with the last deck using them, as genanki), notes and cards in deck order with
    the same id sequence (a note's id, then its cards' ids).
    """
    cursor.executescript(APKG_SCHEMA)
    cursor.executescript(APKG_COL)
    decks_json, models_json = cursor.execute("SELECT decks, models FROM col").fetchone()
    all_decks, models = json.loads(decks_json), json.loads(models_json)
    used: dict[int, tuple[genanki.Model, int]] = {}
    for deck in decks:
        all_decks[str(deck.deck_id)] = deck.to_json()
        for note in deck.notes:
            used[note.model.model_id] = (note.model, deck.deck_id)
    for model_id, (model, deck_id) in used.items():
        models[str(model_id)] = model.to_json(timestamp, deck_id)
    cursor.execute("UPDATE col SET decks = ?, models = ?", (json.dumps(all_decks), json.dumps(models)))

    mod = int(timestamp)
    notes: list[tuple] = []
    cards: list[tuple] = []
    for deck in decks:
        for note in deck.notes:
            if len(note.fields) != len(note.model.fields):
                raise ValueError(f"note {note.guid}: {len(note.fields)} fields for note type {note.model.name}")
            note_id = next(id_gen)
            notes.append(
                (
                    note_id,
                    note.guid,
                    note.model.model_id,
                    mod,
                    -1,  # usn
                    " " + " ".join(note.tags) + " ",
                    "\x1f".join(note.fields),
                    note.fields[note.model.sort_field_index],  # sort field
                    0,  # csum
                    0,  # flags
                    "",  # data
                )
            )
            for card_ord in note.ords:
                # id, nid, did, ord, mod, usn, type, queue, due, ivl, factor, reps, lapses, left, odue, odid, flags, data
                cards.append((next(id_gen), note_id, deck.deck_id, card_ord, mod, -1, 0, 0, note.due, *_ZEROS, ""))
    cursor.executemany("INSERT INTO notes VALUES(?,?,?,?,?,?,?,?,?,?,?)", notes)
    cursor.executemany("INSERT INTO cards VALUES(?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)", cards)


_ZEROS = (0,) * 8
