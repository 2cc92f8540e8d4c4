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


_BASE91 = genanki.util.BASE91_TABLE
_BASE91_PAIRS = [a + b for a in _BASE91 for b in _BASE91]


def base91(n: int) -> str:
    """``n`` in Anki's base-91 digits, most significant first, no leading zero ("" for 0), as in
    ``genanki.guid_for``; two digits at a time."""
    pairs: list[str] = []
    while n >= 91 * 91:
        n, low = divmod(n, 91 * 91)
        pairs.append(_BASE91_PAIRS[low])
    head = "" if n == 0 else _BASE91[n] if n < 91 else _BASE91_PAIRS[n]
    return head + "".join(reversed(pairs))


def note_guid(card_id: str) -> str:
    """GUID of the note for ``card_id``: depends on the card id only, so edits keep it.

    ``genanki.guid_for(GUID_NAMESPACE, card_id)``, computed the same way without its per-byte loops:
    the first 8 bytes of the SHA-256 of ``"mi-prep__<card id>"`` in Anki's base-91 digits."""
    digest = hashlib.sha256(f"{GUID_NAMESPACE}__{card_id}".encode()).digest()
    return base91(int.from_bytes(digest[:8], "big"))
