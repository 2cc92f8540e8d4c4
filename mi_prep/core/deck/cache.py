"""The parsed-deck cache: what parsing a deck file gave (its valid cards, their lines, its problems),
kept on disk under a key made from the file's bytes, so unchanged decks load without YAML or pydantic.

Never stale, by construction:

* the key is a BLAKE2b hash of the file's bytes, salted with the cache format, the Python version and
  a fingerprint of the code that parses decks (size and modification time of every module in
  ``mi_prep.core.deck`` and of ``safe_text``, and of the installed PyYAML, libyaml and pydantic); an
  edited file, a new mi-prep or an upgraded library simply gives another key, and the file is parsed
  again;
* a parse depends on the bytes alone (:mod:`.parsing`), and file-level checks that look across files
  (duplicate ids) run after the cache on every load;
* every entry carries a CRC-32 of its payload; a truncated, corrupt or unreadable entry (or anything
  that is not a regular file: read without blocking and size-capped, like a deck file) is treated as
  missing, deleted, and rebuilt from the file.

Entries are ``<key>.deck`` files in the cache folder (``$MI_PREP_CACHE/decks``, else the platform's
user cache folder), written atomically (temporary file, then rename). After a load that wrote entries,
the folder is trimmed to :attr:`DeckCache.max_entries`, least recently used first, never one this load
used. A cache that
cannot be written (read-only folder, full disk) costs speed, never correctness.
"""

from __future__ import annotations

import marshal
import os
import sys
import time
import zlib
from pathlib import Path
from typing import Any

from mi_prep.core.deck.files import read_deck_bytes
from mi_prep.core.deck.issues import DeckFileError, ParsedDeck, Problem

try:  # hashlib's blake2b without hashlib, which loads OpenSSL first (~4 ms at every start)
    from _blake2 import blake2b
except ImportError:  # pragma: no cover - a Python without the builtin module
    from hashlib import blake2b
from mi_prep.core.deck.model import Card, Deck

CACHE_FORMAT = 1
MAGIC = b"mi-prep parsed deck v1\n"
SUFFIX = ".deck"
_CHECK = 4
MAX_ENTRY_BYTES = 64 * 1024 * 1024
"""An entry larger than this is damage (a deck file is at most 4 MiB)."""


PARSING_MODULES = ("mi_prep/core/safe_text.py",)
"""Modules outside ``mi_prep/core/deck`` whose code decides what a parse gives (control characters)."""
PARSING_PACKAGES = ("yaml", "pydantic", "pydantic_core")
"""Installed packages a parse depends on (for PyYAML also whether its libyaml loader is there)."""


def _stat_line(path: Path) -> str:
    try:
        st = path.stat()
    except OSError:
        return f"{path}:missing"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


def _code_fingerprint() -> bytes:
    """What a parse depends on besides the bytes: the cache format, Python and marshal versions, every
    module of the deck package and :data:`PARSING_MODULES` (size and modification time), and where the
    :data:`PARSING_PACKAGES` are installed and when (an upgrade rewrites their files)."""
    import importlib.util

    here = Path(__file__).resolve().parent
    parts = [f"{CACHE_FORMAT}:{sys.version_info[:3]}:{marshal.version}"]
    parts += [_stat_line(module) for module in sorted(here.glob("*.py"))]
    parts += [_stat_line(here.parents[2] / name) for name in PARSING_MODULES]
    for name in PARSING_PACKAGES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            spec = None
        if spec is None or not spec.origin:
            parts.append(f"{name}:absent")
            continue
        origin = Path(spec.origin)
        parts.append(_stat_line(origin))
        parts += [_stat_line(ext) for ext in sorted(origin.parent.glob("_yaml*"))]  # libyaml, if built
    return "\n".join(parts).encode()


def to_payload(parsed: ParsedDeck) -> tuple[Any, ...]:
    deck = parsed.deck
    deck_row = None
    if deck is not None:
        deck_row = (deck.id, deck.name, deck.description, deck.tags, tuple(c.to_row() for c in deck.cards))
    problems = tuple((p.line, p.message, p.card_id, p.severity) for p in parsed.problems)
    return (deck_row, parsed.card_lines, problems)


