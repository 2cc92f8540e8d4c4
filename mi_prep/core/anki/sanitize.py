"""Sanitizing: the HTML tag/attribute allow-list (nh3), the one CSS a ``style`` may keep, the URL
schemes links keep, and the check that keeps script-capable SVG files out of the package."""

from __future__ import annotations

import html
import re
from urllib.parse import urlsplit
from xml.etree import ElementTree

import nh3

LINK_SCHEMES = frozenset({"", "http", "https", "mailto"})
"""URL schemes a link may keep ("" = a relative link); the nh3 cleaner is built from the same set."""


def url_scheme(url: str) -> str:
    """The lower-cased scheme of ``url`` ("" for a relative path; a one-letter "scheme" is a
    Windows drive letter and counts as a path)."""
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return "invalid"
    return scheme if len(scheme) > 1 else ""


# --------------------------------------------------------------------------- HTML and CSS

ALLOWED_TAGS = frozenset(
    {
        "a",
        "b",
        "blockquote",
        "br",
        "code",
        "del",
        "div",
        "em",
        "h1",
        "h2",
        "h3",
        "h4",
        "h5",
        "h6",
        "hr",
        "i",
        "img",
        "kbd",
        "li",
        "ol",
        "p",
        "pre",
        "s",
        "span",
        "strong",
        "sub",
        "sup",
        "table",
        "tbody",
        "td",
        "tfoot",
        "th",
        "thead",
        "tr",
        "u",
        "ul",
    }
)
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
    "text-align": frozenset({"left", "right", "center", "justify", "start", "end"})
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


def make_cleaner(attribute_filter, tags: set[str] | None = None, on_style=None) -> nh3.Cleaner:
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
        url_schemes=set(LINK_SCHEMES - {""}),
        filter_style_properties=set(ALLOWED_STYLES),
        strip_comments=True,
        link_rel="noopener noreferrer",
    )


_SRCLESS_IMG = re.compile(r"<img\b(?![^>]*\ssrc=)[^>]*>")


def clean_html(cleaner: nh3.Cleaner, rendered: str) -> str:
    """``rendered`` through ``cleaner``; an ``<img>`` left without ``src`` (an image that was left
    out) is removed."""
    return _SRCLESS_IMG.sub("", cleaner.clean(rendered))


_NOT_FAST_TAG = re.compile(
    r"<(?!/?(?:p|em|strong|code|pre|table|thead|tbody|tr|th|td)>|/div>|div class=\"math\">"
    r"|code class=\"language-[A-Za-z0-9_.+#-]+\">|t[hd] style=\"text-align:(?:left|right|center)\">)"
)
"""A tag the Markdown fast path does not write."""
_NOT_FAST_TEXT = re.compile(r"&(?!(?:amp|lt|gt|quot);)|[\x00\r\xa0\ud800-\udfff]")
"""Text the fast path does not write: a bare ``&`` or another entity, NUL, CR, NBSP (nh3 rewrites
them), a lone surrogate."""


def sanitized_fast_html(html: str) -> str | None:
    """What the cleaner returns for HTML from the Markdown fast path (:mod:`.markdown_fast`), without
    running it, or None if ``html`` holds any other tag (then it must go through the cleaner).

    That HTML has only the fixed, allow-listed tags above, well nested, and text escaped with
    ``&amp; &lt; &gt; &quot;``; nh3 keeps all of it and writes ``&quot;`` in text back as ``"``
    (tested on every form the fast path renders and every character it lets through:
    ``tests/core/test_anki_markdown_fast.py``)."""
    if _NOT_FAST_TAG.search(html) or _NOT_FAST_TEXT.search(html) or html.count("<") != html.count(">"):
        return None  # (every "<" starts one of those tags: one ">" more is a bare ">" in text)
    return html.replace("&quot;", '"')


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
