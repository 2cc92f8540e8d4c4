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
  ``<script>``, no ``on*=`` handlers, no ``javascript:`` URLs reach the package.
* Images: ``![alt](fig.png)`` is resolved against the deck file's directory, packed as media
  under a unique name (``mi-prep-<deck id>-<sha1[:10]>-fig.png``) and the ``src`` rewritten. A
  missing image, or a path leaving the deck's directory, is an :class:`ExportError`. Remote
  (http/https) images are left out with a warning in the report (Anki reviews offline).
* The ``.apkg`` is written to a temporary file beside the target and moved into place with
  :func:`os.replace`: a failed export leaves nothing behind.

Nothing here imports Textual or torch.
"""

from __future__ import annotations

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
from pathlib import Path
from typing import Any, Iterable, Sequence
from urllib.parse import unquote, urlsplit

import genanki
import nh3
from markdown_it import MarkdownIt
from markdown_it.common.utils import escapeHtml
from markdown_it.rules_block import StateBlock
from markdown_it.rules_inline import StateInline
from markdown_it.token import Token

from mi_prep.core.deck import Card, DeckSet, LoadedDeck, iter_cloze

__all__ = [
    "DECK_ROOT", "ExportError", "ExportReport", "NOTE_TYPES", "export_apkg", "note_guid", "render_markdown",
    "stable_id",
]

DECK_ROOT = "MI Prep"
"""Parent deck in Anki: every YAML deck becomes ``MI Prep::<deck name>``."""

GUID_NAMESPACE = "mi-prep"

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".bmp"})


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

    ``on_image(src) -> src`` is called for each Markdown image with a local path (it may raise).
    """

    def __init__(self) -> None:
        md = MarkdownIt("commonmark", {"html": True}).enable("table")
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


