"""Loading decks: one file (:func:`load_deck_file`: bad cards reported and skipped) or many
(:func:`load_decks`: ids unique across decks), into a :class:`DeckSet` of :class:`LoadedDeck`
plus the :class:`DeckIssue` list; pydantic errors become one line each naming the field."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from mi_prep.core.deck.files import scan_deck_paths
from mi_prep.core.deck.issues import DeckFileError, DeckIssue
from mi_prep.core.deck.model import Card, Deck
from mi_prep.core.deck.yaml_loading import BadValue, bad_values, child, field_lines, loc_line, node_line, read_yaml


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


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"the text {shown!r}"
    return "an empty value" if value is None else type(value).__name__


def _describe(err: Mapping[str, Any]) -> str:
    loc = ".".join(str(p) for p in err["loc"] if not isinstance(p, int) or True)
    msg = err["msg"]
    if msg.startswith("Value error, "):
        msg = msg[len("Value error, ") :]
    if err["type"] == "extra_forbidden":
        return f"unknown field '{loc}'; check the spelling (allowed: see `mi-prep schema`)"
    if err["type"] == "missing":
        return f"missing required field '{loc}'"
    if err["type"] == "string_pattern_mismatch":
        return f"'{loc}' must be a lowercase slug (a-z, 0-9, '.', '_', '-'), e.g. 'induction-head-definition'"
    found = _kind_of(err.get("input"))
    if err["type"] == "string_type":
        return f"'{loc}' must be text, not {found}; quote it if the brackets are meant literally"
    if err["type"] in ("tuple_type", "list_type"):
        return f"'{loc}' must be a list (e.g. [a, b]), not {found}"
    if err["type"] in ("int_parsing", "int_type", "int_parsing_size", "int_from_float"):
        return f"'{loc}' must be a whole number (e.g. 2)"
    if err["type"] in ("bool_parsing", "bool_type"):
        return f"'{loc}' must be true or false"
    if err["type"] in ("model_type", "model_attributes_type", "dict_type"):
        return f"'{loc}' must be a mapping (key: value lines), not {found}"
    ctx = err.get("ctx") or {}
    if err["type"] in ("less_than_equal", "greater_than_equal") and loc == "difficulty":
        return "'difficulty' must be 1, 2 or 3 (1 recall .. 3 interview depth)"
    if err["type"] == "less_than_equal":
        return f"'{loc}' must be at most {ctx.get('le')}"
    if err["type"] == "greater_than_equal":
        return f"'{loc}' must be at least {ctx.get('ge')}"
    if err["type"] == "literal_error":
        return f"'{loc}': {msg}"
    return f"'{loc}': {msg}" if loc else msg


def _field_of(err: Mapping[str, Any]) -> str:
    """The top-level field a pydantic error is about ("" for the whole model)."""
    return str(err["loc"][0]) if err["loc"] else ""


def _fields(raw: dict[Any, Any]) -> dict[str, Any]:
    """A mapping as pydantic should see it: text keys, and a field left empty (``back:``) treated
    as not given, so the message says what is missing rather than 'not a valid string'."""
    return {("" if k is None else str(k)): v for k, v in raw.items() if v is not None}


def load_deck_file(path: Path) -> tuple[LoadedDeck | None, list[DeckIssue]]:
    """Load one deck file. Bad cards are reported and skipped; the rest of the deck loads.

    Never raises: anything unexpected becomes an error naming the file, so one file can never
    stop the other decks from loading."""
    try:
        return _load_deck_file(path)
    except Exception as exc:  # a safety net: the checks above should already have named the problem
        return None, [
            DeckIssue(
                str(path),
                None,
                f"could not be loaded ({type(exc).__name__}: {exc}); fix or move the file, and please report this case",
            )
        ]


def _load_deck_file(path: Path) -> tuple[LoadedDeck | None, list[DeckIssue]]:
    spath = str(path)
    try:
        data, root = read_yaml(path)
    except DeckFileError as exc:
        return None, [DeckIssue(spath, exc.line, exc.message)]
    if not isinstance(data, dict):
        return None, [
            DeckIssue(spath, 1, f"top level must be a mapping with 'id', 'name', 'cards' (found {type(data).__name__})")
        ]

    issues: list[DeckIssue] = []
    top_lines = field_lines(root)
    cards_data = data.get("cards", [])
    card_nodes: list[yaml.Node] = []
    if "cards" in data:
        cnode = child(root, "cards")
        card_nodes = list(cnode.value) if isinstance(cnode, yaml.SequenceNode) else []
    if cards_data is None:
        cards_data = []
    if isinstance(cards_data, BadValue):
        return None, [DeckIssue(spath, cards_data.line, cards_data.message)]
    if not isinstance(cards_data, list):
        return None, [
            DeckIssue(spath, top_lines.get("cards"), "'cards' must be a list of cards (each starting with '- id: ...')")
        ]

    header = {k: v for k, v in _fields(data).items() if k != "cards"}
    bad = list(bad_values(header))
    if bad:
        return None, [DeckIssue(spath, b.line, b.message) for b in bad]
    try:
        deck = Deck.model_validate({**header, "cards": []})
    except ValidationError as exc:
        for err in exc.errors():
            issues.append(DeckIssue(spath, top_lines.get(_field_of(err), 1), _describe(err)))
        return None, issues

    cards: list[Card] = []
    lines: dict[str, int] = {}
    for i, raw in enumerate(cards_data):
        node = card_nodes[i] if i < len(card_nodes) else None
        line = node_line(node) if node is not None else None
        flines = field_lines(node) if node is not None else {}
        cid = raw.get("id") if isinstance(raw, dict) else None
        cid = cid if isinstance(cid, str) else None
        if isinstance(raw, BadValue):
            issues.append(DeckIssue(spath, raw.line, raw.message, card_id=f"#{i + 1}"))
            continue
        if not isinstance(raw, dict):
            issues.append(
                DeckIssue(
                    spath,
                    line,
                    f"card #{i + 1} must be a mapping with 'id', 'type', 'front', ... (found {type(raw).__name__})",
                )
            )
            continue
        raw = _fields(raw)
        bad = list(bad_values(raw))
        if bad:
            issues.extend(DeckIssue(spath, b.line, b.message, card_id=cid or f"#{i + 1}") for b in bad)
            continue
        try:
            card = Card.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                where = loc_line(node, err["loc"]) if node is not None else None
                issues.append(
                    DeckIssue(
                        spath, where or flines.get(_field_of(err), line), _describe(err), card_id=cid or f"#{i + 1}"
                    )
                )
            continue
        if card.id in lines:
            issues.append(
                DeckIssue(
                    spath,
                    line,
                    f"duplicate card id (also at line {lines[card.id]} of this file); ids must be unique",
                    card_id=card.id,
                )
            )
            continue
        lines[card.id] = line or 0
        cards.append(card)
        if not card.source:
            issues.append(
                DeckIssue(
                    spath,
                    line,
                    "no 'source'; name the paper/post (and section) the card is based on",
                    card.id,
                    "warning",
                )
            )
    if not cards_data:
        issues.append(DeckIssue(spath, top_lines.get("cards", 1), "deck has no cards", severity="warning"))
    return LoadedDeck(deck.model_copy(update={"cards": tuple(cards)}), path, lines), issues


def load_decks(*paths: Path | str) -> DeckSet:
    """Load every deck file under ``paths`` (directories or files).

    One bad file never stops the others. Card ids must be unique across all decks;
    a duplicate is reported naming both places and the second copy is skipped.
    """
    decks: list[LoadedDeck] = []
    files, issues = scan_deck_paths(paths)
    card_home: dict[str, tuple[str, int]] = {}
    deck_home: dict[str, str] = {}
    for path in files:
        loaded, file_issues = load_deck_file(path)
        issues.extend(file_issues)
        if loaded is None:
            continue
        if loaded.id in deck_home:
            issues.append(
                DeckIssue(str(path), 1, f"deck id '{loaded.id}' is already used by {deck_home[loaded.id]}; rename one")
            )
            continue
        deck_home[loaded.id] = str(path)
        kept: list[Card] = []
        for card in loaded.deck.cards:
            line = loaded.card_lines.get(card.id, 0)
            if card.id in card_home:
                other, oline = card_home[card.id]
                issues.append(
                    DeckIssue(
                        str(path),
                        line,
                        f"duplicate card id; also defined at {other}:{oline}. Card ids must be unique across all decks",
                        card.id,
                    )
                )
                continue
            card_home[card.id] = (str(path), line)
            kept.append(card)
        if len(kept) != len(loaded.deck.cards):
            loaded = LoadedDeck(loaded.deck.model_copy(update={"cards": tuple(kept)}), loaded.path, loaded.card_lines)
        decks.append(loaded)
    return DeckSet(decks, issues)
