"""The fast path of :class:`~mi_prep.core.anki.markdown.MarkdownRenderer`: the Markdown most cards
are made of, rendered directly to exactly the HTML markdown-it-py produces, or ``None`` when unsure.

Covered: paragraphs of text with ``$...$`` / ``$$...$$`` math, code spans, ``*em*`` / ``**strong**``
(openers and closers strictly alternating, no nesting), images ``![plain alt](plain/path.png)``,
soft line breaks; ``$$`` math blocks; closed backtick fences; pipe tables whose rows start with
``|``. Everything else (links, raw HTML, entities, backslash escapes, ``_`` emphasis, lists, quotes,
headings, rules, indented lines, tabs and other unusual characters, any line that could start
another block) returns ``None`` and the caller renders with markdown-it, so the output never
depends on which path ran (``tests/core/test_anki_markdown_fast.py`` compares both on every form
and on random mixtures). On the benchmark's fields it is 7-11x faster than markdown-it.

Math and cloze deletions inside code and math use the very scanners of markdown-it's rules
(:mod:`.markdown_scan`).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache

from markdown_it.common.utils import MD_TRIM_CHARS, MD_TRIM_RE, escapeHtml, isMdAsciiPunct, isPunctChar, isWhiteSpace

from mi_prep.core.anki.markdown_scan import RawCloze, raw_clozes, render_math, scan_inline_math, scan_math_block

# --------------------------------------------------------------------------- inline

_INLINE_STOP = re.compile(r"[$`*_\n\\&<\[\]!]")
"""Characters the inline fast path must look at; the rest is text (HTML-escaped)."""
_UNUSUAL = re.compile(r"[^\S \n]|[\x00\ufeff\ud800-\udfff\ue002]")
"""Tabs, CR, NBSP, other Unicode spaces, NUL, BOM, lone surrogates: markdown-it (or the sanitizer)
treats them specially; left to the full path. (U+E002 marks where an image's ``src`` goes.)"""
_PLAIN_TEXT = re.compile(r"[$`*_\n\\&<\[\]!]|[^\S ]|[\x00\ufeff\ud800-\udfff\ue002]")
"""Any character that makes inline text more than plain text (the two sets above together)."""
_IMAGE = re.compile(r"!\[([A-Za-z0-9 .,:;?'()/+=#@-]*)\]\(([A-Za-z0-9._/-]+)\)")
"""``![alt](src)`` with a plain alt text and a plain relative path (markdown-it keeps both as is)."""
IMAGE_SRC = re.compile("\ue002(\\d+)\ue003")
"""Where an image's ``src`` goes once the caller has resolved it (:func:`render_block`)."""


def _last_runs(src: str) -> dict[int, int]:
    """Backtick run length -> start of its last run in ``src`` (markdown-it's backtick cache)."""
    runs: dict[int, int] = {}
    pos = 0
    while (start := src.find("`", pos)) != -1:
        pos = start + 1
        while pos < len(src) and src[pos] == "`":
            pos += 1
        runs[pos - start] = start
    return runs


def _code_span(src: str, start: int, runs: dict[int, int]) -> tuple[str | None, int]:
    """markdown-it's backtick rule at ``src[start] == "`"``: (code content or None for a literal
    backtick run, end)."""
    n = len(src)
    pos = start + 1
    while pos < n and src[pos] == "`":
        pos += 1
    length = pos - start
    if runs.get(length, -1) >= pos:
        match_end = pos
        while (match_start := src.find("`", match_end)) != -1:
            match_end = match_start + 1
            while match_end < n and src[match_end] == "`":
                match_end += 1
            if match_end - match_start == length:
                content = src[pos:match_start].replace("\n", " ")
                if content.startswith(" ") and content.endswith(" ") and any(c != " " for c in content):
                    content = content[1:-1]
                return content, match_end
    return None, pos


@cache
def _kind(ch: str) -> tuple[bool, bool]:
    """(punctuation, whitespace) as markdown-it's scanDelims sees ``ch``."""
    return isMdAsciiPunct(ord(ch)) or isPunctChar(ch), isWhiteSpace(ord(ch))


def _flanking(src: str, start: int, end: int) -> tuple[bool, bool]:
    """(can open, can close) of the ``*`` / ``_`` run ``src[start:end]`` (markdown-it's scanDelims)."""
    last_punct, last_space = _kind(src[start - 1] if start > 0 else " ")
    next_punct, next_space = _kind(src[end] if end < len(src) else " ")
    left = not (next_space or (next_punct and not (last_space or last_punct)))
    right = not (last_space or (last_punct and not (next_space or next_punct)))
    split_word = src[start] == "*"
    return (left and (split_word or not right or last_punct), right and (split_word or not left or next_punct))


def _text(text: str) -> str:
    """escapeHtml for inline text, which holds no ``&`` or ``<`` (those are left to markdown-it)."""
    if ">" in text:
        text = text.replace(">", "&gt;")
    return text.replace('"', "&quot;") if '"' in text else text


def render_inline(src: str, clozes: Sequence[RawCloze] = (), images: list[str] | None = None) -> str | None:
    """The inline HTML markdown-it renders for ``src``, or None if ``src`` is outside the fast path.

    With an ``images`` list, each image's ``src`` is appended to it and written as a marker
    (:data:`IMAGE_SRC`) for the caller to replace; without one, a text with an image is declined."""
    if not _PLAIN_TEXT.search(src):
        return _text(src)  # plain text (most table cells, sources, options)
    if " \n" in src or "\n " in src or _UNUSUAL.search(src):
        return None  # hard breaks, indented continuation lines, tabs, CR, NBSP, ...
    out: list[str] = []
    delims: list[tuple[int, int, bool]] = []  # (index in out, run length, opens)
    runs: dict[int, int] | None = None
    pos, n = 0, len(src)
    while pos < n:
        m = _INLINE_STOP.search(src, pos)
        if m is None:
            out.append(_text(src[pos:]))
            break
        stop = m.start()
        if stop > pos:
            out.append(_text(src[pos:stop]))
            pos = stop
        ch = src[pos]
        if ch == "$":
            found = scan_inline_math(src, pos, n)
            if found is None:
                out.append("$")
                pos += 1
            else:
                content, display, pos = found
                out.append(render_math(content, display, clozes))
        elif ch == "`":
            if runs is None:
                runs = _last_runs(src)
            code, end = _code_span(src, pos, runs)
            out.append(src[pos:end] if code is None else raw_clozes(f"<code>{escapeHtml(code)}</code>", clozes))
            pos = end
        elif ch == "*" or ch == "_":
            end = pos
            while end < n and src[end] == ch:
                end += 1
            opens, closes = _flanking(src, pos, end)
            if opens or closes:
                if ch == "_" or (opens and closes) or end - pos > 2:
                    return None
                delims.append((len(out), end - pos, opens))
            out.append(src[pos:end])
            pos = end
        elif ch == "\n":
            out.append("\n")
            pos += 1
        elif ch == "!":
            if not src.startswith("[", pos + 1):
                out.append("!")
                pos += 1
                continue
            image = _IMAGE.match(src, pos)
            if image is None or images is None:
                return None
            out.append(f'<img src="\ue002{len(images)}\ue003" alt="{_text(image[1])}" />')
            images.append(image[2])
            pos = image.end()
        else:
            return None  # links, HTML, entities, escapes
    if len(delims) % 2:
        return None
    for (at_open, n_open, opens), (at_close, n_close, closes_opens) in zip(delims[::2], delims[1::2]):
        if not opens or closes_opens or n_open != n_close:
            return None
        tag = "em" if n_open == 1 else "strong"
        out[at_open], out[at_close] = f"<{tag}>", f"</{tag}>"
    return "".join(out)


# --------------------------------------------------------------------------- blocks

_OTHER_BLOCK = re.compile(
    r"[ >#<|=\[_\\&]|```|~~~|\$\$|[-+*](?: |$)|\d{1,9}[.)](?: |$)|([-*_])(?: *\1){2,} *$|[-=]+ *$"
)
"""A line that could start (or interrupt a paragraph with) something other than a paragraph."""
_ANY_DELIMITER_LIKE = re.compile(r"^ *[-:|][-:| ]+$", re.M)
"""A line that could be a table's delimiter row (or a setext underline): checked before anything."""
_HEADER_CELL = re.compile(r":?-+:?")
_ALIGN = {
    "left": ' style="text-align:left"',
    "right": ' style="text-align:right"',
    "center": ' style="text-align:center"',
}


class _Blocks:
    """One document's lines and what its blocks need (deletions for code and math, image list)."""

    def __init__(self, text: str, clozes: Sequence[RawCloze], images: list[str] | None) -> None:
        self.lines = text.split("\n")
        self.clozes = clozes
        self.images = images
        self.delimiter_like = [False] * (len(self.lines) + 1)
        line = pos = 0
        for m in _ANY_DELIMITER_LIKE.finditer(text):
            line += text.count("\n", pos, m.start())
            pos = m.start()
            self.delimiter_like[line] = True

    def inline(self, src: str) -> str | None:
        return render_inline(src, self.clozes, self.images)

    def cell(self, src: str) -> str | None:
        src = src.strip(MD_TRIM_CHARS)
        return render_inline(src, self.clozes, self.images) if _PLAIN_TEXT.search(src) else _text(src)

    def _row_cells(self, out: list[str], tag: str, cells: list[str], aligns: list[str]) -> bool:
        """Append one table row's ``<th>``/``<td>`` cells to ``out``; False when a cell needs markdown-it."""
        for cell, align in zip(cells, aligns):
            html = self.cell(cell)
            if html is None:
                return False
            out.append(f"<{tag}{align}>{html}</{tag}>\n")
        return True

    def table(self, start: int) -> tuple[str, int] | None:
        """markdown-it's GFM table at ``lines[start]`` (header) and ``lines[start + 1]`` (delimiter)."""
        lines = self.lines
        header, delimiter = lines[start], lines[start + 1]
        if header[0] == " " or delimiter[0] == " " or "\\" in header or "|" not in header:
            return None
        if delimiter[0] not in "|-:" or delimiter[1] not in "|-: " or delimiter[:2] == "- ":
            return None
        aligns = []
        parts = delimiter.split("|")
        for i, part in enumerate(parts):
            t = part.strip(MD_TRIM_CHARS)
            if not t:
                if i in (0, len(parts) - 1):
                    continue
                return None
            if not _HEADER_CELL.fullmatch(t):
                return None
            end_colon = t[-1] == ":"
            aligns.append(
                _ALIGN["center" if t[0] == ":" else "right"] if end_colon else _ALIGN["left"] if t[0] == ":" else ""
            )
        head = _cells(header)
        if not head or len(head) != len(aligns):
            return None
        out = ["<table>\n<thead>\n<tr>\n"]
        if not self._row_cells(out, "th", head, aligns):
            return None
        out.append("</tr>\n</thead>\n")
        k = start + 2
        while k < len(lines) and lines[k].strip(MD_TRIM_CHARS):
            row = lines[k]
            if row[0] != "|" or "\\" in row:
                return None  # a line that may end the table another way
            cols = _cells(row)
            if len(cols) < len(head):
                return None  # markdown-it pads (within a limit); rare, so left to it
            out.append("<tbody>\n<tr>\n" if k == start + 2 else "<tr>\n")
            if not self._row_cells(out, "td", cols, aligns):
                return None
            out.append("</tr>\n")
            k += 1
        out.append("</tbody>\n</table>\n" if k > start + 2 else "</table>\n")
        return "".join(out), k

    def fence(self, start: int) -> tuple[str, int] | None:
        """A closed backtick fence at ``lines[start]`` (no indentation)."""
        lines = self.lines
        line = lines[start]
        marker = len(line) - len(line.lstrip("`"))
        params = line[marker:]
        if "`" in params or "\\" in params or "&" in params:
            return None
        closing = "`" * marker
        for k in range(start + 1, len(lines)):
            text = lines[k]
            body = text.lstrip(" ")
            if body.startswith(closing) and len(text) - len(body) < 4 and not body.rstrip(" ").strip("`"):
                break
        else:
            return None  # unclosed: markdown-it closes it at the end of the document
        code = "".join(f"{text}\n" for text in lines[start + 1 : k])
        info = params.strip(MD_TRIM_CHARS)
        attrs = f' class="{escapeHtml("language-" + MD_TRIM_RE.split(info, maxsplit=1)[0])}"' if info else ""
        return raw_clozes(f"<pre><code{attrs}>{escapeHtml(code)}</code></pre>\n", self.clozes), k + 1

    def math(self, start: int) -> tuple[str, int] | None:
        lines = self.lines

        def line_text(i: int) -> str | None:
            k = start + i
            return lines[k].lstrip(" ").rstrip() if k < len(lines) else None

        found = scan_math_block(lines[start][2:].rstrip(), line_text)
        if found is None:
            return None
        content, taken = found
        return render_math(content, True, self.clozes, block=True), start + taken + 1

    def paragraph(self, start: int) -> tuple[str, int] | None:
        """A paragraph from ``lines[start]`` to the next blank line; None if another block could
        interrupt it (markdown-it's terminator rules) or a line has leading or trailing spaces."""
        lines, delimiter_like = self.lines, self.delimiter_like
        end = start + 1
        while end < len(lines) and lines[end].strip(" "):
            if _OTHER_BLOCK.match(lines[end]) or delimiter_like[end] or delimiter_like[end + 1]:
                return None  # a block (or a table's header) interrupting the paragraph
            end += 1
        para = lines[start:end]
        if any(line.endswith(" ") for line in para):
            return None
        html = self.inline("\n".join(para))
        return None if html is None else (f"<p>{html}</p>\n", end)


def _cells(line: str) -> list[str]:
    cols = line.strip(MD_TRIM_CHARS).split("|")
    if cols and cols[0] == "":
        cols.pop(0)
    if cols and cols[-1] == "":
        cols.pop()
    return cols


def render_block(text: str, clozes: Sequence[RawCloze] = (), images: list[str] | None = None) -> str | None:
    """What ``MarkdownRenderer.render`` returns for ``text`` (one paragraph without ``<p>``), or None.

    ``images`` as for :func:`render_inline`."""
    if _UNUSUAL.search(text):
        return None
    if "\n" not in text and not text.startswith(("```", "$$")) and not _OTHER_BLOCK.match(text):
        # one line: a paragraph (or nothing), as below without the bookkeeping
        if text.endswith(" "):
            return None if text.strip(" ") else ""
        html = render_inline(text, clozes, images)
        return None if html is None else html.strip()
    doc = _Blocks(text, clozes, images)
    lines, n = doc.lines, len(doc.lines)
    blocks: list[str] = []
    paragraphs = 0
    k = 0
    while k < n:
        line = lines[k]
        if not line.strip(" "):
            k += 1
            continue
        found: tuple[str, int] | None
        if doc.delimiter_like[k + 1]:
            found = doc.table(k)
        elif line.startswith("```"):
            found = doc.fence(k)
        elif line.startswith("$$"):
            found = doc.math(k)
        elif _OTHER_BLOCK.match(line):
            return None
        else:
            found = doc.paragraph(k)
            paragraphs += 1
        if found is None:
            return None
        html, k = found
        blocks.append(html)
    if len(blocks) == 1 and paragraphs == 1:
        return blocks[0][3:-5].strip()  # a single paragraph: without its <p> wrapper
    return "".join(blocks).strip()
