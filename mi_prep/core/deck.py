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

import errno
import json
import os
import re
import stat
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any, Iterable, Iterator, Literal

import yaml
from pydantic import (
    AfterValidator, BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, field_validator, model_validator,
)

from mi_prep.core.grading import Point
from mi_prep.core.safe_text import control_name, find_control, safe_text

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]



class _DeckLoader(_SafeLoader):  # type: ignore[misc, valid-type]
    """Safe loader that keeps every plain scalar as the exact text written.

    YAML 1.1 turns ``4:1`` into 241, ``010`` into 8, ``2.10`` into 2.1 and ``2024-02-30`` into a
    crash; in a flashcard every one of those is text. Only ``~``/``null``/an empty value is read as
    null; pydantic turns ``"2"`` into the int a field like ``difficulty`` wants and ``"true"`` into a
    bool. Explicit tags (``!!int 3``) are checked against their type and kept as text too;
    ``!!timestamp``, ``!!binary``, ``!!set`` and the like are refused.
    """


_DeckLoader.yaml_implicit_resolvers = {}
_DeckLoader.add_implicit_resolver(
    "tag:yaml.org,2002:null", re.compile(r"^(?:~|null|Null|NULL|)$"), ["~", "n", "N", ""]
)

_TAG_VALUE_RE = {
    "int": re.compile(r"[-+]?(?:0|[1-9][0-9_]{0,30}|0o?[0-7_]{1,30}|0x[0-9a-fA-F_]{1,30}|0b[01_]{1,100})"),
    "float": re.compile(r"[-+]?(?:[0-9][0-9_]{0,30}(?:\.[0-9_]{0,30})?(?:[eE][-+]?[0-9]{1,3})?|\.[0-9_]{1,30}|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"),
    "bool": re.compile(r"true|True|TRUE|false|False|FALSE"),
}


@dataclass(frozen=True)
class _BadValue:
    """A scalar whose explicit tag does not fit its value; reported with its line, never constructed."""

    line: int
    message: str