def from_payload(payload: Any) -> ParsedDeck:
    deck_row, card_lines, problems = payload
    deck = None
    if deck_row is not None:
        did, name, description, tags, rows = deck_row
        deck = Deck(did, name, description, tags, tuple(map(Card.from_row, rows)))
    return ParsedDeck(deck, card_lines, [Problem(*p) for p in problems])


class DeckCache:
    """Parsed decks on disk, keyed by content. ``get``/``put`` never raise for a cache problem."""

    max_entries = 512

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self._salt = _code_fingerprint()
        self.used: set[str] = set()
        """Keys read or written by this cache object (never trimmed away)."""
        self.hits = 0
        self.misses = 0
        self.written = 0

    def key(self, raw: bytes) -> str:
        h = blake2b(self._salt, digest_size=20)
        h.update(b"\0")
        h.update(raw)
        return h.hexdigest()

    def _path(self, key: str) -> Path:
        return self.folder / f"{key}{SUFFIX}"

    def get(self, key: str) -> ParsedDeck | None:
        """The cached parse for ``key``, or None (absent, or corrupt: then the entry is deleted)."""
        self.used.add(key)
        path = self._path(key)
        try:  # like a deck file: a regular file only, never blocking (a FIFO), size-capped (/dev/zero)
            blob = read_deck_bytes(path, MAX_ENTRY_BYTES)
        except DeckFileError:
            self.misses += 1
            if path.is_dir() and not path.is_symlink():
                self._remove(path)
            return None
        try:
            if not blob.startswith(MAGIC):
                raise ValueError("not a parsed-deck cache entry")
            check = blob[len(MAGIC) : len(MAGIC) + _CHECK]
            payload = blob[len(MAGIC) + _CHECK :]
            if zlib.crc32(payload).to_bytes(_CHECK, "big") != check:
                raise ValueError("checksum mismatch")
            parsed = from_payload(marshal.loads(payload))
        except Exception:  # noqa: BLE001 - any damage means: parse the file again
            self.misses += 1
            self._remove(path)
            return None
        self.hits += 1
        self._touch(path)
        return parsed

    @staticmethod
    def _touch(path: Path) -> None:
        """Mark an entry used (trimming removes the least recently used), at most once a day."""
        try:
            if time.time() - path.stat().st_mtime > 86_400:
                os.utime(path)
        except OSError:
            pass

    def put(self, key: str, parsed: ParsedDeck) -> None:
        self.used.add(key)
        try:
            payload = marshal.dumps(to_payload(parsed))
        except ValueError:  # pragma: no cover - payloads are plain tuples, dicts and strings
            return
        blob = MAGIC + zlib.crc32(payload).to_bytes(_CHECK, "big") + payload
        path = self._path(key)
        tmp = path.with_name(f".{key}.{os.getpid()}.tmp")
        try:
            self.folder.mkdir(parents=True, exist_ok=True)
            tmp.write_bytes(blob)
            os.replace(tmp, path)
        except OSError:
            self._remove(tmp)
            return
        self.written += 1

    def trim(self) -> None:
        """Delete the least recently used entries beyond :attr:`max_entries` (never one this object used)
        and temporary files a crash left behind. :func:`~.deckset.load_decks` calls it once per load
        that wrote entries."""
        try:
            names = list(self.folder.iterdir())
        except OSError:
            return
        day_ago = time.time() - 86_400
        for p in names:
            if p.suffix == ".tmp" and p.name.startswith("."):
                try:
                    if p.stat().st_mtime < day_ago:
                        self._remove(p)
                except OSError:
                    pass
        entries = [p for p in names if p.suffix == SUFFIX]
        if len(entries) <= self.max_entries:
            return
        old = []
        for p in entries:
            if p.stem in self.used:
                continue
            try:
                old.append((p.stat().st_mtime_ns, p))
            except OSError:
                continue
        old.sort()
        for _, p in old[: len(entries) - self.max_entries]:
            self._remove(p)

    @staticmethod
    def _remove(path: Path) -> None:
        try:
            if path.is_dir() and not path.is_symlink():
                path.rmdir()  # an empty folder in an entry's place; anything fuller is left alone
            else:
                path.unlink()
        except OSError:
            pass
