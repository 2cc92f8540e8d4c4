"""Validating what a deck file says: pydantic models of the deck format (:class:`Deck`, :class:`Card`,
:class:`ChoiceOption`, :class:`KeyPoint`, the :data:`Text` type with no terminal control codes), the
one-line message for each pydantic error (:func:`describe`), and the plain records of
:mod:`.model` they turn into (:func:`to_card`, :func:`to_deck`).

Only parsing a changed deck file imports this module (and pydantic); decks read from the
parsed-deck cache never do.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Annotated, Any

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

from mi_prep.core.deck import model
from mi_prep.core.deck.cloze import CLOZE_OPEN_RE, parse_cloze
from mi_prep.core.deck.model import SLUG, CardType
from mi_prep.core.safe_text import control_name, find_control


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


class Deck(_Model):
    id: Annotated[str, Field(pattern=SLUG, max_length=80)]
    name: Text = Field(min_length=1)
    description: Text = ""
    tags: Tags = ()
    cards: tuple[Card, ...] = ()


def to_card(card: Card) -> model.Card:
    """The validated card as the plain record the rest of mi-prep reads."""
    return model.Card(
        card.id,
        card.type,
        card.front,
        card.back,
        card.tags,
        card.source,
        card.difficulty,
        tuple(model.ChoiceOption(o.text, o.correct, o.why) for o in card.options),
        tuple(model.KeyPoint(k.text, k.terms) for k in card.key_points),
    )


def to_deck(deck: Deck, cards: tuple[model.Card, ...]) -> model.Deck:
    return model.Deck(deck.id, deck.name, deck.description, deck.tags, cards)


# --------------------------------------------------------------------------- error messages


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"the text {shown!r}"
    return "an empty value" if value is None else type(value).__name__


def describe(err: Mapping[str, Any]) -> str:
    """One line for a pydantic error: what is wrong with which field, and what to write instead."""
    loc = ".".join(str(p) for p in err["loc"])
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


def field_of(err: Mapping[str, Any]) -> str:
    """The top-level field a pydantic error is about ("" for the whole model)."""
    return str(err["loc"][0]) if err["loc"] else ""