def _construct_text(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return _BadValue(_node_line(node), "the '!!str' tag is on a list or mapping; remove the tag")
    return loader.construct_scalar(node)


def _construct_tagged(kind: str):
    def construct(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
        if not isinstance(node, yaml.ScalarNode):
            return _BadValue(_node_line(node), f"the '!!{kind}' tag is on a list or mapping; remove the tag")
        value = loader.construct_scalar(node)
        if not _TAG_VALUE_RE[kind].fullmatch(value.strip()):
            shown = value if len(value) <= 40 else value[:37] + "..."
            return _BadValue(_node_line(node), f"{shown!r} is not a valid !!{kind}; fix the value or drop the '!!{kind}' tag")
        return value.strip()

    return construct


def _construct_null(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
    if not isinstance(node, yaml.ScalarNode):
        return _BadValue(_node_line(node), "the '!!null' tag is on a list or mapping; remove the tag")
    value = loader.construct_scalar(node)
    if value.strip() not in ("", "~", "null", "Null", "NULL"):
        return _BadValue(_node_line(node), f"{value!r} is not a valid !!null; write '~' or drop the '!!null' tag")
    return None


_DeckLoader.add_constructor("tag:yaml.org,2002:str", _construct_text)
for _kind in ("int", "float", "bool"):
    _DeckLoader.add_constructor(f"tag:yaml.org,2002:{_kind}", _construct_tagged(_kind))
_DeckLoader.add_constructor("tag:yaml.org,2002:null", _construct_null)


def _refuse_tag(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
    """Any other tag (``!!timestamp``, ``!!binary``, ``!!python/...``, ``!custom``): never constructed,
    reported on its line; only the card holding it is skipped."""
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    return _BadValue(_node_line(node), f"YAML tag '{tag}' is not allowed in deck files; remove it "
                                       "(deck values are plain text, lists and mappings)")


for _kind in ("timestamp", "binary", "set", "omap", "pairs", "value", "merge", "yaml"):
    _DeckLoader.add_constructor(f"tag:yaml.org,2002:{_kind}", _refuse_tag)
_DeckLoader.add_constructor(None, _refuse_tag)

MAX_DECK_BYTES = 4 * 1024 * 1024
"""Deck files larger than this are refused (a deck of 10,000 cards is ~3 MB)."""

SLUG = r"^[a-z0-9][a-z0-9._-]*$"
CardType = Literal["basic", "reverse", "cloze", "choice", "explain"]

_CLOZE_OPEN_RE = re.compile(r"\{\{c([0-9]+)::")  # ASCII digits only: c١ is not c1
MAX_CLOZE = 999
"""Cloze numbers go from c1 to c999 (each becomes a review item and an Anki card ordinal)."""


def _no_control(value: str) -> str:
    found = find_control(value)
    if found:
        index, ch = found
        escapes = {"\a": "\\a", "\b": "\\b", "\f": "\\f", "\v": "\\v", "\x1b": "\\e"}
        if ch in escapes:  # most often a LaTeX command such as \frac inside double quotes
            why = (f"inside double quotes '{escapes[ch]}' is an escape for it: write LaTeX in single quotes "
                   "or a '|' block, or remove it")
        else:
            why = "remove it (terminal control codes are not allowed in deck text)"
        raise ValueError(f"holds the control character {control_name(ch)} at character {index + 1}; {why}")
    return value


Text = Annotated[str, AfterValidator(_no_control)]
"""Deck text: any characters but terminal control codes (tab and newline are fine)."""


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
    tags: tuple[str, ...] = ()
    source: Text = ""
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

    @field_validator("front")
    @classmethod
    def _cloze_rules(cls, value: str, info: ValidationInfo) -> str:
        """On ``front`` (not the whole card), so a cloze error names the line of ``front:``."""
        if info.data.get("type") == "cloze":
            parse_cloze(value)  # raises ValueError with a precise message
        elif _CLOZE_OPEN_RE.search(value):
            raise ValueError("'{{c1::...}}' deletions only work on type: cloze")
        return value

    @model_validator(mode="after")
    def _type_rules(self) -> "Card":
        if self.type in ("basic", "reverse", "explain") and not self.back:
            article = "an" if self.type[0] in "aeiou" else "a"
            raise ValueError(f"{article} {self.type} card needs a non-empty 'back'")
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
    name: Text = Field(min_length=1)
    description: Text = ""
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
        if _open_braces(body) > 0:
            # e.g. {{c1::$\frac{e^{x_i}}{...}$}}: the '}}' after x_i closes a LaTeX group, but Anki (and
            # any cloze parser) ends the deletion there and shows the rest of the answer on the front
            shown = text[max(start, end - 20) : end + 2]
            raise ValueError(
                f"cloze c{match.group(1)}: the '}}}}' in '...{shown}' closes braces opened inside the "
                "deletion (LaTeX?), so Anki would end the deletion there and show the rest of the answer "
                "on the front; put a space between the two braces ('} }') inside the deletion"
            )
        answer, _, hint = body.partition("::")
        if not answer.strip():
            raise ValueError(f"cloze c{match.group(1)} has an empty answer")
        number = int(match.group(1)[:6])
        if number < 1:
            raise ValueError("cloze numbers start at c1")
        if number > MAX_CLOZE or len(match.group(1)) > 6:
            raise ValueError(f"cloze c{match.group(1)[:12]} is out of range; number deletions c1 to c{MAX_CLOZE}")
        yield match.start(), end + 2, number, answer, hint


def _open_braces(body: str) -> int:
    """How many ``{`` in ``body`` are still open at its end (``\\{`` and ``\\}`` are literal braces)."""
    depth = 0
    for m in re.finditer(r"\\[{}]|[{}]", body):
        tok = m.group()
        if tok == "{":
            depth += 1
        elif tok == "}" and depth > 0:
            depth -= 1
    return depth


def parse_cloze(text: str) -> list[tuple[int, str, str]]:
    """Return ``[(number, answer, hint), ...]`` or raise ValueError saying what is wrong."""
    found = [(number, answer, hint) for _, _, number, answer, hint in iter_cloze(text)]
    if not found:
        raise ValueError("a cloze card needs at least one deletion like {{c1::answer}} in 'front'")
    return found


def cloze_numbers(text: str) -> list[int]:
    return sorted({n for n, _, _ in parse_cloze(text)})


def render_cloze(text: str, number: int, reveal: bool, mark: tuple[str, str] = ("[", "]")) -> str:
    """Render cloze ``number``: hidden as ``[...]`` / ``[hint]`` or revealed; other deletions shown.

    Uses the validator's own scan (:func:`iter_cloze`), so what renders is exactly what ``check`` passed."""
    out: list[str] = []
    pos = 0
    for start, end, n, answer, hint in iter_cloze(text):
        out.append(text[pos:start])
        if n != number:
            out.append(answer)
        elif reveal:
            out.append(f"{mark[0]}{answer}{mark[1]}")
        else:
            out.append(f"{mark[0]}{hint or '...'}{mark[1]}")
        pos = end
    out.append(text[pos:])
    return "".join(out)


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
        return safe_text(f"{where}: {self.severity}:{card} {self.message}")


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


_KIND_NAMES = {stat.S_IFIFO: "a FIFO (named pipe)", stat.S_IFCHR: "a character device", stat.S_IFBLK: "a block device",
               stat.S_IFSOCK: "a socket", stat.S_IFDIR: "a directory"}


def read_deck_bytes(path: Path, limit: int = MAX_DECK_BYTES) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them, or a :class:`_DeckFileError` saying why not.

    Opened without blocking and checked with ``fstat`` before reading, so a FIFO or a device named
    ``*.yaml`` (or a symlink to ``/dev/zero``) is refused instead of hanging or reading forever; the
    size cap is enforced while reading, not trusted from ``stat``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise _DeckFileError(None, _os_problem(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _KIND_NAMES.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise _DeckFileError(None, f"is {kind}, not a regular file; deck files must be ordinary .yaml files")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise _DeckFileError(
                    None, f"file is over the {limit:,}-byte limit; split it into several decks"
                )
        return b"".join(chunks)
    except OSError as exc:
        raise _DeckFileError(None, _os_problem(exc)) from None
    finally:
        os.close(fd)


def _os_problem(exc: OSError) -> str:
    """One line for a file the loader could not read, saying what to do."""
    if exc.errno == errno.EACCES or exc.errno == errno.EPERM:
        return "cannot read: permission denied; make it readable (chmod u+r) or move it out of the deck folder"
    if exc.errno == errno.ELOOP:
        return "is a symlink loop; point the link at a real deck file or delete it"
    if exc.errno == errno.ENOENT:
        return "does not exist (a broken symlink?); fix the link or delete it"
    if exc.errno == errno.EISDIR:
        return "is a directory, not a deck file; rename it so it does not end in .yaml"
    return f"cannot read: {exc.strerror or exc}"


def _line_text(text: str, line: int) -> str:
    lines = text.split("\n", line)
    return lines[line - 1] if 0 < line <= len(lines) else ""


def _read_yaml(path: Path) -> tuple[Any, yaml.Node]:
    raw = read_deck_bytes(path)
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        raise _DeckFileError(
            line, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
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
        problem = exc.problem or ""
        if "expected a scalar node" in problem:
            raise _DeckFileError(line, "a tag for text (e.g. '!!str') is on a list or mapping; remove the tag") from None
        if "unhashable key" in problem:
            raise _DeckFileError(line, "a mapping key must be plain text, not a list or mapping") from None
        if "tag" not in problem:
            raise _DeckFileError(line, f"YAML error: {problem or exc}") from None
        tag = problem.split("tag", 1)[1].strip().strip(":").strip()
        raise _DeckFileError(
            line, f"unsafe or unknown YAML tag {tag} refused; deck files may only hold plain text, lists and mappings"
        ) from None
    except yaml.MarkedYAMLError as exc:
        problem = exc.problem or str(exc)
        mark = exc.problem_mark or exc.context_mark
        if "end of stream" in problem and exc.context_mark is not None:
            mark = exc.context_mark  # where the unclosed quote or bracket opened, not past the last line
        line = min(mark.line + 1, text.count("\n") + 1) if mark else None
        hint = ""
        if "found character '\\t'" in problem or (line and "\t" in _line_text(text, line)):
            hint = " (tabs are not allowed for indentation; use spaces)"
        elif "end of stream" in problem:
            hint = " (a quote or bracket opened here is never closed)"
        elif "another document" in problem:
            hint = " (a deck file holds one YAML document; remove the '---' line)"
        elif "did not find expected key" in problem or "expected <block end>" in problem:
            hint = (" (a value that starts with a quote, '[' or '{' must be quoted as a whole, e.g. "
                    "front: \"[A][B] pattern\"; a ' inside single quotes is written '')")
        elif "cannot start any token" in problem:
            hint = " (a value may not start with @ or `; quote the value)"
        elif "unknown escape character" in problem:
            hint = (" (inside double quotes a backslash starts an escape; for LaTeX use single quotes "
                    "or a block scalar '|')")
        elif "mapping values are not allowed" in problem:
            hint = " (a ': ' inside a value? quote the value)"
        raise _DeckFileError(line, f"YAML syntax error: {problem}{hint}") from None
    except yaml.reader.ReaderError as exc:
        # the reader counts characters, not lines: give the line and column the user can jump to
        pos = min(exc.position, len(text))
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        what = control_name(chr(exc.character)) if isinstance(exc.character, int) else repr(exc.character)
        fix = "delete it"
        if pos > 0 and text[pos - 1] == "\\":  # "\frac" in double quotes: the escape \f made a form feed
            fix = ("inside double quotes a backslash starts an escape: write LaTeX in single quotes "
                   "or a '|' block")
        raise _DeckFileError(
            line, f"character {what} at column {column} is not allowed in YAML; {fix}"
        ) from None
    except yaml.YAMLError as exc:
        raise _DeckFileError(None, f"YAML error: {exc}") from None
    except RecursionError:
        raise _DeckFileError(None, "lists or mappings nested too deeply; a deck is at most a few levels deep") from None
    finally:
        loader.dispose()
    return data, node


def _loc_line(node: yaml.Node, loc: tuple[Any, ...]) -> int | None:
    """The line of the value a pydantic error location (``("options", 1, "text")``) points at."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            node = next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == part), None)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            break
        if node is None:
            break
        line = _node_line(node)
    return line


def _field_lines(node: yaml.Node) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: _node_line(v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def _kind_of(value: Any) -> str:
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, str):
        shown = value if len(value) <= 30 else value[:27] + "..."
        return f"the text {shown!r}"
    return "an empty value" if value is None else type(value).__name__


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


def _bad_values(value: Any) -> Iterator[_BadValue]:
    """Every tagged scalar in ``value`` whose tag did not fit (see :class:`_DeckLoader`)."""
    if isinstance(value, _BadValue):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from _bad_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from _bad_values(v)


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
        return None, [DeckIssue(str(path), None, f"could not be loaded ({type(exc).__name__}: {exc}); "
                                                 "fix or move the file, and please report this case")]


def _load_deck_file(path: Path) -> tuple[LoadedDeck | None, list[DeckIssue]]:
    spath = str(path)
    try:
        data, root = _read_yaml(path)
    except _DeckFileError as exc:
        return None, [DeckIssue(spath, exc.line, exc.message)]
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
    if isinstance(cards_data, _BadValue):
        return None, [DeckIssue(spath, cards_data.line, cards_data.message)]
    if not isinstance(cards_data, list):
        return None, [DeckIssue(spath, top_lines.get("cards"), "'cards' must be a list of cards (each starting with '- id: ...')")]

    header = {k: v for k, v in _fields(data).items() if k != "cards"}
    bad = list(_bad_values(header))
    if bad:
        return None, [DeckIssue(spath, b.line, b.message) for b in bad]
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
        if isinstance(raw, _BadValue):
            issues.append(DeckIssue(spath, raw.line, raw.message, card_id=f"#{i + 1}"))
            continue
        if not isinstance(raw, dict):
            issues.append(DeckIssue(spath, line, f"card #{i + 1} must be a mapping with 'id', 'type', 'front', ... (found {type(raw).__name__})"))
            continue
        raw = _fields(raw)
        bad = list(_bad_values(raw))
        if bad:
            issues.extend(DeckIssue(spath, b.line, b.message, card_id=cid or f"#{i + 1}") for b in bad)
            continue
        try:
            card = Card.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                key = str(err["loc"][0]) if err["loc"] else ""
                where = _loc_line(node, err["loc"]) if node is not None else None
                issues.append(DeckIssue(spath, where or flines.get(key, line), _describe(err), card_id=cid or f"#{i + 1}"))
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


DECK_SUFFIXES = (".yaml", ".yml")


def scan_deck_paths(paths: Iterable[Path | str]) -> tuple[list[Path], list[DeckIssue]]:
    """The deck files under ``paths`` (directories are read one level deep, ``*.yaml``/``*.yml``),
    plus an issue for every path that cannot be used: missing, unreadable, a broken symlink or a loop.
    Nothing is skipped silently."""
    files: list[Path] = []
    issues: list[DeckIssue] = []
    seen: set[Path] = set()

    def add(f: Path) -> None:
        try:
            key = f.resolve()
        except (OSError, RuntimeError):
            key = f
        if key not in seen:  # the same file given twice (or a file and its folder) is read once
            seen.add(key)
            files.append(f)

    for raw in paths:
        if str(raw).strip() == "":
            issues.append(DeckIssue("''", None, "an empty deck path was given (--decks '' or an empty "
                                                "entry in $MI_PREP_DECKS); give a file or folder"))
            continue
        p = Path(raw)
        try:
            is_dir = p.is_dir()
        except OSError as exc:
            issues.append(DeckIssue(str(p), None, _os_problem(exc)))
            continue
        if not is_dir:
            if p.is_symlink() and not p.exists():
                issues.append(DeckIssue(str(p), None, _broken_link(p)))
            elif not p.exists():
                issues.append(DeckIssue(str(p), None, "no such file or directory; check the --decks path or $MI_PREP_DECKS"))
            else:
                add(p)
            continue
        try:
            names = sorted(e.name for e in os.scandir(p) if e.name.lower().endswith(DECK_SUFFIXES))
        except OSError as exc:
            issues.append(DeckIssue(str(p), None, f"cannot list this deck directory ({exc.strerror or exc}); "
                                                  "make it readable (chmod u+rx) or pass another --decks path"))
            continue
        names = [n for n in names if not n.startswith(".")]  # editor files (.#deck.yaml)
        if not names:
            issues.append(DeckIssue(str(p), None, "no deck files (*.yaml, *.yml) in this folder; check the "
                                                  "--decks path", severity="warning"))
        for name in names:
            f = p / name
            if f.is_symlink():
                try:
                    os.stat(f)
                except OSError as exc:
                    issues.append(DeckIssue(str(f), None, _broken_link(f) if exc.errno == errno.ENOENT else _os_problem(exc)))
                    continue
            add(f)
    return files, issues


def _broken_link(p: Path) -> str:
    try:
        target = os.readlink(p)
    except OSError:
        target = "?"
    return f"broken symlink (points to {target}, which does not exist); fix the link or delete it"


def deck_files(paths: Iterable[Path | str]) -> list[Path]:
    return scan_deck_paths(paths)[0]


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
