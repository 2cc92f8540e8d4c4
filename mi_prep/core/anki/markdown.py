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

from mi_prep.core.anki.markdown_fast import IMAGE_SRC, render_block, render_inline
from mi_prep.core.anki.markdown_scan import PLACEHOLDER, raw_clozes, render_math, scan_inline_math, scan_math_block
from mi_prep.core.anki.sanitize import LINK_SCHEMES, clean_html, make_cleaner, url_scheme
from mi_prep.core.deck import replace_clozes


def _math_inline(state: StateInline, silent: bool) -> bool:
    """``$...$`` (pandoc rules: no space inside the dollars, no digit right after) and ``$$...$$``."""
    if state.src[state.pos] != "$":
        return False
    found = scan_inline_math(state.src, state.pos, state.posMax)
    if found is None:
        return False
    content, display, new_pos = found
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

    def line_text(i: int) -> str | None:
        line = start_line + i
        if line >= end_line or (state.sCount[line] < state.blkIndent and not state.isEmpty(line)):
            return None
        return state.src[state.bMarks[line] + state.tShift[line] : state.eMarks[line]].rstrip()

    found = scan_math_block(state.src[pos + 2 : maximum].rstrip(), line_text)
    if found is None:
        return False
    if silent:
        return True
    content, taken = found
    state.line = start_line + taken + 1
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
    return raw_clozes(rendered, env.get("clozes") or [])


class MarkdownRenderer:
    """Markdown -> HTML (not yet sanitized) with MathJax math and cloze-safe rendering.

    ``env["on_image"](src) -> src`` is called for each Markdown image (it may raise);
    ``env["on_link"](href)`` for each link whose URL scheme is not http, https or mailto (the link
    keeps its text, loses its ``href``). markdown-it's own link check is off so that such URLs
    reach these hooks (and a warning) instead of silently staying literal text; nh3 still only
    lets http/https/mailto and relative URLs through.
    """

    def __init__(self, *, fast: bool = True) -> None:
        self.fast = fast
        """Use the fast path where it applies (off: markdown-it for everything, to compare)."""
        md = MarkdownIt("commonmark", {"html": True}).enable("table")
        md.validateLink = lambda url: True  # type: ignore[method-assign]
        md.block.ruler.before(
            "fence", "math_block", _math_block, {"alt": ["paragraph", "reference", "blockquote", "list"]}
        )
        md.inline.ruler.before("escape", "math_inline", _math_inline)

        def math(display: bool, block: bool = False):
            def rule(self, tokens: Sequence[Token], idx: int, options, env) -> str:
                return render_math(tokens[idx].content, display, env.get("clozes") or [], block)

            return rule

        md.add_render_rule("math_inline", math(False))
        md.add_render_rule("math_display", math(True))
        md.add_render_rule("math_block", math(True, block=True))
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
        """Render ``text``; a single paragraph is returned without its ``<p>`` wrapper.

        Most text takes the fast path (:meth:`render_fast`), which gives exactly markdown-it's
        HTML or declines; markdown-it renders the rest (:meth:`render_markdown_it`)."""
        env = {} if env is None else env
        fast = self.render_fast(text, env, inline=inline)
        return self.render_markdown_it(text, env, inline=inline) if fast is None else fast

    def render_fast(self, text: str, env: dict | None = None, *, inline: bool = False) -> str | None:
        """:meth:`render` for the Markdown most cards use (:mod:`.markdown_fast`), or None.

        Without ``env`` it declines images too and calls nothing: the result depends on ``text``
        alone. With ``env``, ``env["on_image"]`` is called for each image, in order, as on
        markdown-it's path, and the image gets the ``src`` it returns."""
        if not self.fast:
            return None
        clozes = env.get("clozes") or () if env is not None else ()
        images: list[str] | None = None if env is None else []
        fast = render_inline(text, clozes, images) if inline else render_block(text, clozes, images)
        if fast is None:
            return None
        if images:
            on_image = env.get("on_image") if env is not None else None
            srcs = []
            for src in images:
                new = on_image(src) if on_image is not None else None
                srcs.append(escapeHtml(src if new is None else new))
            fast = IMAGE_SRC.sub(lambda m: srcs[int(m.group(1))], fast)
        return fast.strip()

    def render_markdown_it(self, text: str, env: dict, *, inline: bool = False) -> str:
        """:meth:`render` by markdown-it, for every text."""
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

        return PLACEHOLDER.sub(put_back, rendered)


_PLAIN: tuple[MarkdownRenderer, nh3.Cleaner] | None = None


def render_markdown(text: str, *, cloze: bool = False) -> str:
    """Markdown -> sanitized HTML as it goes into the package (image paths are not resolved here)."""
    global _PLAIN
    if _PLAIN is None:
        _PLAIN = (MarkdownRenderer(), make_cleaner(None))
    renderer, cleaner = _PLAIN
    return clean_html(cleaner, renderer.render_cloze(text) if cloze else renderer.render(text))
