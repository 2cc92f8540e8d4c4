"""Markdown -> HTML for Anki fields: CommonMark + tables (markdown-it-py), ``$...$`` / ``$$...$$`` as
MathJax, cloze deletions cut out before rendering and put back afterwards, image and link hooks."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from mi_prep.core.anki.sanitize import LINK_SCHEMES, clean_html, make_cleaner, url_scheme
from mi_prep.core.deck import replace_clozes

_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")


def _is_escaped(src: str, pos: int) -> bool:
    n = 0
    while pos - 1 - n >= 0 and src[pos - 1 - n] == "\\":
        n += 1
    return n % 2 == 1


def _math_inline(state: StateInline, silent: bool) -> bool:
    """``$...$`` (pandoc rules: no space inside the dollars, no digit right after) and ``$$...$$``."""
    src, pos, maximum = state.src, state.pos, state.posMax
    if src[pos] != "$":
        return False
    if pos + 1 < maximum and src[pos + 1] == "$":
        end = src.find("$$", pos + 2, maximum)
        while end >= 0 and _is_escaped(src, end):
            end = src.find("$$", end + 1, maximum)
        if end < 0 or not src[pos + 2 : end].strip():
            return False
        content, display, new_pos = src[pos + 2 : end], True, end + 2
    else:
        start = pos + 1
        if start >= maximum or src[start].isspace() or src[start] == "$":
            return False
        search, end = start, -1
        while True:
            cand = src.find("$", search, maximum)
            if cand < 0:
                return False
            if _is_escaped(src, cand) or src[cand - 1].isspace() or (cand + 1 < maximum and src[cand + 1].isdigit()):
                search = cand + 1
                continue
            end = cand
            break
        content, display, new_pos = src[start:end], False, end + 1
    if not silent:
        token = state.push("math_display" if display else "math_inline", "math", 0)
        token.content = content
        token.markup = "$$" if display else "$"
    state.pos = new_pos
    return True


def _math_block(state: StateBlock, start_line: int, end_line: int, silent: bool) -> bool:
    """``$$`` starting a line, up to a line ending in ``$$`` (may be the same line)."""
    if state.sCount[start_line] - state.blkIndent >= 4:
        return False
    pos = state.bMarks[start_line] + state.tShift[start_line]
    maximum = state.eMarks[start_line]
    if not state.src.startswith("$$", pos) or pos + 2 > maximum:
        return False
    first = state.src[pos + 2 : maximum].rstrip()
    line = start_line
    if first.endswith("$$") and len(first) >= 2 and not _is_escaped(first, len(first) - 2):
        content = first[:-2]
        if "$$" in content or not content.strip():
            return False
    else:
        if "$$" in first:
            return False  # ``$$a$$ and more``: inline display math inside a paragraph
        parts = [first]
        while True:
            line += 1
            if line >= end_line:
                return False
            if state.sCount[line] < state.blkIndent and not state.isEmpty(line):
                return False
            text = state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]].rstrip()
            if text.endswith("$$") and not _is_escaped(text, len(text) - 2):
                parts.append(text[:-2])
                break
            if "$$" in text:
                return False
            parts.append(text)
        content = "\n".join(parts)
    if silent:
        return True
    state.line = line + 1
    token = state.push("math_block", "math", 0)
    token.block = True
    token.content = content
    token.markup = "$$"
    token.map = [start_line, state.line]
    return True


@dataclass
class _Cloze:
    number: int
    answer: str
    hint: str

    def raw(self) -> str:
        return "{{c%d::%s%s}}" % (self.number, self.answer, f"::{self.hint}" if self.hint else "")


def _cut_clozes(text: str) -> tuple[str, list[_Cloze]]:
    """Replace each ``{{cN::answer::hint}}`` by a placeholder (the deck validator's own scan)."""
    clozes: list[_Cloze] = []

    def cut(number: int, answer: str, hint: str) -> str:
        clozes.append(_Cloze(number, answer, hint))
        return f"\ue000{len(clozes) - 1}\ue001"

    return replace_clozes(text, cut), clozes


def _raw_clozes(rendered: str, env: dict) -> str:
    """Put deletions back verbatim (HTML-escaped) inside code and math."""
    clozes: list[_Cloze] = env.get("clozes") or []
    if not clozes or "\ue000" not in rendered:
        return rendered
    return _PLACEHOLDER.sub(lambda m: escapeHtml(clozes[int(m.group(1))].raw()), rendered)


class MarkdownRenderer:
    """Markdown -> HTML (not yet sanitized) with MathJax math and cloze-safe rendering.

    ``env["on_image"](src) -> src`` is called for each Markdown image (it may raise);
    ``env["on_link"](href)`` for each link whose URL scheme is not http, https or mailto (the link
    keeps its text, loses its ``href``). markdown-it's own link check is off so that such URLs
    reach these hooks (and a warning) instead of silently staying literal text; nh3 still only
    lets http/https/mailto and relative URLs through.
    """

    def __init__(self) -> None:
        md = MarkdownIt("commonmark", {"html": True}).enable("table")
        md.validateLink = lambda url: True  # type: ignore[method-assign]
        md.block.ruler.before(
            "fence", "math_block", _math_block, {"alt": ["paragraph", "reference", "blockquote", "list"]}
        )
        md.inline.ruler.before("escape", "math_inline", _math_inline)

        def math(open_: str, close: str, tag: str | None = None):
            def rule(self, tokens: Sequence[Token], idx: int, options, env) -> str:
                body = _raw_clozes(escapeHtml(open_ + tokens[idx].content.strip() + close), env)
                return f'<div class="math">{body}</div>\n' if tag == "div" else body

            return rule

        md.add_render_rule("math_inline", math("\\(", "\\)"))
        md.add_render_rule("math_display", math("\\[", "\\]"))
        md.add_render_rule("math_block", math("\\[", "\\]", "div"))
        for name in ("code_inline", "code_block", "fence"):
            # markdown-it's stubs type md.renderer as RendererProtocol, which lacks RendererHTML's `rules`
            orig = md.renderer.rules[name]  # type: ignore[attr-defined]

            def raw(self, tokens, idx, options, env, _orig=orig) -> str:
                return _raw_clozes(_orig(tokens, idx, options, env), env)

            md.add_render_rule(name, raw)
        self.md = md

    # ---- rendering ------------------------------------------------------------------------
    def _images(self, tokens: Iterable[Token], env: dict) -> None:
        on_image = env.get("on_image")
        for tok in tokens:
            if tok.type == "image" and on_image is not None:
                src = str(tok.attrs.get("src", ""))
                new = on_image(src)
                if new is not None:
                    tok.attrSet("src", new)
            elif tok.type == "link_open":
                href = str(tok.attrs.get("href", ""))
                if url_scheme(href) not in LINK_SCHEMES:
                    tok.attrs.pop("href", None)
                    if env.get("on_link") is not None:
                        env["on_link"](href)
            if tok.children:
                self._images(tok.children, env)

    def render(self, text: str, env: dict | None = None, *, inline: bool = False) -> str:
        """Render ``text``; a single paragraph is returned without its ``<p>`` wrapper."""
        env = {} if env is None else env
        if inline:
            tokens = self.md.parseInline(text, env)
        else:
            tokens = self.md.parse(text, env)
            if len(tokens) == 3 and tokens[0].type == "paragraph_open" and tokens[2].type == "paragraph_close":
                tokens = [tokens[1]]
        self._images(tokens, env)
        if tokens and all(t.type == "inline" for t in tokens):
            out = "".join(self.md.renderer.render(t.children or [], self.md.options, env) for t in tokens)
        else:
            out = self.md.renderer.render(tokens, self.md.options, env)
        return out.strip()

    def render_cloze(self, text: str, env: dict | None = None) -> str:
        """Render a cloze field: Markdown around the deletions, each deletion's answer and hint
        rendered on their own (inline), ``{{cN::...}}`` markers kept exactly."""
        env = {} if env is None else env
        cut, clozes = _cut_clozes(text)
        env = {**env, "clozes": clozes}
        rendered = self.render(cut, env)
        inner_env = {k: v for k, v in env.items() if k != "clozes"}

        def part(raw: str) -> str:
            # keep the author's surrounding spaces: ``{{c1::\frac{a}{b} }}`` must not become ``}}}``
            body = raw.strip()
            out = self.render(body, inner_env, inline=True) if body else ""
            if "}}" in out or "::" in out and "::" not in body:
                out = escapeHtml(body)  # rendering must never create a cloze delimiter
            return raw[: len(raw) - len(raw.lstrip())] + out + raw[len(raw.rstrip()) :]

        def put_back(m: re.Match[str]) -> str:
            c = clozes[int(m.group(1))]
            body = part(c.answer) + (f"::{part(c.hint)}" if c.hint else "")
            if body.endswith("}"):
                body += " "  # Anki closes a deletion at the first '}}'
            return "{{c%d::%s}}" % (c.number, body)

        return _PLACEHOLDER.sub(put_back, rendered)


_PLAIN: tuple[MarkdownRenderer, nh3.Cleaner] | None = None


def render_markdown(text: str, *, cloze: bool = False) -> str:
    """Markdown -> sanitized HTML as it goes into the package (image paths are not resolved here)."""
    global _PLAIN
    if _PLAIN is None:
        _PLAIN = (MarkdownRenderer(), make_cleaner(None))
    renderer, cleaner = _PLAIN
    return clean_html(cleaner, renderer.render_cloze(text) if cloze else renderer.render(text))
