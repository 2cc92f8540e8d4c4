"""Cards -> Anki notes: each field rendered (:mod:`.markdown`) and sanitized (:mod:`.sanitize`),
images resolved against the deck file's directory and packed as media, and every image, link or
style that is left out turned into a warning naming file:line, card id and what to do."""

from __future__ import annotations

import hashlib
import html
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from html.parser import HTMLParser
from pathlib import Path
from urllib.parse import unquote

from mi_prep.core.anki.collection import NoteRow, card_ords
from mi_prep.core.anki.errors import ExportError
from mi_prep.core.anki.ids import note_guid
from mi_prep.core.anki.markdown import MarkdownRenderer
from mi_prep.core.anki.note_types import NOTE_TYPES
from mi_prep.core.anki.sanitize import (
    ALLOWED_STYLES,
    LINK_SCHEMES,
    clean_html,
    make_cleaner,
    sanitized_fast_html,
    svg_problem,
    url_scheme,
)
from mi_prep.core.deck import Card, DeckSet, LoadedDeck

IMAGE_SUFFIXES = frozenset({".png", ".jpg", ".jpeg", ".gif", ".svg", ".webp", ".avif", ".bmp"})


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
        return (
            f"remote image {_short(src, 120)} left out (Anki reviews offline); "
            "download it next to the deck file and use a relative path"
        )
    if scheme == "file":
        return (
            f"image {_short(src, 120)} left out: file:// URLs are refused (they can point anywhere on the disk); "
            "copy the image next to the deck file and use a relative path"
        )
    if scheme == "data":
        return f"inline data: image '{_short(src, 40)}' left out (it is not packed); {fix}"
    return f"image '{_short(src)}' left out: '{scheme}:' URLs are not images Anki can show; {fix}"


_URL_TAG = re.compile(r"<(?:img|a)\b", re.I)
_NON_IMG_TAG = re.compile(r"<(?!img\b)[^>]*>", re.I)
_IMG_TAG = re.compile(r"<img\b", re.I)


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
    pos = 0
    while fragment.startswith("<", pos) and not _IMG_TAG.match(fragment, pos):
        pos = fragment.find(">", pos) + 1  # skip the leading tags, as the full check removes them
        if pos == 0:
            break
    else:
        if pos < len(fragment) and fragment[pos] not in "<&\u200b" and not fragment[pos].isspace():
            return False  # the first character after them is one Anki shows
    text = _NON_IMG_TAG.sub("", fragment)
    if "<img" in text.lower():
        return False
    return not html.unescape(text).replace("\u200b", "").strip()


