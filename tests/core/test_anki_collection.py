"""The collection rows the export writes itself are genanki's rows: the same ``col`` JSON, notes and
cards (ids, GUIDs, fields, tags, ordinals, due), the same cards per note, the same GUIDs."""

from __future__ import annotations

import itertools
import json
import random
import sqlite3
import warnings

import genanki
import pytest

from mi_prep.core.anki import NOTE_TYPES, note_guid
from mi_prep.core.anki.collection import AnkiDeck, card_ords, write_collection
from mi_prep.core.anki.ids import base91
from mi_prep.core.anki.notes import NoteBuilder
from tests.core.test_anki import DECK_A, DECK_B, T0, load_ok, make_decks

TS = T0.timestamp()


def _rows(write) -> dict:
    conn = sqlite3.connect(":memory:")
    write(conn.cursor())
    out = {table: conn.execute(f"SELECT * FROM {table} ORDER BY id").fetchall() for table in ("notes", "cards")}
    col = list(conn.execute("SELECT * FROM col").fetchone())
    out["col"] = [json.loads(v) if isinstance(v, str) and v.startswith("{") else v for v in col]
    conn.close()
    return out


def _genanki_decks(decks: list[AnkiDeck]) -> list[genanki.Deck]:
    out = []
    for deck in decks:
        g = genanki.Deck(deck.deck_id, deck.name, deck.description)
        for n in deck.notes:
            g.add_note(genanki.Note(model=n.model, fields=list(n.fields), tags=list(n.tags), guid=n.guid, due=n.due))
        out.append(g)
    return out


def test_rows_are_genankis(tmp_path):
    ds = load_ok(make_decks(tmp_path, a=DECK_A, b=DECK_B))
    builder = NoteBuilder(ds)
    decks = []
    due = 0
    for loaded in [*ds.decks, *ds.decks]:  # a deck twice: a note type's JSON names the last deck using it
        deck = AnkiDeck(1000 + len(decks), f"MI Prep::{loaded.deck.name}", builder.description(loaded))
        for card in loaded.deck.cards:
            note = builder.note(loaded, card, due)
            assert note is not None
            deck.notes.append(note)
            due += 1
        decks.append(deck)

    ours = _rows(lambda cur: write_collection(cur, decks, TS, itertools.count(int(TS * 1000))))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _rows(
            lambda cur: genanki.Package(_genanki_decks(decks)).write_to_db(cur, TS, itertools.count(int(TS * 1000)))
        )
    assert ours == theirs
    assert len(ours["notes"]) == 2 * 6 and len(ours["cards"]) == 2 * (6 + 1 + 2)  # reverse: 2 cards, cloze: 3


def _random_fields(rng: random.Random, model: genanki.Model) -> list[str]:
    values = ["", "x", "<b></b>", "{{c1::a}}", "{{c2::b::h}} {{c1::a}}", "{{c0::z}}", "{{c12::q}}{{c3::r}}", "{{c1::}}"]
    return [rng.choice(values) for _ in model.fields]


@pytest.mark.parametrize("kind", sorted(NOTE_TYPES))
def test_cards_per_note_are_genankis(kind):
    model = NOTE_TYPES[kind]
    rng = random.Random(kind)
    for _ in range(300):
        fields = _random_fields(rng, model)
        assert card_ords(model, fields) == tuple(c.ord for c in genanki.Note(model=model, fields=fields).cards), fields


def test_guids_are_genankis():
    for cid in ["ind-basic", "a", "x" * 200, "é-ü", *(f"g{i:02d}-{i:04d}" for i in range(2000))]:
        assert note_guid(cid) == genanki.guid_for("mi-prep", cid)


def test_base91_is_genankis_digits():
    def reference(n: int) -> str:  # genanki.util.guid_for's conversion
        digits = []
        while n > 0:
            digits.append(genanki.util.BASE91_TABLE[n % 91])
            n //= 91
        return "".join(reversed(digits))

    rng = random.Random(91)
    edges = [0, 1, 90, 91, 92, 91 * 91 - 1, 91 * 91, 91 * 91 + 1, 91**3, 91**4 - 1, 2**63, 2**64 - 1]
    for n in [*edges, *range(20_000), *(rng.getrandbits(64) for _ in range(20_000))]:
        assert base91(n) == reference(n), n
