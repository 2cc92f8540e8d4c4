"""The deck format as plain immutable records: :class:`Deck`, :class:`Card`, :class:`ChoiceOption`,
:class:`KeyPoint`.

These hold content that has already been validated (:mod:`.validation` checks what a YAML file
says and builds them; :mod:`.cache` rebuilds them from a parsed-deck cache). They import neither
pydantic nor YAML, so reading decks from the cache costs neither.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from mi_prep.core.deck.cloze import cloze_numbers
from mi_prep.core.grading import Point

SLUG = r"^[a-z0-9][a-z0-9._-]*$"
CardType = Literal["basic", "reverse", "cloze", "choice", "explain"]


@dataclass(frozen=True, slots=True)
class ChoiceOption:
    text: str
    correct: bool = False
    why: str = ""


@dataclass(frozen=True, slots=True)
class KeyPoint:
    """One rubric point of an ``explain`` card."""

    text: str
    terms: tuple[str, ...] = ()
    """Words or phrases whose presence in a typed answer suggests the point was covered.
    Derived from ``text`` when not given."""

    def match_terms(self) -> tuple[str, ...]:
        """The terms the grader looks for (:mod:`mi_prep.core.grading`), each as space-separated words."""
        return tuple(" ".join(t) for t in self.grading_point().term_words())

    def grading_point(self) -> Point:
        return Point(self.text, self.terms)


@dataclass(frozen=True, slots=True)
class Card:
    id: str
    type: CardType = "basic"
    front: str = ""
    back: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    difficulty: int = 2
    options: tuple[ChoiceOption, ...] = ()
    key_points: tuple[KeyPoint, ...] = ()

    # ---- review items -------------------------------------------------
    def item_ids(self) -> list[str]:
        """Ids of the schedulable items this card produces (stable across edits)."""
        if self.type == "reverse":
            return [self.id, f"{self.id}#rev"]
        if self.type == "cloze":
            return [f"{self.id}#c{n}" for n in cloze_numbers(self.front)]
        return [self.id]

    @property
    def correct_index(self) -> int:
        return next(i for i, o in enumerate(self.options) if o.correct)

    # ---- the parsed-deck cache's form (plain tuples, see mi_prep.core.deck.cache) ----
    def to_row(self) -> tuple[Any, ...]:
        return (
            self.id,
            self.type,
            self.front,
            self.back,
            self.tags,
            self.source,
            self.difficulty,
            tuple((o.text, o.correct, o.why) for o in self.options),
            tuple((k.text, k.terms) for k in self.key_points),
        )

    @classmethod
    def from_row(cls, row: tuple[Any, ...]) -> Card:
        cid, kind, front, back, tags, source, difficulty, options, key_points = row
        return cls(
            cid,
            kind,
            front,
            back,
            tags,
            source,
            difficulty,
            tuple(ChoiceOption(*o) for o in options) if options else (),
            tuple(KeyPoint(*k) for k in key_points) if key_points else (),
        )


@dataclass(frozen=True, slots=True)
class Deck:
    id: str
    name: str
    description: str = ""
    tags: tuple[str, ...] = ()
    cards: tuple[Card, ...] = ()

    def with_cards(self, cards: tuple[Card, ...]) -> Deck:
        return Deck(self.id, self.name, self.description, self.tags, cards)