@dataclass
class NoteBuilder:
    """Builds the notes of one export; collects its media and warnings."""

    deckset: DeckSet
    renderer: MarkdownRenderer = field(default_factory=MarkdownRenderer)
    media: dict[str, Path | bytes] = field(default_factory=dict)
    """packed name -> source file (or its checked content: SVGs are packed as the bytes checked)"""
    warnings: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    """one message per card left out of the package"""
    _by_path: dict[tuple[str, Path], str] = field(default_factory=dict)
    _ctx: _CardCtx | None = None
    _rendered: tuple[dict[str, str], dict[str, str]] = field(default_factory=lambda: ({}, {}))
    """text -> field HTML (block, inline), for the texts the fast path rendered without an image: no
    hook was called, and sanitizing that HTML warns about nothing, so it depends on the text alone."""
    _tags: dict[tuple[tuple[str, ...], int | None], tuple[str, ...]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.cleaner = make_cleaner(self._filter_attribute, on_style=self._on_style)

    def _warn(self, message: str) -> None:
        where = self._ctx.where() if self._ctx is not None else "deck"
        self.warnings.append(f"{where}: {message}")

    def _left_out(self, src: str, message: str) -> None:
        if self._ctx is not None:
            self._ctx.left_out.append(src)
        self._warn(message)

    def _leave_out_url(self, src: str, scheme: str) -> None:
        self._left_out(src, _non_local_image(src, scheme))

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
            fail(
                f"image '{src}' is outside the deck's directory {deck_dir}; "
                "copy it next to the deck file (or into a folder below it) and use a relative path"
            )
            return None
        if not target.is_file():
            fail(
                f"image '{src}' not found (looked for {target}); "
                "put the file next to the deck file or fix the path in the card"
            )
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
                self._left_out(
                    src,
                    f"SVG image '{src}' left out: {problem}, which a browser would run when the "
                    "SVG is opened on its own; remove it from the SVG (or save the figure as PNG) "
                    "and export again",
                )
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
            self._leave_out_url(src, scheme)
            return ""  # an empty src: the <img> is removed after sanitizing
        return self._pack_image(src, strict=True)

    def _on_link(self, href: str) -> None:
        self._warn(
            f"link '{_short(href)}' removed (only http, https and mailto links are kept; the text stays); "
            "use a web address or drop the link"
        )

    def _on_style(self, tag: str, value: str) -> None:
        allowed = ", ".join(f"{p}: {'/'.join(sorted(v))}" for p, v in ALLOWED_STYLES.items())
        self._warn(
            f'CSS style="{_short(value)}" on <{tag}> removed (only {allowed} is kept; card HTML may not carry '
            "other CSS such as expression(), url(), behavior or -moz-binding); delete it from the card"
        )

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
                self._leave_out_url(value, scheme)
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
                self._leave_out_url(url, scheme)
            elif tag == "a" and scheme not in LINK_SCHEMES:
                self._on_link(url)

    # ---- fields ---------------------------------------------------------------------------
    def _clean(self, rendered: str) -> str:
        if self._ctx is not None and _URL_TAG.search(rendered):
            self._report_dropped_urls(rendered)
        return clean_html(self.cleaner, rendered).strip()

    def _env(self) -> dict:
        return {"on_image": self._on_image, "on_link": self._on_link}

    def md(self, text: str, *, inline: bool = False) -> str:
        if not text:
            return ""
        rendered = self._rendered[inline]
        html = rendered.get(text)
        if html is not None:
            return html
        env = self._env()
        fast = self.renderer.render_fast(text, env, inline=inline)
        if fast is None:  # links, raw HTML, lists, ...: markdown-it, hooks, the cleaner; never cached
            return self._clean(self.renderer.render_markdown_it(text, env, inline=inline))
        if "<img" in fast:  # (text is escaped: only an image writes "<img") its src depends on the deck
            return clean_html(self.cleaner, fast).strip()  # the hook has checked each src: no URL to report
        sanitized = sanitized_fast_html(fast)
        html = rendered[text] = self._clean(fast) if sanitized is None else sanitized
        return html

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

    def note(self, loaded: LoadedDeck, card: Card, due: int) -> NoteRow | None:
        """The note for ``card``, or None (and a message in :attr:`skipped`) if Anki would get a
        note without cards: its front renders empty, e.g. it only held an image that was left out.
        A field that would show nothing is written empty, so the cards written and Anki agree."""
        self._ctx = ctx = _CardCtx(loaded, card)
        try:
            fields = ["" if _visibly_empty(f) else f for f in self.fields(card)]
        finally:
            self._ctx = None
        tag_key = (self.deckset.effective_tags(loaded, card), card.difficulty)
        tags = self._tags.get(tag_key)
        if tags is None:
            tags = self._tags[tag_key] = tuple(anki_tags(*tag_key))
        model = NOTE_TYPES[card.type]
        ords = card_ords(model, fields)
        if ords:
            return NoteRow(model, tuple(fields), tags, note_guid(card.id), due, ords)
        images = [src for src in dict.fromkeys(ctx.left_out) if src in card.front]
        if images:
            why = (
                f"its only content, image {', '.join(_short(s) for s in images)}, was left out (see the "
                "warning for it); put the image next to the deck file and use a relative path, "
                "or add text to 'front'"
            )
        else:
            why = "it shows nothing once rendered and sanitized; write the question in 'front'"
        self.skipped.append(
            f"{ctx.where()}: card not exported: its front would be empty in Anki, which would import "
            f"it as a note with no cards: {why}"
        )
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
