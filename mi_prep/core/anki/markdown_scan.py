"""The scanners both Markdown paths share (markdown-it's rules in :mod:`.markdown` and the fast
path in :mod:`.markdown_fast`), so that they agree by construction: ``$...$`` / ``$$...$$`` math,
``$$`` math blocks, and cloze deletions put back verbatim inside code and math."""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from typing import Protocol

from markdown_it.common.utils import escapeHtml

PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
"""Where :func:`~mi_prep.core.anki.markdown.MarkdownRenderer.render_cloze` cut a deletion out."""


class RawCloze(Protocol):
    def raw(self) -> str: ...


def is_escaped(src: str, pos: int) -> bool:
    n = 0
    while pos - 1 - n >= 0 and src[pos - 1 - n] == "\\":
        n += 1
    return n % 2 == 1


def raw_clozes(rendered: str, clozes: Sequence[RawCloze]) -> str:
    """Put deletions back verbatim (HTML-escaped) inside code and math."""
    if not clozes or "\ue000" not in rendered:
        return rendered
    return PLACEHOLDER.sub(lambda m: escapeHtml(clozes[int(m.group(1))].raw()), rendered)


def scan_inline_math(src: str, pos: int, maximum: int) -> tuple[str, bool, int] | None:
    """``$...$`` (pandoc rules: no space inside the dollars, no digit right after) or ``$$...$$``
    starting at ``src[pos] == "$"``: (content, display, end) or None."""
    if pos + 1 < maximum and src[pos + 1] == "$":
        end = src.find("$$", pos + 2, maximum)
        while end >= 0 and is_escaped(src, end):
            end = src.find("$$", end + 1, maximum)
        if end < 0 or not src[pos + 2 : end].strip():
            return None
        return src[pos + 2 : end], True, end + 2
    start = pos + 1
    if start >= maximum or src[start].isspace() or src[start] == "$":
        return None
    search = start
    while True:
        cand = src.find("$", search, maximum)
        if cand < 0:
            return None
        if is_escaped(src, cand) or src[cand - 1].isspace() or (cand + 1 < maximum and src[cand + 1].isdigit()):
            search = cand + 1
            continue
        return src[start:cand], False, cand + 1


def scan_math_block(first: str, line_text: Callable[[int], str | None]) -> tuple[str, int] | None:
    """A ``$$`` block whose opening line continues with ``first`` (right-stripped): (content, number
    of lines after the opening one it takes) or None. ``line_text(i)`` is the i-th line after the
    opening one (leading indentation removed, right-stripped), None past the end of the container."""
    if first.endswith("$$") and len(first) >= 2 and not is_escaped(first, len(first) - 2):
        content = first[:-2]
        if "$$" in content or not content.strip():
            return None
        return content, 0
    if "$$" in first:
        return None  # ``$$a$$ and more``: inline display math inside a paragraph
    parts = [first]
    i = 0
    while True:
        i += 1
        text = line_text(i)
        if text is None:
            return None
        if text.endswith("$$") and not is_escaped(text, len(text) - 2):
            parts.append(text[:-2])
            return "\n".join(parts), i
        if "$$" in text:
            return None
        parts.append(text)


def render_math(content: str, display: bool, clozes: Sequence[RawCloze], block: bool = False) -> str:
    open_, close = ("\\[", "\\]") if display else ("\\(", "\\)")
    body = raw_clozes(escapeHtml(open_ + content.strip() + close), clozes)
    return f'<div class="math">{body}</div>\n' if block else body
