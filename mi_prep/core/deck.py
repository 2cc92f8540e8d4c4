"""Deck format: pydantic models, a safe YAML loader with line numbers, and validation.

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

Loading never raises for bad content: :func:`load_decks` returns every deck it
could load plus a list of :class:`DeckIssue` naming file, line, card id and fix.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterable, Iterator, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mi_prep.core.grading import Point

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]



class _DeckLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """Safe loader with YAML 1.2 booleans: only true/false are booleans, so ``back: yes`` stays text."""


_DeckLoader.yaml_implicit_resolvers = {
    ch: [(tag, rx) for tag, rx in resolvers if tag != "tag:yaml.org,2002:bool"]
    for ch, resolvers in _SafeLoader.yaml_implicit_resolvers.items()
}
_DeckLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)

MAX_DECK_BYTES = 4 * 1024 * 1024
"""Deck files larger than this are refused (a deck of 10,000 cards is ~3 MB)."""

SLUG = r"^[a-z0-9][a-z0-9._-]*$"
CardType = Literal["basic", "reverse", "cloze", "choice", "explain"]

_CLOZE_RE = re.compile(r"\{\{c(\d+)::(.*?)\}\}(?!\})", re.S)
_CLOZE_OPEN_RE = re.compile(r"\{\{c(\d+)::")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True, frozen=True, coerce_numbers_to_str=True)


class ChoiceOption(_Model):
    text: str = Field(min_length=1)
    correct: bool = False
    why: str = ""


class KeyPoint(_Model):
    """One rubric point of an ``explain`` card."""

    text: str = Field(min_length=1)
    terms: tuple[str, ...] = ()
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
    front: str = Field(min_length=1)
    back: str = ""
    tags: tuple[str, ...] = ()
    source: str = ""
    difficulty: Annotated[int, Field(ge=1, le=3)] = 2
    options: tuple[ChoiceOption, ...] = ()
    key_points: tuple[KeyPoint, ...] = ()

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(t for t in value.split() if t)
        return value

    @field_validator("tags")
    @classmethod
    def _tag_chars(cls, value: tuple[str, ...]) -> tuple[str, ...]:
        for tag in value:
            if not re.fullmatch(r"[A-Za-z0-9_:.\-/]+", tag):
                raise ValueError(f"tag {tag!r} may only use letters, digits and _ : . - / (no spaces)")
        return value

    @model_validator(mode="after")
    def _type_rules(self) -> "Card":
        if self.type in ("basic", "reverse", "explain") and not self.back:
            raise ValueError(f"a {self.type} card needs a non-empty 'back'")
        if self.type == "cloze":
            parse_cloze(self.front)  # raises ValueError with a precise message
        elif _CLOZE_OPEN_RE.search(self.front):
            raise ValueError("'{{c1::...}}' deletions only work on type: cloze")
        if self.type == "choice":
            if len(self.options) < 2:
                raise ValueError("a choice card needs 'options' with at least two entries")
            right = [o for o in self.options if o.correct]
            if len(right) != 1:
                raise ValueError(
                    f"a choice card needs exactly one option with 'correct: true' (found {len(right)})"
                )
            texts = [o.text.casefold() for o in self.options]
            if len(set(texts)) != len(texts):
                raise ValueError("choice options must be distinct")
        elif self.options:
            raise ValueError("'options' is only allowed on type: choice")
        if self.type == "explain":
            if len(self.key_points) < 3:
                raise ValueError(
                    f"an explain card needs at least 3 'key_points' (found {len(self.key_points)})"
                )
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
    name: str = Field(min_length=1)
    description: str = ""
    tags: tuple[str, ...] = ()
    cards: tuple[Card, ...] = ()

    @field_validator("tags", mode="before")
    @classmethod
    def _tags(cls, value: Any) -> Any:
        if isinstance(value, str):
            return tuple(t for t in value.split() if t)
        return value


# ---------------------------------------------------------------------------
# Cloze helpers
# ---------------------------------------------------------------------------


def iter_cloze(text: str) -> Iterator[tuple[int, int, int, str, str]]:
    """Yield ``(start, end, number, answer, hint)`` for each deletion, ``text[start:end]`` being the
    whole ``{{cN::answer::hint}}``; raise ValueError saying what is wrong.

    ``}}`` inside a deletion (e.g. LaTeX ``\\frac{a}{b}}``) ends it early in Anki
    too, so it is refused here with a hint to add a space.
    """
    for match in _CLOZE_OPEN_RE.finditer(text):
        start = match.end()
        end = text.find("}}", start)
        if end < 0:
            raise ValueError(f"cloze c{match.group(1)} is not closed with '}}}}'")
        body = text[start:end]
        # a '}}}' run means the deletion's answer ends with '}': Anki closes at the first '}}'
        if text[end : end + 3] == "}}}":
            raise ValueError(
                f"cloze c{match.group(1)} ends in '}}}}}}': Anki would close it early; "
                "put a space before the closing '}}' (e.g. '\\frac{a}{b} }}')"
            )
        if "{{" in body:
            raise ValueError(f"cloze c{match.group(1)} contains another '{{{{' before it closes")
        answer, _, hint = body.partition("::")
        if not answer.strip():
            raise ValueError(f"cloze c{match.group(1)} has an empty answer")
        number = int(match.group(1))
        if number < 1:
            raise ValueError("cloze numbers start at c1")
        yield match.start(), end + 2, number, answer, hint


def parse_cloze(text: str) -> list[tuple[int, str, str]]:
    """Return ``[(number, answer, hint), ...]`` or raise ValueError saying what is wrong."""
    found = [(number, answer, hint) for _, _, number, answer, hint in iter_cloze(text)]
    if not found:
        raise ValueError("a cloze card needs at least one deletion like {{c1::answer}} in 'front'")
    return found


def cloze_numbers(text: str) -> list[int]:
    return sorted({n for n, _, _ in parse_cloze(text)})


def render_cloze(text: str, number: int, reveal: bool, mark: tuple[str, str] = ("[", "]")) -> str:
    """Render cloze ``number``: hidden as ``[...]`` / ``[hint]`` or revealed; other deletions shown."""

    def sub(m: re.Match[str]) -> str:
        n = int(m.group(1))
        answer, _, hint = m.group(2).partition("::")
        if n != number:
            return answer
        if reveal:
            return f"{mark[0]}{answer}{mark[1]}"
        return f"{mark[0]}{hint or '...'}{mark[1]}"

    return _CLOZE_RE.sub(sub, text)


# ---------------------------------------------------------------------------
# Loading
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class DeckIssue:
    path: str
    line: int | None
    message: str
    card_id: str | None = None
    severity: Literal["error", "warning"] = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        card = f" card '{self.card_id}':" if self.card_id else ""
        return f"{where}: {self.severity}:{card} {self.message}"


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


class _DeckFileError(Exception):
    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


def _node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_tree(node: yaml.Node, seen: set[int]) -> None:
    """Refuse aliases (billion-laughs) and duplicate mapping keys, which YAML silently accepts."""
    if id(node) in seen:
        raise _DeckFileError(_node_line(node), "YAML anchors/aliases (&name / *name) are not allowed in deck files; write the value out")
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value == "<<":
                    raise _DeckFileError(_node_line(key), "YAML merge keys ('<<') are not allowed in deck files")
                if key.value in keys:
                    raise _DeckFileError(
                        _node_line(key),
                        f"duplicate key '{key.value}' (first at line {keys[key.value]}); remove one",
                    )
                keys[key.value] = _node_line(key)
            _check_tree(key, seen)
            _check_tree(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_tree(item, seen)


def _read_yaml(path: Path) -> tuple[Any, yaml.Node]:
    size = path.stat().st_size
    if size > MAX_DECK_BYTES:
        raise _DeckFileError(None, f"file is {size:,} bytes, over the {MAX_DECK_BYTES:,}-byte limit; split it into several decks")
    try:
        text = path.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _DeckFileError(None, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8") from None
    if not text.strip():
        raise _DeckFileError(None, "file is empty; add 'id', 'name' and 'cards', or delete the file")
    loader = _DeckLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise _DeckFileError(None, "file holds no YAML document (only comments?); add 'id', 'name' and 'cards'")
        _check_tree(node, set())
        data = loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        tag = ""
        if exc.problem and "tag" in exc.problem:
            tag = exc.problem.split("tag", 1)[1].strip().strip(":").strip()
        raise _DeckFileError(
            line, f"unsafe or unknown YAML tag {tag} refused; deck files may only hold plain text, lists and mappings"
        ) from None
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or str(exc)
        hint = ""
        if "mapping values are not allowed" in problem:
            hint = " (a ': ' inside a value? quote the value)"
        elif "found character '\\t'" in problem:
            hint = " (tabs are not allowed for indentation; use spaces)"
        raise _DeckFileError(line, f"YAML syntax error: {problem}{hint}") from None
    except yaml.YAMLError as exc:
        raise _DeckFileError(None, f"YAML error: {exc}") from None
    finally:
        loader.dispose()
    return data, node


def _field_lines(node: yaml.Node) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: _node_line(v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _describe(err: dict[str, Any]) -> str:
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
    if err["type"] == "literal_error":
        return f"'{loc}': {msg}"
    return f"'{loc}': {msg}" if loc else msg


def load_deck_file(path: Path) -> tuple[LoadedDeck | None, list[DeckIssue]]:
    """Load one deck file. Bad cards are reported and skipped; the rest of the deck loads."""
    spath = str(path)
    try:
        data, root = _read_yaml(path)
    except _DeckFileError as exc:
        return None, [DeckIssue(spath, exc.line, exc.message)]
    except OSError as exc:
        return None, [DeckIssue(spath, None, f"cannot read file: {exc.strerror}")]
    if not isinstance(data, dict):
        return None, [DeckIssue(spath, 1, f"top level must be a mapping with 'id', 'name', 'cards' (found {type(data).__name__})")]

    issues: list[DeckIssue] = []
    top_lines = _field_lines(root)
    cards_data = data.get("cards", [])
    card_nodes: list[yaml.Node] = []
    if "cards" in data:
        cnode = next(v for k, v in root.value if isinstance(k, yaml.ScalarNode) and k.value == "cards")
        card_nodes = list(cnode.value) if isinstance(cnode, yaml.SequenceNode) else []
    if cards_data is None:
        cards_data = []
    if not isinstance(cards_data, list):
        return None, [DeckIssue(spath, top_lines.get("cards"), "'cards' must be a list of cards (each starting with '- id: ...')")]

    header = {k: v for k, v in data.items() if k != "cards"}
    try:
        deck = Deck.model_validate({**header, "cards": []})
    except ValidationError as exc:
        for err in exc.errors():
            key = str(err["loc"][0]) if err["loc"] else ""
            issues.append(DeckIssue(spath, top_lines.get(key, 1), _describe(err)))
        return None, issues

    cards: list[Card] = []
    lines: dict[str, int] = {}
    seen: dict[str, int] = {}
    for i, raw in enumerate(cards_data):
        node = card_nodes[i] if i < len(card_nodes) else None
        line = _node_line(node) if node is not None else None
        flines = _field_lines(node) if node is not None else {}
        cid = raw.get("id") if isinstance(raw, dict) else None
        cid = cid if isinstance(cid, str) else None
        if not isinstance(raw, dict):
            issues.append(DeckIssue(spath, line, f"card #{i + 1} must be a mapping with 'id', 'type', 'front', ... (found {type(raw).__name__})"))
            continue
        try:
            card = Card.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                issues.append(DeckIssue(spath, flines.get(key, line), _describe(err), card_id=cid or f"#{i + 1}"))
            continue
        if card.id in seen:
            issues.append(
                DeckIssue(spath, line, f"duplicate card id (also at line {seen[card.id]} of this file); ids must be unique", card_id=card.id)
            )
            continue
        seen[card.id] = line or 0
        lines[card.id] = line or 0
        cards.append(card)
        if not card.source:
            issues.append(DeckIssue(spath, line, "no 'source'; name the paper/post (and section) the card is based on", card.id, "warning"))
    if not cards_data:
        issues.append(DeckIssue(spath, top_lines.get("cards", 1), "deck has no cards", severity="warning"))
    return LoadedDeck(deck.model_copy(update={"cards": tuple(cards)}), path, lines), issues


def deck_files(paths: Iterable[Path | str]) -> list[Path]:
    files: list[Path] = []
    for p in map(Path, paths):
        if p.is_dir():
            files.extend(sorted([*p.glob("*.yaml"), *p.glob("*.yml")]))
        else:
            files.append(p)
    return files


def load_decks(*paths: Path | str) -> DeckSet:
    """Load every deck file under ``paths`` (directories or files).

    One bad file never stops the others. Card ids must be unique across all decks;
    a duplicate is reported naming both places and the second copy is skipped.
    """
    decks: list[LoadedDeck] = []
    issues: list[DeckIssue] = []
    files = deck_files(paths)
    for p in paths:
        if not Path(p).exists():
            issues.append(DeckIssue(str(p), None, "no such file or directory"))
    card_home: dict[str, tuple[str, int]] = {}
    deck_home: dict[str, str] = {}
    for path in files:
        if not path.exists():
            continue
        loaded, file_issues = load_deck_file(path)
        issues.extend(file_issues)
        if loaded is None:
            continue
        if loaded.id in deck_home:
            issues.append(DeckIssue(str(path), 1, f"deck id '{loaded.id}' is already used by {deck_home[loaded.id]}; rename one"))
            continue
        deck_home[loaded.id] = str(path)
        kept: list[Card] = []
        for card in loaded.deck.cards:
            line = loaded.card_lines.get(card.id, 0)
            if card.id in card_home:
                other, oline = card_home[card.id]
                issues.append(
                    DeckIssue(str(path), line, f"duplicate card id; also defined at {other}:{oline}. Card ids must be unique across all decks", card.id)
                )
                continue
            card_home[card.id] = (str(path), line)
            kept.append(card)
        if len(kept) != len(loaded.deck.cards):
            loaded = LoadedDeck(loaded.deck.model_copy(update={"cards": tuple(kept)}), loaded.path, loaded.card_lines)
        decks.append(loaded)
    return DeckSet(decks, issues)


def deck_json_schema() -> dict[str, Any]:
    schema = Deck.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mi-prep deck"
    # the loader also accepts the short forms: a key point as a plain string, tags as one string
    props = schema["$defs"]["Card"]["properties"]
    props["key_points"]["items"] = {"anyOf": [{"type": "string", "minLength": 1}, {"$ref": "#/$defs/KeyPoint"}]}
    for owner in (props, schema["properties"]):
        owner["tags"] = {"anyOf": [owner["tags"], {"type": "string"}], "default": []}
    return schema


def deck_json_schema_text() -> str:
    return json.dumps(deck_json_schema(), indent=2)
