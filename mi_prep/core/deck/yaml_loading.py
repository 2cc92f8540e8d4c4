"""Safe YAML loading for deck files: every plain scalar kept as the text written, no aliases,
merge keys, duplicate keys or unsafe tags, and every syntax error turned into one line naming
its line and what to do. Also the helpers that map a value back to its line in the file."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import yaml

from mi_prep.core.deck.issues import DeckFileError
from mi_prep.core.safe_text import control_name

try:  # the C parser is ~10x faster; fall back to pure Python where libyaml is missing
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - depends on the PyYAML build
    from yaml import SafeLoader as _SafeLoader


class _DeckLoader(_SafeLoader):
    """Safe loader that keeps every plain scalar as the exact text written.

    YAML 1.1 turns ``4:1`` into 241, ``010`` into 8, ``2.10`` into 2.1 and ``2024-02-30`` into a
    crash; in a flashcard every one of those is text. Only ``~``/``null``/an empty value is read as
    null; pydantic turns ``"2"`` into the int a field like ``difficulty`` wants and ``"true"`` into a
    bool. Explicit tags (``!!int 3``) are checked against their type and kept as text too;
    ``!!timestamp``, ``!!binary``, ``!!set`` and the like are refused.
    """


_NULL_RE = re.compile(r"^(?:~|null|Null|NULL|)$")
"""The only values read as null (plain, or tagged ``!!null``)."""

_DeckLoader.yaml_implicit_resolvers = {}
_DeckLoader.add_implicit_resolver("tag:yaml.org,2002:null", _NULL_RE, ["~", "n", "N", ""])

_TAG_VALUE_RE = {
    "int": re.compile(r"[-+]?(?:0|[1-9][0-9_]{0,30}|0o?[0-7_]{1,30}|0x[0-9a-fA-F_]{1,30}|0b[01_]{1,100})"),
    "float": re.compile(
        r"[-+]?(?:[0-9][0-9_]{0,30}(?:\.[0-9_]{0,30})?(?:[eE][-+]?[0-9]{1,3})?|\.[0-9_]{1,30}|\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))"
    ),
    "bool": re.compile(r"true|True|TRUE|false|False|FALSE"),
}


@dataclass(frozen=True)
class BadValue:
    """A scalar whose explicit tag does not fit its value; reported with its line, never constructed."""

    line: int
    message: str


def _tagged_scalar(loader: yaml.constructor.SafeConstructor, node: yaml.Node, kind: str) -> str | BadValue:
    """The text of a scalar tagged ``!!kind``; a list or mapping with that tag is a :class:`BadValue`."""
    if not isinstance(node, yaml.ScalarNode):
        return BadValue(node_line(node), f"the '!!{kind}' tag is on a list or mapping; remove the tag")
    return loader.construct_scalar(node)


def _construct_text(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
    return _tagged_scalar(loader, node, "str")


def _construct_tagged(kind: str):
    def construct(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
        value = _tagged_scalar(loader, node, kind)
        if isinstance(value, BadValue):
            return value
        if not _TAG_VALUE_RE[kind].fullmatch(value.strip()):
            shown = value if len(value) <= 40 else value[:37] + "..."
            return BadValue(
                node_line(node), f"{shown!r} is not a valid !!{kind}; fix the value or drop the '!!{kind}' tag"
            )
        return value.strip()

    return construct


def _construct_null(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
    value = _tagged_scalar(loader, node, "null")
    if isinstance(value, BadValue):
        return value
    if not _NULL_RE.fullmatch(value.strip()):
        return BadValue(node_line(node), f"{value!r} is not a valid !!null; write '~' or drop the '!!null' tag")
    return None


_DeckLoader.add_constructor("tag:yaml.org,2002:str", _construct_text)
for _kind in ("int", "float", "bool"):
    _DeckLoader.add_constructor(f"tag:yaml.org,2002:{_kind}", _construct_tagged(_kind))
_DeckLoader.add_constructor("tag:yaml.org,2002:null", _construct_null)


def _refuse_tag(loader: yaml.constructor.SafeConstructor, node: yaml.Node) -> Any:
    """Any other tag (``!!timestamp``, ``!!binary``, ``!!python/...``, ``!custom``): never constructed,
    reported on its line; only the card holding it is skipped."""
    tag = node.tag.replace("tag:yaml.org,2002:", "!!")
    return BadValue(
        node_line(node),
        f"YAML tag '{tag}' is not allowed in deck files; remove it (deck values are plain text, lists and mappings)",
    )


for _kind in ("timestamp", "binary", "set", "omap", "pairs", "value", "merge", "yaml"):
    _DeckLoader.add_constructor(f"tag:yaml.org,2002:{_kind}", _refuse_tag)
_DeckLoader.add_constructor(None, _refuse_tag)


def node_line(node: yaml.Node) -> int:
    return node.start_mark.line + 1


def _check_tree(node: yaml.Node, seen: set[int]) -> None:
    """Refuse aliases (billion-laughs) and duplicate mapping keys, which YAML silently accepts."""
    if id(node) in seen:
        raise DeckFileError(
            node_line(node), "YAML anchors/aliases (&name / *name) are not allowed in deck files; write the value out"
        )
    seen.add(id(node))
    if isinstance(node, yaml.MappingNode):
        keys: dict[str, int] = {}
        for key, value in node.value:
            if isinstance(key, yaml.ScalarNode):
                if key.value == "<<":
                    raise DeckFileError(node_line(key), "YAML merge keys ('<<') are not allowed in deck files")
                if key.value in keys:
                    raise DeckFileError(
                        node_line(key), f"duplicate key '{key.value}' (first at line {keys[key.value]}); remove one"
                    )
                keys[key.value] = node_line(key)
            _check_tree(key, seen)
            _check_tree(value, seen)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _check_tree(item, seen)


def _line_text(text: str, line: int) -> str:
    lines = text.split("\n", line)
    return lines[line - 1] if 0 < line <= len(lines) else ""


def read_yaml(raw: bytes) -> tuple[Any, yaml.Node]:
    """The data and the node tree of a deck file's bytes, or a :class:`DeckFileError` naming the line."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        line: int | None = raw.count(b"\n", 0, exc.start) + 1
        raise DeckFileError(
            line, f"not UTF-8 text ({exc.reason} at byte {exc.start}); save the file as UTF-8"
        ) from None
    if text.startswith("\ufeff"):
        text = text[1:]
    if not text.strip():
        raise DeckFileError(None, "file is empty; add 'id', 'name' and 'cards', or delete the file")
    loader = _DeckLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            raise DeckFileError(None, "file holds no YAML document (only comments?); add 'id', 'name' and 'cards'")
        _check_tree(node, set())
        data = loader.construct_document(node)
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        problem = exc.problem or ""
        if "expected a scalar node" in problem:
            raise DeckFileError(line, "a tag for text (e.g. '!!str') is on a list or mapping; remove the tag") from None
        if "unhashable key" in problem:
            raise DeckFileError(line, "a mapping key must be plain text, not a list or mapping") from None
        if "tag" not in problem:
            raise DeckFileError(line, f"YAML error: {problem or exc}") from None
        tag = problem.split("tag", 1)[1].strip().strip(":").strip()
        raise DeckFileError(
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
            hint = (
                " (a value that starts with a quote, '[' or '{' must be quoted as a whole, e.g. "
                "front: \"[A][B] pattern\"; a ' inside single quotes is written '')"
            )
        elif "cannot start any token" in problem:
            hint = " (a value may not start with @ or `; quote the value)"
        elif "unknown escape character" in problem:
            hint = (
                " (inside double quotes a backslash starts an escape; for LaTeX use single quotes "
                "or a block scalar '|')"
            )
        elif "mapping values are not allowed" in problem:
            hint = " (a ': ' inside a value? quote the value)"
        raise DeckFileError(line, f"YAML syntax error: {problem}{hint}") from None
    except yaml.reader.ReaderError as exc:
        # the reader counts characters, not lines: give the line and column the user can jump to
        pos = min(exc.position, len(text))
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        what = control_name(chr(exc.character)) if isinstance(exc.character, int) else repr(exc.character)
        fix = "delete it"
        if pos > 0 and text[pos - 1] == "\\":  # "\frac" in double quotes: the escape \f made a form feed
            fix = "inside double quotes a backslash starts an escape: write LaTeX in single quotes or a '|' block"
        raise DeckFileError(line, f"character {what} at column {column} is not allowed in YAML; {fix}") from None
    except yaml.YAMLError as exc:
        raise DeckFileError(None, f"YAML error: {exc}") from None
    except RecursionError:
        raise DeckFileError(None, "lists or mappings nested too deeply; a deck is at most a few levels deep") from None
    finally:
        loader.dispose()
    return data, node


def loc_line(node: yaml.Node, loc: tuple[Any, ...]) -> int | None:
    """The line of the value a pydantic error location (``("options", 1, "text")``) points at."""
    line = None
    for part in loc:
        if isinstance(node, yaml.MappingNode) and isinstance(part, str):
            node = child(node, part)
        elif isinstance(node, yaml.SequenceNode) and isinstance(part, int) and 0 <= part < len(node.value):
            node = node.value[part]
        else:
            break
        if node is None:
            break
        line = node_line(node)
    return line


def child(node: yaml.Node, key: str) -> yaml.Node | None:
    """The value node of ``key`` in a mapping node (None if absent or not a mapping)."""
    if not isinstance(node, yaml.MappingNode):
        return None
    return next((v for k, v in node.value if isinstance(k, yaml.ScalarNode) and k.value == key), None)


def field_lines(node: yaml.Node) -> dict[str, int]:
    if not isinstance(node, yaml.MappingNode):
        return {}
    return {k.value: node_line(v) for k, v in node.value if isinstance(k, yaml.ScalarNode)}


def bad_values(value: Any) -> Iterator[BadValue]:
    """Every tagged scalar in ``value`` whose tag did not fit (see :class:`_DeckLoader`)."""
    if isinstance(value, BadValue):
        yield value
    elif isinstance(value, dict):
        for v in value.values():
            yield from bad_values(v)
    elif isinstance(value, list):
        for v in value:
            yield from bad_values(v)
