"""Anki export: YAML decks -> one ``.apkg`` that Anki imports (genanki), safely rendered.

* One Anki deck per YAML deck, named ``MI Prep::<deck name>``; its id is derived from the YAML
  deck id (:func:`stable_id`), never random.
* Five note types with fixed ids and fixed field names (:data:`NOTE_TYPES`): Basic,
  Basic (and reversed card), Cloze, Choice, Explain. Every one has ``Source`` and ``CardId``.
* Note GUIDs come from the card id (``genanki.guid_for("mi-prep", card.id)``), so importing a
  re-export after edits updates the notes (Anki's default is "update if newer": the notes carry
  the export time ``now``) instead of adding duplicates.
* Markdown is rendered with markdown-it-py (CommonMark + tables). ``$...$`` / ``$$...$$`` become
  MathJax ``\\(...\\)`` / ``\\[...\\]`` and are protected from Markdown (``x_i`` stays ``x_i``);
  ``$`` in code spans and blocks is left alone. Cloze deletions ``{{c1::answer::hint}}`` are cut
  out before rendering and put back afterwards with their answer and hint rendered on their own,
  so Markdown never splits one. Then *all* HTML goes through nh3 with an allow-list: no
  ``<script>``, no ``on*=`` handlers, no ``javascript:`` URLs reach the package, and a ``style``
  attribute keeps only ``text-align: <keyword>`` (:data:`ALLOWED_STYLES`; ``expression()``,
  ``url()``, ``behavior``, ``-moz-binding`` are removed, with a warning).
* Images: ``![alt](fig.png)`` is resolved against the deck file's directory, packed as media
  under a unique name (``mi-prep-<deck id>-<sha1[:10]>-fig.png``) and the ``src`` rewritten. A
  missing image, or a path leaving the deck's directory, is an :class:`ExportError`. Any other
  URL (http/https: Anki reviews offline; file://, data:, ...) is left out with a warning, and so
  is an SVG that could run script (:func:`svg_problem`): it is never packed. A link whose scheme
  is not http/https/mailto loses its ``href`` with a warning.
* A card whose front would be empty in Anki (e.g. it only held a remote image) is not exported:
  Anki would import it as a note with no cards. It is named first among the report's warnings.
  Every warning and error names file:line, card id, what is wrong and what to do.
* The collection is built in memory in time linear in decks, notes and cards
  (:func:`write_collection`, not genanki's quadratic ``Package.write_to_db``); the ``.apkg`` is
  written to a temporary file beside the target (never in TMPDIR) and moved into place with
  :func:`os.replace`: a failed export (full disk, read-only directory) is one :class:`ExportError`
  line and leaves nothing behind.

Nothing here imports Textual or torch.
"""

from __future__ import annotations

import errno
import hashlib
import html
import itertools
import json
import os
import re
import sqlite3
import tempfile
import time
import warnings
import zipfile
from dataclasses import dataclass, field
from datetime import datetime
from html.parser import HTMLParser
from pathlib import Path
from typing import Iterable, Sequence
from urllib.parse import unquote, urlsplit
from xml.etree import ElementTree

import genanki
import nh3
from genanki.apkg_col import APKG_COL
from genanki.apkg_schema import APKG_SCHEMA
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from mi_prep.core.deck import Card, DeckSet, LoadedDeck, iter_cloze

__all__ = [
    "DECK_ROOT", "ExportError", "ExportReport", "NOTE_TYPES", "clean_style", "export_apkg", "note_guid",
    "render_markdown", "stable_id", "svg_problem", "write_collection",
]

DECK_ROOT = "MI Prep"
"""Parent deck in Anki: every YAML deck becomes ``MI Prep::<deck name>``."""

GUID_NAMESPACE = "mi-prep"

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".bmp"})

LINK_SCHEMES = frozenset({"", "http", "https", "mailto"})
"""URL schemes a link may keep ("" = a relative link); nh3 enforces the same set."""


def url_scheme(url: str) -> str:
    """The lower-cased scheme of ``url`` ("" for a relative path; a one-letter "scheme" is a
    Windows drive letter and counts as a path)."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return "invalid"
    return scheme if len(scheme) > 1 else ""


class ExportError(Exception):
    """The export cannot be written; the message says what to fix. Nothing was written."""


def stable_id(name: str) -> int:
    """A deterministic id in genanki's valid range ``[1 << 30, 1 << 31)`` for a stable name."""
    h = int.from_bytes(hashlib.sha256(name.encode("utf-8")).digest()[:8], "big")
    return (1 << 30) + h % (1 << 30)


def deck_anki_id(deck_id: str) -> int:
    return stable_id(f"mi-prep deck {deck_id}")


def note_guid(card_id: str) -> str:
    """GUID of the note for ``card_id``: depends on the card id only, so edits keep it."""
    return genanki.guid_for(GUID_NAMESPACE, card_id)


# --------------------------------------------------------------------------- note types
# Ids and field names are part of the format: Anki matches note types by id, and a changed field
# list makes Anki create a second note type on the next import. Never change them; add new types.

CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; font-size: 20px;
        line-height: 1.45; text-align: left; max-width: 46em; margin: 0 auto; padding: 0 .5em; }
pre { background: rgba(127, 127, 127, .12); padding: .6em .8em; border-radius: 4px; overflow-x: auto;
      font-size: 80%; line-height: 1.35; }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
:not(pre) > code { background: rgba(127, 127, 127, .12); padding: 0 .2em; border-radius: 3px; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid rgba(127, 127, 127, .45); padding: .2em .55em; }
img { max-width: 100%; height: auto; }
blockquote { margin: .5em 0; padding-left: .8em; border-left: 3px solid rgba(127, 127, 127, .45); }
.cloze { font-weight: bold; color: #1f6fd1; }
.nightMode .cloze { color: #6fb0ff; }
.options li, .why li, .key-points li { margin: .3em 0; }
.why .correct, .answer { color: #23883f; }
.nightMode .why .correct, .nightMode .answer { color: #6fd68a; }
.why .wrong { opacity: .85; }
.extra { margin-top: .8em; }
.meta { margin-top: 1.4em; font-size: 65%; opacity: .6; }
"""

_META = '<div class="meta">{{#Source}}{{Source}} &middot; {{/Source}}{{CardId}}</div>'

MODEL_BASIC = genanki.Model(
    stable_id("mi-prep model basic"),
    "MI Prep: Basic",
    fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[{
        "name": "Card 1",
        "qfmt": "{{Front}}",
        "afmt": '{{FrontSide}}<hr id="answer">{{Back}}' + _META,
    }],
    css=CSS,
)

MODEL_REVERSE = genanki.Model(
    stable_id("mi-prep model reverse"),
    "MI Prep: Basic (and reversed card)",
    fields=[{"name": "Front"}, {"name": "Back"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[
        {"name": "Card 1", "qfmt": "{{Front}}", "afmt": '{{FrontSide}}<hr id="answer">{{Back}}' + _META},
        {"name": "Card 2", "qfmt": "{{Back}}", "afmt": '{{FrontSide}}<hr id="answer">{{Front}}' + _META},
    ],
    css=CSS,
)

MODEL_CLOZE = genanki.Model(
    stable_id("mi-prep model cloze"),
    "MI Prep: Cloze",
    fields=[{"name": "Text"}, {"name": "Back Extra"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[{
        "name": "Cloze",
        "qfmt": "{{cloze:Text}}",
        "afmt": '{{cloze:Text}}{{#Back Extra}}<div class="extra">{{Back Extra}}</div>{{/Back Extra}}' + _META,
    }],
    css=CSS,
    model_type=genanki.Model.CLOZE,
)

MODEL_CHOICE = genanki.Model(
    stable_id("mi-prep model choice"),
    "MI Prep: Choice",
    fields=[{"name": "Question"}, {"name": "Options"}, {"name": "Answer"}, {"name": "Explanations"},
            {"name": "Extra"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[{
        "name": "Card 1",
        "qfmt": '{{Question}}<ol class="options">{{Options}}</ol>',
        "afmt": '{{Question}}<hr id="answer"><div class="answer"><b>Answer:</b> {{Answer}}</div>'
                '{{#Explanations}}<ul class="why">{{Explanations}}</ul>{{/Explanations}}'
                '{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}' + _META,
    }],
    css=CSS,
)

MODEL_EXPLAIN = genanki.Model(
    stable_id("mi-prep model explain"),
    "MI Prep: Explain",
    fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Key Points"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[{
        "name": "Card 1",
        "qfmt": '{{Question}}<div class="extra"><i>Explain out loud, then reveal.</i></div>',
        "afmt": '{{Question}}<hr id="answer">{{Answer}}'
                '{{#Key Points}}<div class="extra"><b>Key points</b><ul class="key-points">{{Key Points}}</ul></div>'
                '{{/Key Points}}' + _META,
    }],
    css=CSS,
)

NOTE_TYPES: dict[str, genanki.Model] = {
    "basic": MODEL_BASIC,
    "reverse": MODEL_REVERSE,
    "cloze": MODEL_CLOZE,
    "choice": MODEL_CHOICE,
    "explain": MODEL_EXPLAIN,
}
"""Card type -> Anki note type (fixed id, fixed fields)."""


# --------------------------------------------------------------------------- Markdown

_PLACEHOLDER = re.compile("\ue000(\\d+)\ue001")
_SRCLESS_IMG = re.compile(r"<img\b(?![^>]*\ssrc=)[^>]*>")


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
    out: list[str] = []
    clozes: list[_Cloze] = []
    pos = 0
    for start, end, number, answer, hint in iter_cloze(text):
        out.append(text[pos:start])
        out.append(f"\ue000{len(clozes)}\ue001")
        clozes.append(_Cloze(number, answer, hint))
        pos = end
    out.append(text[pos:])
    return "".join(out), clozes


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
        md.block.ruler.before("fence", "math_block", _math_block,
                              {"alt": ["paragraph", "reference", "blockquote", "list"]})
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
            orig = md.renderer.rules[name]

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
            if (len(tokens) == 3 and tokens[0].type == "paragraph_open" and tokens[2].type == "paragraph_close"):
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
        _PLAIN = (MarkdownRenderer(), _make_cleaner(None))
    renderer, cleaner = _PLAIN
    return _SRCLESS_IMG.sub("", cleaner.clean(renderer.render_cloze(text) if cloze else renderer.render(text)))


# --------------------------------------------------------------------------- sanitizing

ALLOWED_TAGS = frozenset({
    "a", "b", "blockquote", "br", "code", "del", "div", "em", "h1", "h2", "h3", "h4", "h5", "h6", "hr", "i",
    "img", "kbd", "li", "ol", "p", "pre", "s", "span", "strong", "sub", "sup", "table", "tbody", "td", "tfoot",
    "th", "thead", "tr", "u", "ul",
})
ALLOWED_ATTRIBUTES = {
    "a": {"href", "title"},
    "img": {"src", "alt", "title", "width", "height"},
    "ol": {"start"},
    "code": {"class"},
    "pre": {"class"},
    "span": {"class"},
    "div": {"class"},
    "th": {"style"},
    "td": {"style"},
}


ALLOWED_STYLES: dict[str, frozenset[str]] = {
    "text-align": frozenset({"left", "right", "center", "justify", "start", "end"}),
}
"""The only CSS a ``style`` attribute may keep: property -> allowed keywords (Markdown table alignment).
Anything else (``expression(...)``, ``url(...)``, ``behavior:``, ``-moz-binding``, comments, escapes)
is removed; each declaration is rebuilt from the matched keywords, never copied."""

_STYLE_DECL = re.compile(r"\s*([A-Za-z-]+)\s*:\s*([A-Za-z-]+)\s*")


def clean_style(value: str) -> tuple[str | None, bool]:
    """``style`` value -> (the allowed declarations or None, whether anything was removed)."""
    kept: list[str] = []
    removed = False
    for decl in value.split(";"):
        if not decl.strip():
            continue
        m = _STYLE_DECL.fullmatch(decl)
        prop, keyword = (m.group(1).lower(), m.group(2).lower()) if m else ("", "")
        if keyword in ALLOWED_STYLES.get(prop, ()):
            kept.append(f"{prop}: {keyword}")
        else:
            removed = True
    return ("; ".join(dict.fromkeys(kept)) or None), removed


def _make_cleaner(attribute_filter, tags: set[str] | None = None, on_style=None) -> nh3.Cleaner:
    """The nh3 allow-list cleaner. ``style`` values go through :func:`clean_style` first
    (``on_style(tag, value)`` is told about each one that lost something); every other allowed
    attribute goes to ``attribute_filter`` (if any)."""

    def filter_attribute(tag: str, attr: str, value: str) -> str | None:
        if attr == "style":  # must never raise: nh3 calls this from Rust
            try:
                kept, removed = clean_style(value)
                if removed and on_style is not None:
                    on_style(tag, value)
                return kept
            except Exception:  # pragma: no cover - defensive
                return None
        return value if attribute_filter is None else attribute_filter(tag, attr, value)

    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS) if tags is None else tags,
        clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=filter_attribute,
        url_schemes={"http", "https", "mailto"},
        filter_style_properties={"text-align"},
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


# --------------------------------------------------------------------------- SVG media

_SVG_ELEMENTS = {
    "script": "a <script> element",
    "foreignobject": "a <foreignObject> element",
    "iframe": "an <iframe> element",
    "embed": "an <embed> element",
    "object": "an <object> element",
    "handler": "a <handler> element",
    "listener": "a <listener> element",
}
_SVG_TOKENS = (  # looked for in the whole text, lower-cased, entities decoded, spaces removed
    ("javascript:", "a javascript: URL"),
    ("vbscript:", "a vbscript: URL"),
    ("data:text/html", "an embedded HTML document"),
    ("data:image/svg", "an embedded SVG document"),
)
_SVG_CSS_TOKENS = (  # looked for in <style> elements and style attributes, the same way
    ("expression(", "a CSS expression()"),
    ("-moz-binding", "a CSS -moz-binding"),
    ("behavior:", "a CSS behavior"),
    ("@import", "a CSS @import"),
)


def _compact(text: str) -> str:
    return re.sub(r"[\x00-\x20]+", "", html.unescape(text).lower())


def _css_problem(css: str) -> str | None:
    compact = _compact(css)
    return next((f"it contains {what}" for token, what in _SVG_CSS_TOKENS if token in compact), None)


def svg_problem(data: bytes) -> str | None:
    """Why an SVG file must not be packed (it could run script when opened on its own), or None.

    Conservative on purpose: an SVG is only packed if it is UTF-8 XML without entity declarations
    or stylesheet instructions, none of its elements is script-like (``script``, ``foreignObject``,
    ``iframe``, ...), no attribute is an ``on*`` event handler or an animation of ``href``, and no
    javascript:/vbscript:/HTML URL or CSS expression/binding appears anywhere in it."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")) or b"\x00" in data:
        return "it is not UTF-8 text"
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        return "it is not UTF-8 text"
    decl = re.match(r"\s*<\?xml\b[^>]*?\bencoding\s*=\s*[\"']([^\"']*)", text)
    if decl and decl.group(1).lower().replace("_", "-") not in ("utf-8", "utf8", "us-ascii", "ascii"):
        return f"it declares the encoding {decl.group(1)!r} (only UTF-8 SVGs are checked and packed)"
    low = text.lower()
    if re.search(r"<!\s*entity\b", low):
        return "it declares XML entities"
    if re.search(r"<\?\s*xml-stylesheet\b", low):
        return "it loads a stylesheet (<?xml-stylesheet?>)"
    compact = _compact(text)
    for token, what in _SVG_TOKENS:
        if token in compact:
            return f"it contains {what}"
    try:
        root = ElementTree.fromstring(text)
    except (ElementTree.ParseError, ValueError) as exc:
        return f"it is not well-formed XML ({exc})"
    for el in root.iter():
        name = str(el.tag).rpartition("}")[2].lower()
        if name in _SVG_ELEMENTS:
            return f"it contains {_SVG_ELEMENTS[name]}"
        if name == "style" and (problem := _css_problem("".join(el.itertext()))):
            return problem
        for attr, value in el.attrib.items():
            attr_name = attr.rpartition("}")[2].lower()
            if attr_name.startswith("on"):
                return f"it contains an event-handler attribute ({attr_name}=)"
            if attr_name == "attributename" and value.strip().lower().rpartition(":")[2] == "href":
                return "it contains an animation that rewrites a link"
            if attr_name == "style" and (problem := _css_problem(value)):
                return problem
    return None


# --------------------------------------------------------------------------- report


def _plural(n: int, word: str, plural: str | None = None) -> str:
    return f"{n:,} {word if n == 1 else (plural or word + 's')}"


def _human_size(n: int) -> str:
    size = float(n)
    for unit in ("bytes", "KiB", "MiB", "GiB"):
        if size < 1024 or unit == "GiB":
            return f"{n} bytes" if unit == "bytes" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} bytes"  # pragma: no cover


@dataclass(frozen=True)
class ExportReport:
    path: Path
    decks: int
    notes: int
    cards: int
    media: int
    size: int
    """Bytes written."""
    warnings: tuple[str, ...] = ()
    """One line each: file:line: card 'id': what is wrong; what to do. Skipped cards first."""
    seconds: float = 0.0
    skipped: int = 0
    """Cards not exported because their front would be empty in Anki (each one is in warnings)."""

    def summary(self) -> str:
        """The report without the warnings (a frontend lists those one per line)."""
        line = (f"Exported {_plural(self.decks, 'deck')}, {_plural(self.notes, 'note')} "
                f"({_plural(self.cards, 'card')}), {_plural(self.media, 'media file')} "
                f"to {self.path} ({_human_size(self.size)})")
        if self.skipped:
            line += f"; {_plural(self.skipped, 'card')} not exported (empty front)"
        return line

    def __str__(self) -> str:
        line = self.summary()
        if self.warnings:
            shown = "; ".join(self.warnings[:3])
            more = f"; and {len(self.warnings) - 3} more" if len(self.warnings) > 3 else ""
            line += f"; {_plural(len(self.warnings), 'warning')}: {shown}{more}"
        return line


# --------------------------------------------------------------------------- export


@dataclass
class _CardCtx:
    loaded: LoadedDeck
    card: Card | None  # None: the deck's description
    left_out: list[str] = field(default_factory=list)
    """Images of this card that were left out (named when its front ends up empty)."""

    def where(self) -> str:
        if self.card is None:
            return f"{self.loaded.path}: deck description"
        line = self.loaded.card_lines.get(self.card.id)
        return f"{self.loaded.path}{f':{line}' if line else ''}: card '{self.card.id}'"


def _short(text: str, n: int = 60) -> str:
    text = text.strip()
    return text if len(text) <= n else text[: n - 3] + "..."


def _non_local_image(src: str, scheme: str) -> str:
    """What is wrong with an image URL that is not a file next to the deck, and what to do."""
    fix = "save the image next to the deck file and use a relative path, e.g. ![alt](fig.png)"
    if scheme in ("http", "https"):
        return (f"remote image {_short(src, 120)} left out (Anki reviews offline); "
                "download it next to the deck file and use a relative path")
    if scheme == "file":
        return (f"image {_short(src, 120)} left out: file:// URLs are refused (they can point anywhere on the disk); "
                "copy the image next to the deck file and use a relative path")
    if scheme == "data":
        return f"inline data: image '{_short(src, 40)}' left out (it is not packed); {fix}"
    return f"image '{_short(src)}' left out: '{scheme}:' URLs are not images Anki can show; {fix}"


_URL_TAG = re.compile(r"<(?:img|a)\b", re.I)
_NON_IMG_TAG = re.compile(r"<(?!img\b)[^>]*>", re.I)


class _UrlScan(HTMLParser):
    """Collects ``<img src>`` and ``<a href>`` of raw HTML: nh3 drops disallowed URL schemes before
    the attribute filter sees them, and every drop must be reported."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[tuple[str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        want = {"img": "src", "a": "href"}.get(tag)
        self.found += [(tag, v) for k, v in attrs if k == want and v]


def _visibly_empty(fragment: str) -> bool:
    """True if Anki would show nothing for this field (only tags, whitespace, entities for spaces)."""
    if not fragment:
        return True
    text = _NON_IMG_TAG.sub("", fragment)
    if "<img" in text.lower():
        return False
    return not html.unescape(text).replace("\u200b", "").strip()


@dataclass
class _Exporter:
    deckset: DeckSet
    renderer: MarkdownRenderer = field(default_factory=MarkdownRenderer)
    media: dict[str, Path | bytes] = field(default_factory=dict)
    """packed name -> source file (or its checked content: SVGs are packed as the bytes checked)"""
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """one message per card left out of the package"""
    _by_path: dict[tuple[str, Path], str] = field(default_factory=dict)
    _ctx: _CardCtx | None = None

    def __post_init__(self) -> None:
        self.cleaner = _make_cleaner(self._filter_attribute, on_style=self._on_style)

    def _warn(self, message: str) -> None:
        where = self._ctx.where() if self._ctx is not None else "deck"
        self.warnings.append(f"{where}: {message}")

    def _left_out(self, src: str, message: str) -> None:
        if self._ctx is not None:
            self._ctx.left_out.append(src)
        self._warn(message)

    # ---- images ---------------------------------------------------------------------------
    def _pack_image(self, src: str, strict: bool) -> str | None:
        ctx = self._ctx
        assert ctx is not None
        rel = unquote(src)
        deck_dir = ctx.loaded.path.parent.resolve()
        target = (deck_dir / rel).resolve()

        def fail(message: str) -> None:
            if strict:
                raise ExportError(f"{ctx.where()}: {message}")
            self._left_out(src, f"{message}; the image was left out")

        if not target.is_relative_to(deck_dir):
            fail(f"image '{src}' is outside the deck's directory {deck_dir}; "
                 "copy it next to the deck file (or into a folder below it) and use a relative path")
            return None
        if not target.is_file():
            fail(f"image '{src}' not found (looked for {target}); "
                 "put the file next to the deck file or fix the path in the card")
            return None
        if target.suffix.lower() not in IMAGE_SUFFIXES:
            fail(f"'{src}' is not an image Anki can show (use {', '.join(sorted(IMAGE_SUFFIXES))})")
            return None
        key = (ctx.loaded.id, target)
        name = self._by_path.get(key)
        if name is None:
            try:
                data = target.read_bytes()
            except OSError as exc:
                fail(f"cannot read image '{src}' ({target}): {exc.strerror or exc}; check the file's permissions")
                return None
            is_svg = target.suffix.lower() == ".svg"
            if is_svg and (problem := svg_problem(data)):
                self._left_out(src, f"SVG image '{src}' left out: {problem}, which a browser would run when the "
                                    "SVG is opened on its own; remove it from the SVG (or save the figure as PNG) "
                                    "and export again")
                return None
            digest = hashlib.sha1(data).hexdigest()[:10]
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", target.name)
            name = f"mi-prep-{ctx.loaded.id}-{digest}-{safe}"
            self._by_path[key] = name
            self.media[name] = data if is_svg else target  # an SVG is packed exactly as checked
        return name

    def _on_image(self, src: str) -> str | None:
        """A Markdown image: packed (``src`` -> media name) or left out with a warning (-> "")."""
        if not src or src in self.media or self._ctx is None:
            return None
        scheme = url_scheme(src)
        if scheme:
            self._left_out(src, _non_local_image(src, scheme))
            return ""  # an empty src: the <img> is removed after sanitizing
        return self._pack_image(src, strict=True)

    def _on_link(self, href: str) -> None:
        self._warn(f"link '{_short(href)}' removed (only http, https and mailto links are kept; the text stays); "
                   "use a web address or drop the link")

    def _on_style(self, tag: str, value: str) -> None:
        allowed = ", ".join(f"{p}: {'/'.join(sorted(v))}" for p, v in ALLOWED_STYLES.items())
        self._warn(f"CSS style=\"{_short(value)}\" on <{tag}> removed (only {allowed} is kept; card HTML may not carry "
                   "other CSS such as expression(), url(), behavior or -moz-binding); delete it from the card")

    def _filter_attribute(self, tag: str, attr: str, value: str) -> str | None:
        # called by nh3 for every allowed attribute whose URL (if any) has an allowed scheme; must never raise
        try:
            if tag != "img" or attr != "src":
                return value
            if value in self.media:
                return value
            if not value.strip():
                return None
            scheme = url_scheme(value)
            if scheme:  # http(s): the only schemes nh3 lets through to here
                self._left_out(value, _non_local_image(value, scheme))
                return None
            if self._ctx is None:
                return None
            return self._pack_image(value, strict=False)  # a raw HTML <img>: best effort
        except Exception as exc:  # pragma: no cover - defensive
            self._warn(f"image '{_short(value)}' left out: {exc}")
            return None

    def _report_dropped_urls(self, rendered: str) -> None:
        """Warn about raw-HTML URLs nh3 is about to drop silently (file:, data:, javascript:, ...)."""
        scan = _UrlScan()
        scan.feed(rendered)
        scan.close()
        for tag, url in scan.found:
            scheme = url_scheme(url)
            if tag == "img" and scheme not in ("", "http", "https") and url not in self.media:
                self._left_out(url, _non_local_image(url, scheme))
            elif tag == "a" and scheme not in LINK_SCHEMES:
                self._on_link(url)

    # ---- fields ---------------------------------------------------------------------------
    def _clean(self, rendered: str) -> str:
        if self._ctx is not None and _URL_TAG.search(rendered):
            self._report_dropped_urls(rendered)
        return _SRCLESS_IMG.sub("", self.cleaner.clean(rendered)).strip()

    def _env(self) -> dict:
        return {"on_image": self._on_image, "on_link": self._on_link}

    def md(self, text: str, *, inline: bool = False) -> str:
        if not text:
            return ""
        return self._clean(self.renderer.render(text, self._env(), inline=inline))

    def cloze(self, text: str) -> str:
        return self._clean(self.renderer.render_cloze(text, self._env()))

    def fields(self, card: Card) -> list[str]:
        source = self.md(card.source, inline=True)
        cid = html.escape(card.id)
        if card.type in ("basic", "reverse"):
            return [self.md(card.front), self.md(card.back), source, cid]
        if card.type == "cloze":
            return [self.cloze(card.front), self.md(card.back), source, cid]
        if card.type == "choice":
            opts = [self.md(o.text, inline=True) for o in card.options]
            why = []
            for opt, o in zip(opts, card.options):
                cls, mark = ("correct", "&#10003;") if o.correct else ("wrong", "&#10007;")
                reason = self.md(o.why, inline=True)
                why.append(f'<li class="{cls}">{mark} {opt}{" &mdash; " + reason if reason else ""}</li>')
            i = card.correct_index
            return [
                self.md(card.front),
                "".join(f"<li>{o}</li>" for o in opts),
                f"{i + 1}. {opts[i]}",
                "".join(why),
                self.md(card.back),
                source,
                cid,
            ]
        if card.type == "explain":
            points = "".join(f"<li>{self.md(k.text, inline=True)}</li>" for k in card.key_points)
            return [self.md(card.front), self.md(card.back), points, source, cid]
        raise ExportError(f"card '{card.id}': unknown card type {card.type!r}")  # pragma: no cover

    def description(self, loaded: LoadedDeck) -> str:
        self._ctx = _CardCtx(loaded, None)
        try:
            return self.md(loaded.deck.description)
        finally:
            self._ctx = None

    def note(self, loaded: LoadedDeck, card: Card, due: int) -> genanki.Note | None:
        """The note for ``card``, or None (and a message in :attr:`skipped`) if Anki would get a
        note without cards: its front renders empty, e.g. it only held an image that was left out.
        A field that would show nothing is written empty, so genanki and Anki agree on the cards."""
        self._ctx = ctx = _CardCtx(loaded, card)
        try:
            fields = ["" if _visibly_empty(f) else f for f in self.fields(card)]
        finally:
            self._ctx = None
        tags = anki_tags(self.deckset.effective_tags(loaded, card), card.difficulty)
        note = genanki.Note(model=NOTE_TYPES[card.type], fields=fields, tags=tags, guid=note_guid(card.id), due=due)
        if note.cards:
            return note
        images = [src for src in dict.fromkeys(ctx.left_out) if src in card.front]
        if images:
            why = (f"its only content, image {', '.join(_short(s) for s in images)}, was left out (see the "
                   "warning for it); put the image next to the deck file and use a relative path, "
                   "or add text to 'front'")
        else:
            why = "it shows nothing once rendered and sanitized; write the question in 'front'"
        self.skipped.append(f"{ctx.where()}: card not exported: its front would be empty in Anki, which would import "
                            f"it as a note with no cards: {why}")
        return None


def anki_tags(tags: Iterable[str], difficulty: int | None = None) -> list[str]:
    """Anki-safe tags: whitespace becomes ``_``, case-insensitive duplicates dropped, plus
    ``mi-prep::difficulty::N``."""
    out: list[str] = []
    seen: set[str] = set()
    extra = [f"mi-prep::difficulty::{difficulty}"] if difficulty is not None else []
    for tag in [*tags, *extra]:
        tag = re.sub(r"\s+", "_", tag.strip())
        if tag and tag.casefold() not in seen:
            seen.add(tag.casefold())
            out.append(tag)
    return out


def _plain_name(name: str) -> str:
    """A deck name as plain text: markup removed (Anki shows names as text), no ``<`` / ``>`` left."""
    text = html.unescape(_make_cleaner(None, tags=set()).clean(name))
    return re.sub(r"\s+", " ", text.replace("<", "").replace(">", "")).strip() or "Untitled"


def _select(deckset: DeckSet, deck_ids: Sequence[str] | None) -> list[LoadedDeck]:
    if deck_ids is None:
        chosen = list(deckset.decks)
    else:
        known = {d.id for d in deckset.decks}
        unknown = [d for d in deck_ids if d not in known]
        if unknown:
            raise ExportError(f"unknown deck id(s): {', '.join(unknown)}; known: {', '.join(sorted(known)) or 'none'}")
        wanted = set(deck_ids)
        chosen = [d for d in deckset.decks if d.id in wanted]
    if not chosen:
        raise ExportError("there are no decks to export; check --decks / the deck files (`mi-prep check`)")
    return chosen


def _check_output(out: Path) -> Path:
    """Refuse an unusable output path before doing any work; returns the directory to write in."""
    try:
        if out.is_dir():
            raise ExportError(f"{out} is a directory; give a file name, e.g. {out / 'mi-prep.apkg'}")
        if out.suffix.lower() != ".apkg":
            # a typo such as `-o decks/sae.yaml` or `-o mi-prep.db` must never replace that file
            raise ExportError(f"{out}: the output file must end in .apkg (Anki imports .apkg files), e.g. "
                              f"{out.with_suffix('.apkg')}; nothing was written")
        if out.exists() or out.is_symlink():
            if not out.is_file():
                raise ExportError(f"{out} exists and is not a regular file (a device, FIFO or broken link); "
                                  "choose another output file; nothing was written")
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.exists():
            raise ExportError(f"cannot write {out}: directory {parent} does not exist; create it first or choose another path")
        if not parent.is_dir():
            raise ExportError(f"cannot write {out}: {parent} is not a directory; choose another output file")
        if _read_only_fs(parent):
            raise ExportError(f"cannot write {out}: {parent} is on a read-only file system; "
                              "choose an output file on a writable disk (e.g. in your home directory)")
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ExportError(f"cannot write {out}: no permission to write in {parent}; "
                              "choose another output file or fix the directory's permissions")
    except OSError as exc:
        raise _write_error(out, exc) from None
    return parent


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False


def _write_error(out: Path, exc: BaseException) -> ExportError:
    """One line for a failed write: the file, what is wrong, what to do."""
    where = out.parent if str(out.parent) else Path(".")
    code = getattr(exc, "errno", None)
    reason = getattr(exc, "strerror", None) or str(exc)
    if isinstance(exc, sqlite3.Error):
        code = errno.ENOSPC if "full" in str(exc).lower() else errno.ENOMEM if "memory" in str(exc).lower() else None
        reason = str(exc)
    quota = getattr(errno, "EDQUOT", None)
    if code is not None and code in (errno.ENOSPC, errno.EFBIG, quota):
        what = "disk quota exceeded" if code == quota else "the disk is full"
        fix = f"free some space on the disk holding {where}, or choose an output file on another disk"
    elif code == errno.EROFS:
        what, fix = f"{where} is on a read-only file system", "choose an output file on a writable disk"
    elif code in (errno.EACCES, errno.EPERM):
        what, fix = f"no permission to write in {where}", "choose another output file or fix the directory's permissions"
    elif code == errno.ENOMEM or isinstance(exc, MemoryError):
        what, fix = "out of memory", "export fewer decks at a time (choose decks) or close other programs"
    else:
        what, fix = "the write failed", f"check the disk and the directory {where}, then export again"
    return ExportError(f"cannot write {out}: {reason} ({what}); {fix}; nothing was written")


def _umask() -> int:
    try:  # reading it this way does not change it (os.umask would, for every thread)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def write_collection(cursor: sqlite3.Cursor, decks: Sequence[genanki.Deck], timestamp: float, id_gen) -> None:
    """Write ``decks`` (and the note types their notes use) into an empty Anki collection.

    What ``genanki.Package.write_to_db`` does, in linear time: genanki reads, extends and rewrites
    the whole ``col.decks`` JSON once per deck (and ``col.models`` too), which is quadratic in the
    number of decks (2,000 decks: 20 s). Here both are written once. Row for row the same: deck
    JSON from ``Deck.to_json``, note types from ``Model.to_json`` (with the last deck using them,
    as genanki), notes and cards by ``Note.write_to_db`` in deck order with the same id sequence.
    """
    cursor.executescript(APKG_SCHEMA)
    cursor.executescript(APKG_COL)
    decks_json, models_json = cursor.execute("SELECT decks, models FROM col").fetchone()
    all_decks, models = json.loads(decks_json), json.loads(models_json)
    used: dict[int, tuple[genanki.Model, int]] = {}
    for deck in decks:
        all_decks[str(deck.deck_id)] = deck.to_json()
        for note in deck.notes:
            used[note.model.model_id] = (note.model, deck.deck_id)
    for model_id, (model, deck_id) in used.items():
        models[str(model_id)] = model.to_json(timestamp, deck_id)
    cursor.execute("UPDATE col SET decks = ?, models = ?", (json.dumps(all_decks), json.dumps(models)))
    with warnings.catch_warnings():
        # fields are sanitized HTML; genanki's heuristic HTML check only adds noise
        warnings.filterwarnings("ignore", module="genanki")
        for deck in decks:
            for note in deck.notes:
                note.write_to_db(cursor, timestamp, deck.deck_id, id_gen)


def _collection_bytes(decks: Sequence[genanki.Deck], timestamp: float, parent: Path) -> bytes:
    """The ``collection.anki2`` database, built in memory: the export never touches TMPDIR (only
    an SQLite without ``serialize`` gets a temporary copy, in ``parent``, the output directory)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("PRAGMA temp_store = MEMORY")  # no temporary files for sorting / indexes either
        write_collection(conn.cursor(), decks, timestamp, itertools.count(int(timestamp * 1000)))
        conn.commit()
        if hasattr(conn, "serialize"):
            return conn.serialize()
        return _backup_bytes(conn, parent)  # pragma: no cover - an SQLite built without serialize
    finally:
        conn.close()


def _backup_bytes(conn: sqlite3.Connection, parent: Path) -> bytes:  # pragma: no cover
    fd, name = tempfile.mkstemp(prefix=".mi-prep-collection.", suffix=".part", dir=parent)
    os.close(fd)
    try:
        copy = sqlite3.connect(name)
        try:
            conn.backup(copy)
        finally:
            copy.close()
        return Path(name).read_bytes()
    finally:
        os.unlink(name)


def _write_package(decks: list[genanki.Deck], media: dict[str, Path | bytes], out: Path, parent: Path,
                   timestamp: float) -> None:
    """Write the package to a temporary file beside ``out`` and move it into place. Only the
    output directory is written to (never TMPDIR); any failure is an :class:`ExportError` and
    leaves nothing behind."""
    try:
        db = _collection_bytes(decks, timestamp, parent)
    except (sqlite3.Error, MemoryError, OSError) as exc:
        raise _write_error(out, exc) from None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=parent)
    except OSError as exc:
        raise _write_error(out, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        names = sorted(media)
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
            z.writestr("collection.anki2", db)
            z.writestr("media", json.dumps({str(i): name for i, name in enumerate(names)}))
            for i, name in enumerate(names):
                source = media[name]
                if isinstance(source, bytes):
                    z.writestr(str(i), source)
                    continue
                try:
                    z.write(source, str(i))
                except FileNotFoundError:
                    raise ExportError(f"cannot pack image {source}: it was removed during the export; "
                                      "restore it (or fix the card) and export again; nothing was written") from None
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(out, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_apkg(deckset: DeckSet, out: Path | str, *, deck_ids: Sequence[str] | None = None,
                now: datetime | None = None) -> ExportReport:
    """Write the decks (all, or those in ``deck_ids``) to the Anki package ``out``.

    Raises :class:`ExportError` (nothing written) for an unknown deck id, an unusable output path,
    a failed write (full disk, read-only directory, ...), or a card whose image is missing or
    outside its deck's directory; its message is one line for the user: file, line and card id
    where known, what is wrong, what to do. Cards whose front would be empty in Anki are left out
    (:attr:`ExportReport.skipped`); they and every left-out image, link or style are in
    :attr:`ExportReport.warnings`, skipped cards first.
    """
    try:
        return _export(deckset, Path(out).expanduser(), deck_ids, now)
    except OSError as exc:  # anything not caught where it happened (e.g. a deck directory gone)
        name = f" ({exc.filename})" if getattr(exc, "filename", None) else ""
        raise ExportError(f"export to {out} failed: {exc.strerror or exc}{name}; "
                          "check that file and export again; nothing was written") from None


def _export(deckset: DeckSet, out: Path, deck_ids: Sequence[str] | None, now: datetime | None) -> ExportReport:
    started = time.perf_counter()
    chosen = _select(deckset, deck_ids)
    parent = _check_output(out)
    timestamp = now.timestamp() if now is not None else time.time()

    exporter = _Exporter(deckset)
    plain = {loaded.id: _plain_name(loaded.deck.name) for loaded in chosen}
    names: dict[str, int] = {}
    for name in plain.values():
        names[name.casefold()] = names.get(name.casefold(), 0) + 1
    anki_decks: list[genanki.Deck] = []
    n_notes = n_cards = 0
    for loaded in chosen:
        name = plain[loaded.id]
        if names[name.casefold()] > 1:  # Anki matches decks by name: keep two YAML decks apart
            name = f"{name} ({loaded.id})"
        deck = genanki.Deck(deck_anki_id(loaded.id), f"{DECK_ROOT}::{name}", exporter.description(loaded))
        for card in loaded.deck.cards:
            note = exporter.note(loaded, card, due=n_notes)
            if note is None:
                continue
            deck.add_note(note)
            n_notes += 1
            n_cards += len(note.cards)
        anki_decks.append(deck)

    _write_package(anki_decks, exporter.media, out, parent, timestamp)
    try:
        size = out.stat().st_size
    except OSError:  # pragma: no cover - removed right after it was written
        size = 0
    return ExportReport(
        path=out,
        decks=len(anki_decks),
        notes=n_notes,
        cards=n_cards,
        media=len(exporter.media),
        size=size,
        warnings=tuple(dict.fromkeys([*exporter.skipped, *exporter.warnings])),
        seconds=time.perf_counter() - started,
        skipped=len(exporter.skipped),
    )
