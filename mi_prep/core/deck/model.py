"""The deck format as pydantic models: :class:`Deck`, :class:`Card`, :class:`ChoiceOption`,
:class:`KeyPoint`, and the :data:`Text` type (no terminal control codes)."""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from mi_prep.core.deck.cloze import CLOZE_OPEN_RE, cloze_numbers, parse_cloze
from mi_prep.core.grading import Point
from mi_prep.core.safe_text import control_name, find_control

SLUG = r"^[a-z0-9][a-z0-9._-]*$"
CardType = Literal["basic", "reverse", "cloze", "choice", "explain"]


def _no_control(value: str) -> str:
    found = find_control(value)
    if found:
        index, ch = found
        escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\x1b": "\\e"}
        if ch in escapes:  # most often a LaTeX command such as \frac inside double quotes
            why = (
                f"inside double quotes '{escapes[ch]}' is an escape for it: write LaTeX in single quotes "
                "or a '|' block, or remove it"
            )
        else:
            why = "remove it (terminal control codes are not allowed in deck text)"
        raise ValueError(f"holds the control character {control_name(ch)} at character {index + 1}; {why}")
    return value


Text = Annotated[str, AfterValidator(_no_control)]
"""Deck text: any characters but terminal control codes (tab and newline are fine)."""


def _split_tags(value: Any) -> Any:
    if isinstance(value, str):
        return tuple(t for t in value.split() if t)
    return value


Tags = Annotated[tuple[str, ...], BeforeValidator(_split_tags)]
"""Tags: a list, or one string of space-separated tags."""


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, coerce_numbers_to_str=True)


class ChoiceOption(_Model):
    text: Text = Field(min_length=1)
    correct: bool = False
    why: Text = ""


class KeyPoint(_Model):
    """One rubric point of an ``explain`` card."""

    text: Text = Field(min_length=1)
    terms: tuple[Text, ...] = ()
    """Words or phrases whose presence in a typed answer suggests the point was covered.
    Derived from ``text`` when not given."""

    @model_validator(mode="before")
    @classmethod
    def _from_string(cls, value: Any) -> Any:
        if isinstance(value, str):
            return {"text": value}
        return value

    def match_terms(self) -> tuple[str, ...]:
        """The terms the grader looks for (:mod:`mi_prep.core.grading`), each as space-separated words."""
        return tuple(" ".join(t) for t in self.grading_point().term_words())

    def grading_point(self) -> Point:
        return Point(self.text, self.terms)


class Card(_Model):
    id: Annotated[str, Field(pattern=SLUG, max_length=120)]
    type: CardType = "basic"
    front: Text = Field(min_length=1)
    back: Text = ""
    tags: Tags = ()
    source: Text = ""
    difficulty: Annotated[int, Field(ge=1, le=3)] = 2
    options: tuple[ChoiceOption, ...] = ()
    key_points: tuple[KeyPoint, ...] = ()

    @field_validator("tags")
    @classmethod
    def _tag_chars(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not re.fullmatch(r"[A-Za-z0-9_:.\-/]+", tag):
                raise ValueError(f"tag {tag!r} may only use letters, digits and _ : . - / (no spaces)")
        return value

    @field_validator("front")
    @classmethod
    def _cloze_rules(cls, value: str, info: ValidationInfo) -> str:
        """On ``front`` (not the whole card), so a cloze error names the line of ``front:``."""
        if info.data.get("type") == "cloze":
            parse_cloze(value)  # raises ValueError with a precise message
        elif CLOZE_OPEN_RE.search(value):
            raise ValueError("'{{c1::...}}' deletions only work on type: cloze")
        return value

    @model_validator(mode="after")
    def _type_rules(self) -> Card:
        if self.type in ("basic", "reverse", "explain") and not self.back:
            article = "an" if self.type[0] in "aeiou" else "a"
            raise ValueError(f"{article} {self.type} card needs a non-empty 'back'")
        if self.type == "choice":
            if len(self.options) < 2:
                raise ValueError("a choice card needs 'options' with at least two entries")
            right = [o for o in self.options if o.correct]
            if len(right) != 1:
                raise ValueError(f"a choice card needs exactly one option with 'correct: true' (found {len(right)})")
            texts = [o.text.casefold() for o in self.options]
            if len(set(texts)) != len(texts):
                raise ValueError("choice options must be distinct")
        elif self.options:
            raise ValueError("'options' is only allowed on type: choice")
        if self.type == "explain":
            if len(self.key_points) < 3:
                raise ValueError(f"an explain card needs at least 3 'key_points' (found {len(self.key_points)})")
        elif self.key_points:
            raise ValueError("'key_points' is only allowed on type: explain")
        return self

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


class Deck(_Model):
    id: Annotated[str, Field(pattern=SLUG, max_length=80)]
    name: Text = Field(min_length=1)
    description: Text = ""
    tags: Tags = ()
    cards: tuple[Card, ...] = ()
