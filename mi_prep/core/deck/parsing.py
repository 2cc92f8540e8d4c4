"""Parsing one deck file's bytes: the safe YAML loader, then pydantic validation card by card, into a
:class:`ParsedDeck` (the deck's valid cards, their lines, and every problem found). Bad cards are
reported and skipped; the rest of the deck loads.

The result depends on the bytes alone (never on the path or the clock), which is what lets
:mod:`.cache` keep it keyed by the file's content. This is the only module that imports YAML and
pydantic on the way to a :class:`~.deckset.DeckSet`, and only when a file is not in the cache.
"""

from __future__ import annotations

from typing import Any

import yaml
from pydantic import ValidationError

from mi_prep.core.deck.issues import DeckFileError, ParsedDeck, Problem
from mi_prep.core.deck.model import Card
from mi_prep.core.deck.validation import Card as CardIn
from mi_prep.core.deck.validation import Deck as DeckIn
from mi_prep.core.deck.validation import describe, field_of, to_card, to_deck
from mi_prep.core.deck.yaml_loading import BadValue, bad_values, child, field_lines, loc_line, node_line, read_yaml


def _fields(raw: dict[Any, Any]) -> dict[str, Any]:
    """A mapping as pydantic should see it: text keys, and a field left empty (``back:``) treated
    as not given, so the message says what is missing rather than 'not a valid string'."""
    return {("" if k is None else str(k)): v for k, v in raw.items() if v is not None}


def unusable(line: int | None, message: str) -> ParsedDeck:
    return ParsedDeck(None, {}, [Problem(line, message)])


def parse_deck(raw: bytes) -> ParsedDeck:
    """Parse and validate a deck file's bytes. Raises only on a bug (the loader turns that into an issue)."""
    try:
        data, root = read_yaml(raw)
    except DeckFileError as exc:
        return unusable(exc.line, exc.message)
    if not isinstance(data, dict):
        return unusable(1, f"top level must be a mapping with 'id', 'name', 'cards' (found {type(data).__name__})")

    problems: list[Problem] = []
    top_lines = field_lines(root)
    cards_data = data.get("cards", [])
    card_nodes: list[yaml.Node] = []
    if "cards" in data:
        cnode = child(root, "cards")
        card_nodes = list(cnode.value) if isinstance(cnode, yaml.SequenceNode) else []
    if cards_data is None:
        cards_data = []
    if isinstance(cards_data, BadValue):
        return unusable(cards_data.line, cards_data.message)
    if not isinstance(cards_data, list):
        return unusable(top_lines.get("cards"), "'cards' must be a list of cards (each starting with '- id: ...')")

    header = {k: v for k, v in _fields(data).items() if k != "cards"}
    bad = list(bad_values(header))
    if bad:
        return ParsedDeck(None, {}, [Problem(b.line, b.message) for b in bad])
    try:
        deck = DeckIn.model_validate({**header, "cards": []})
    except ValidationError as exc:
        return ParsedDeck(None, {}, [Problem(top_lines.get(field_of(err), 1), describe(err)) for err in exc.errors()])

    cards: list[Card] = []
    lines: dict[str, int] = {}
    for i, raw_card in enumerate(cards_data):
        node = card_nodes[i] if i < len(card_nodes) else None
        line = node_line(node) if node is not None else None
        flines = field_lines(node) if node is not None else {}
        cid = raw_card.get("id") if isinstance(raw_card, dict) else None
        cid = cid if isinstance(cid, str) else None
        if isinstance(raw_card, BadValue):
            problems.append(Problem(raw_card.line, raw_card.message, card_id=f"#{i + 1}"))
            continue
        if not isinstance(raw_card, dict):
            problems.append(
                Problem(
                    line,
                    f"card #{i + 1} must be a mapping with 'id', 'type', 'front', ... "
                    f"(found {type(raw_card).__name__})",
                )
            )
            continue
        fields = _fields(raw_card)
        bad = list(bad_values(fields))
        if bad:
            problems.extend(Problem(b.line, b.message, card_id=cid or f"#{i + 1}") for b in bad)
            continue
        try:
            card = to_card(CardIn.model_validate(fields))
        except ValidationError as exc:
            for err in exc.errors():
                where = loc_line(node, err["loc"]) if node is not None else None
                problems.append(
                    Problem(where or flines.get(field_of(err), line), describe(err), card_id=cid or f"#{i + 1}")
                )
            continue
        if card.id in lines:
            problems.append(
                Problem(
                    line,
                    f"duplicate card id (also at line {lines[card.id]} of this file); ids must be unique",
                    card_id=card.id,
                )
            )
            continue
        lines[card.id] = line or 0
        cards.append(card)
        if not card.source:
            problems.append(
                Problem(line, "no 'source'; name the paper/post (and section) the card is based on", card.id, "warning")
            )
    if not cards_data:
        problems.append(Problem(top_lines.get("cards", 1), "deck has no cards", severity="warning"))
    return ParsedDeck(to_deck(deck, tuple(cards)), lines, problems)
