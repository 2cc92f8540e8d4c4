"""Stable Anki ids: note type and deck ids from fixed names, note GUIDs from card ids (never random)."""

from __future__ import annotations

import hashlib

import genanki

GUID_NAMESPACE = "mi-prep"


def stable_id(name: str) -> int:
    """A deterministic id in genanki's valid range ``[1 << 30, 1 << 31)`` for a stable name."""
    h = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return (1 << 30) + h % (1 << 30)


def deck_anki_id(deck_id: str) -> int:
    return stable_id(f"mi-prep deck {deck_id}")


def note_guid(card_id: str) -> str:
    """GUID of the note for ``card_id``: depends on the card id only, so edits keep it."""
    return genanki.guid_for(GUID_NAMESPACE, card_id)
