"""Deck format: plain records, a safe YAML loader with line numbers, validation, and a parsed-deck cache.

A deck file (``decks/*.yaml``) looks like::

    id: superposition
    name: Superposition
    description: Features stored in more directions than dimensions.
    tags: [superposition]
    cards:
      - id: sup-definition
        type: basic            # basic | reverse | cloze | choice | explain
        front: What is superposition?
        back: A model representing more features than it has dimensions ...
        tags: [definition]
        source: Elhage et al. 2022, arXiv 2209.10652, section 1
        difficulty: 1          # 1 (recall) .. 3 (interview depth)

Card types and their extra fields:

* ``cloze``: ``front`` holds Anki-style deletions ``{{c1::answer}}`` or
  ``{{c1::answer::hint}}``; ``back`` is optional extra text. Each cloze number
  becomes its own review item, as in Anki.
* ``reverse``: reviewed front->back and back->front (two review items).
* ``choice``: ``options:`` a list of ``{text, correct, why}``; exactly one is correct.
* ``explain``: ``back`` is the model answer, ``key_points:`` a rubric list of at
  least three points (strings or ``{text, terms}``; ``terms`` are the words that
  show a typed answer covered the point).

Loading never raises for bad content: :func:`load_decks` returns every deck it can read, with every
problem found (file, line, card id, what to fix) as a :class:`DeckIssue`.

Modules: :mod:`.model` (the records: :class:`Card`, :class:`Deck`, ...), :mod:`.cloze` (deletions),
:mod:`.validation` (pydantic models of the format, error messages), :mod:`.yaml_loading` (the safe
loader, YAML error hints), :mod:`.parsing` (one file's bytes to a :class:`ParsedDeck`), :mod:`.cache`
(parsed decks keyed by content), :mod:`.files` (finding and reading deck files), :mod:`.deckset`
(:func:`load_decks`, :class:`DeckSet`), :mod:`.issues`, :mod:`.schema`. Importing this package
imports neither YAML nor pydantic; parsing a file that is not in the cache does.
"""

from __future__ import annotations

from mi_prep.core.deck.cache import DeckCache
from mi_prep.core.deck.cloze import MAX_CLOZE, cloze_numbers, iter_cloze, parse_cloze, render_cloze, replace_clozes
from mi_prep.core.deck.deckset import DeckSet, LoadedDeck, load_deck_file, load_decks
from mi_prep.core.deck.files import DECK_SUFFIXES, MAX_DECK_BYTES, deck_files, read_deck_bytes, scan_deck_paths
from mi_prep.core.deck.issues import DeckIssue, ParsedDeck, Problem
from mi_prep.core.deck.model import SLUG, Card, CardType, ChoiceOption, Deck, KeyPoint
from mi_prep.core.deck.schema import deck_json_schema, deck_json_schema_text

__all__ = [
    "DECK_SUFFIXES",
    "MAX_CLOZE",
    "MAX_DECK_BYTES",
    "SLUG",
    "Card",
    "CardType",
    "ChoiceOption",
    "Deck",
    "DeckCache",
    "DeckIssue",
    "DeckSet",
    "KeyPoint",
    "LoadedDeck",
    "ParsedDeck",
    "Problem",
    "cloze_numbers",
    "deck_files",
    "deck_json_schema",
    "deck_json_schema_text",
    "iter_cloze",
    "load_deck_file",
    "load_decks",
    "parse_cloze",
    "read_deck_bytes",
    "render_cloze",
    "replace_clozes",
    "scan_deck_paths",
]