def _make_cleaner(attribute_filter, tags: set[str] | None = None) -> nh3.Cleaner:
    return nh3.Cleaner(
        tags=set(ALLOWED_TAGS) if tags is None else tags,
        clean_content_tags={"script", "style"},
        attributes={k: set(v) for k, v in ALLOWED_ATTRIBUTES.items()},
        attribute_filter=attribute_filter,
        url_schemes={"http", "https", "mailto"},
        filter_style_properties={"text-align"},
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


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
    seconds: float = 0.0

    def __str__(self) -> str:
        line = (f"Exported {_plural(self.decks, 'deck')}, {_plural(self.notes, 'note')} "
                f"({_plural(self.cards, 'card')}), {_plural(self.media, 'media file')} "
                f"to {self.path} ({_human_size(self.size)})")
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

    def where(self) -> str:
        return f"{self.loaded.path}: " + (f"card '{self.card.id}'" if self.card else "deck description")


@dataclass
class _Exporter:
    deckset: DeckSet
    renderer: MarkdownRenderer = field(default_factory=MarkdownRenderer)
    media: dict[str, Path] = field(default_factory=dict)
    """packed name -> source file"""
    warnings: list[str] = field(default_factory=list)
    _by_path: dict[tuple[str, Path], str] = field(default_factory=dict)
    _ctx: _CardCtx | None = None

    def __post_init__(self) -> None:
        self.cleaner = _make_cleaner(self._filter_attribute)

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
            self.warnings.append(f"{ctx.where()}: {message}; the image was left out")

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
                digest = hashlib.sha1(target.read_bytes()).hexdigest()[:10]
            except OSError as exc:
                fail(f"cannot read image '{src}': {exc.strerror or exc}")
                return None
            safe = re.sub(r"[^A-Za-z0-9._-]+", "_", target.name)
            name = f"mi-prep-{ctx.loaded.id}-{digest}-{safe}"
            self._by_path[key] = name
            self.media[name] = target
        return name

    def _on_image(self, src: str) -> str | None:
        if not src or src in self.media or self._ctx is None:
            return None
        scheme = urlsplit(src).scheme.lower()
        if len(scheme) > 1:  # http:, https:, data:, ... (a one-letter "scheme" is a Windows drive)
            return None  # left to the sanitizer: remote images are dropped with a warning
        return self._pack_image(src, strict=True)

    def _filter_attribute(self, tag: str, attr: str, value: str) -> str | None:
        # called by nh3 for every allowed attribute; must never raise
        try:
            if tag != "img" or attr != "src":
                return value
            if value in self.media:
                return value
            if not value.strip():
                return None
            ctx = self._ctx
            scheme = urlsplit(value).scheme.lower()
            if scheme in ("http", "https"):
                self.warnings.append(f"{ctx.where() if ctx else '?'}: remote image {value} left out "
                                     "(Anki reviews offline); download it next to the deck file and use a relative path")
                return None
            if len(scheme) > 1 or ctx is None:
                return None
            return self._pack_image(value, strict=False)  # a raw HTML <img>: best effort
        except Exception as exc:  # pragma: no cover - defensive
            self.warnings.append(f"image '{value}': {exc}; left out")
            return None

    # ---- fields ---------------------------------------------------------------------------
    def _clean(self, rendered: str) -> str:
        return _SRCLESS_IMG.sub("", self.cleaner.clean(rendered)).strip()

    def md(self, text: str, *, inline: bool = False) -> str:
        if not text:
            return ""
        return self._clean(self.renderer.render(text, {"on_image": self._on_image}, inline=inline))

    def cloze(self, text: str) -> str:
        return self._clean(self.renderer.render_cloze(text, {"on_image": self._on_image}))

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

    def note(self, loaded: LoadedDeck, card: Card, due: int) -> genanki.Note:
        self._ctx = _CardCtx(loaded, card)
        try:
            fields = self.fields(card)
        finally:
            self._ctx = None
        tags = anki_tags(self.deckset.effective_tags(loaded, card), card.difficulty)
        return genanki.Note(model=NOTE_TYPES[card.type], fields=fields, tags=tags, guid=note_guid(card.id), due=due)


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
    if out.is_dir():
        raise ExportError(f"{out} is a directory; give a file name, e.g. {out / 'mi-prep.apkg'}")
    parent = out.parent if str(out.parent) else Path(".")
    if not parent.exists():
        raise ExportError(f"cannot write {out}: directory {parent} does not exist; create it first or choose another path")
    if not parent.is_dir():
        raise ExportError(f"cannot write {out}: {parent} is not a directory")
    if not os.access(parent, os.W_OK | os.X_OK):
        raise ExportError(f"cannot write {out}: no permission to write in {parent}")
    return parent


def _umask() -> int:
    try:  # reading it this way does not change it (os.umask would, for every thread)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _write_package(decks: list[genanki.Deck], media: dict[str, Path], out: Path, parent: Path,
                   timestamp: float) -> None:
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=parent)
    except OSError as exc:
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        with tempfile.TemporaryDirectory(prefix="mi-prep-anki-") as work:
            db_path = Path(work) / "collection.anki2"
            conn = sqlite3.connect(db_path)
            try:
                with warnings.catch_warnings():
                    # fields are sanitized HTML; genanki's heuristic HTML check only adds noise
                    warnings.filterwarnings("ignore", module="genanki")
                    genanki.Package(decks).write_to_db(conn.cursor(), timestamp, itertools.count(int(timestamp * 1000)))
                conn.commit()
            finally:
                conn.close()
            names = sorted(media)
            with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED) as z:
                z.write(db_path, "collection.anki2")
                z.writestr("media", json.dumps({str(i): name for i, name in enumerate(names)}))
                for i, name in enumerate(names):
                    z.write(media[name], str(i))
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise ExportError(f"cannot write {out}: {exc.strerror or exc}") from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def export_apkg(deckset: DeckSet, out: Path | str, *, deck_ids: Sequence[str] | None = None,
                now: datetime | None = None) -> ExportReport:
    """Write the decks (all, or those in ``deck_ids``) to the Anki package ``out``.

    Raises :class:`ExportError` (nothing written) for an unknown deck id, an unusable output path,
    or a card whose image is missing or outside its deck's directory.
    """
    started = time.perf_counter()
    out = Path(out).expanduser()
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
            deck.add_note(note)
            n_notes += 1
            n_cards += len(note.cards)
        anki_decks.append(deck)

    _write_package(anki_decks, exporter.media, out, parent, timestamp)
    return ExportReport(
        path=out,
        decks=len(anki_decks),
        notes=n_notes,
        cards=n_cards,
        media=len(exporter.media),
        size=out.stat().st_size,
        warnings=tuple(dict.fromkeys(exporter.warnings)),
        seconds=time.perf_counter() - started,
    )
