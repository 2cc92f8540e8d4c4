"""Loading decks: one file (:func:`load_deck_file`: bad cards reported and skipped) or many
(:func:`load_decks`: ids unique across decks), into a :class:`DeckSet` of :class:`LoadedDeck`
plus the :class:`DeckIssue` list.

A file's bytes are parsed by :mod:`.parsing` (YAML, then pydantic), or read back from the
parsed-deck cache (:mod:`.cache`) when the same bytes were parsed before; neither YAML nor pydantic is
imported until a file is not in the cache.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from mi_prep.core.deck.files import read_deck_bytes, scan_deck_paths
from mi_prep.core.deck.issues import DeckFileError, DeckIssue, ParsedDeck
from mi_prep.core.deck.model import Card, Deck

if TYPE_CHECKING:
    from mi_prep.core.deck.cache import DeckCache


@dataclass
class LoadedDeck:
    deck: Deck
    path: Path
    card_lines: dict[str, int] = field(default_factory=dict)
    """card id -> 1-based line of the card in its file (for ``$EDITOR +line``)."""

    @property
    def id(self) -> str:
        return self.deck.id


@dataclass
class DeckSet:
    decks: list[LoadedDeck]
    issues: list[DeckIssue]
    derived: dict[str, Any] = field(default_factory=dict, repr=False, compare=False)
    """Values computed from the decks once and reused (e.g. the review items): a loaded DeckSet is never
    changed; reloading makes a new one."""

    @property
    def errors(self) -> list[DeckIssue]:
        return [i for i in self.issues if i.severity == "error"]

    @property
    def warnings(self) -> list[DeckIssue]:
        return [i for i in self.issues if i.severity == "warning"]

    def cards(self) -> Iterable[tuple[LoadedDeck, Card]]:
        for d in self.decks:
            for c in d.deck.cards:
                yield d, c

    def card_index(self) -> dict[str, tuple[LoadedDeck, Card]]:
        return {c.id: (d, c) for d, c in self.cards()}

    def effective_tags(self, deck: LoadedDeck, card: Card) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*deck.deck.tags, *card.tags)))


def _parse(raw: bytes, cache: DeckCache | None) -> ParsedDeck:
    """The parse of ``raw``: from ``cache`` when there, else parsed now (and kept in ``cache``)."""
    key = cache.key(raw) if cache is not None else ""
    parsed = cache.get(key) if cache is not None else None
    if parsed is None:
        from mi_prep.core.deck.parsing import parse_deck  # YAML and pydantic: only for a file not in the cache

        parsed = parse_deck(raw)
        if cache is not None:
            cache.put(key, parsed)
    return parsed


def load_deck_file(path: Path, cache: DeckCache | None = None) -> tuple[LoadedDeck | None, list[DeckIssue]]:
    """Load one deck file (from ``cache`` when its bytes were parsed before). Bad cards are reported and
    skipped; the rest of the deck loads.

    Never raises: anything unexpected becomes an error naming the file, so one file can never
    stop the other decks from loading."""
    spath = str(path)
    try:
        raw = read_deck_bytes(path)
    except DeckFileError as exc:
        return None, [DeckIssue(spath, exc.line, exc.message)]
    try:
        parsed = _parse(raw, cache)
    except Exception as exc:  # a safety net: the checks in parsing should already have named the problem
        return None, [
            DeckIssue(
                spath,
                None,
                f"could not be loaded ({type(exc).__name__}: {exc}); fix or move the file, and please report this case",
            )
        ]
    issues = [p.at(spath) for p in parsed.problems]
    if parsed.deck is None:
        return None, issues
    return LoadedDeck(parsed.deck, path, parsed.card_lines), issues


def load_decks(*paths: Path | str, cache: DeckCache | None = None) -> DeckSet:
    """Load every deck file under ``paths`` (directories or files), through ``cache`` when given.

    One bad file never stops the others. Card ids must be unique across all decks;
    a duplicate is reported naming both places and the second copy is skipped.
    """
    decks: list[LoadedDeck] = []
    files, issues = scan_deck_paths(paths)
    card_home: dict[str, str] = {}
    """card id -> the file defining it first"""
    lines: dict[str, dict[str, int]] = {}
    """file -> its cards' lines"""
    deck_home: dict[str, str] = {}
    for path in files:
        loaded, file_issues = load_deck_file(path, cache)
        issues.extend(file_issues)
        if loaded is None:
            continue
        if loaded.id in deck_home:
            issues.append(
                DeckIssue(str(path), 1, f"deck id '{loaded.id}' is already used by {deck_home[loaded.id]}; rename one")
            )
            continue
        deck_home[loaded.id] = spath = str(path)
        ids = [card.id for card in loaded.deck.cards]
        if card_home.keys().isdisjoint(ids):  # the usual case: no id defined twice
            card_home.update(dict.fromkeys(ids, spath))
        else:
            kept: list[Card] = []
            for card in loaded.deck.cards:
                if card.id in card_home:
                    other = card_home[card.id]
                    issues.append(
                        DeckIssue(
                            spath,
                            loaded.card_lines.get(card.id, 0),
                            f"duplicate card id; also defined at {other}:{lines[other].get(card.id, 0)}. "
                            "Card ids must be unique across all decks",
                            card.id,
                        )
                    )
                    continue
                card_home[card.id] = spath
                kept.append(card)
            loaded = LoadedDeck(loaded.deck.with_cards(tuple(kept)), loaded.path, loaded.card_lines)
        lines[spath] = loaded.card_lines
        decks.append(loaded)
    if cache is not None and cache.written:
        cache.trim()
    return DeckSet(decks, issues)
