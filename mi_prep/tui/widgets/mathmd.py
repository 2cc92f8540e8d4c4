"""Markdown with readable math: ``$...$`` / ``$$...$$`` spans become code so their LaTeX survives.

Markdown would otherwise read ``_`` and ``*`` inside LaTeX as emphasis and mangle it; a code
span keeps the source verbatim (``$W_Q^T W_K$`` shows as ``W_Q^T W_K`` in code style) and a
display block becomes a fenced ``latex`` block. Existing code spans and fences are left alone,
and a lone ``$5`` (currency) is not math: the opening ``$`` must be followed, and the closing
``$`` preceded, by a non-space, and the closing one not followed by a digit (pandoc's rule).
"""

from __future__ import annotations

import re

_FENCE_RE = re.compile(r"^(```|~~~).*?^\1[ \t]*$", re.M | re.S)
_CODE_SPAN_RE = re.compile(r"(`+)(.+?)\1", re.S)
_DISPLAY_RE = re.compile(r"(?<!\\)\$\$(.+?)(?<!\\)\$\$", re.S)
_INLINE_RE = re.compile(r"(?<![\\$])\$(?=\S)([^$\n]*?\S)(?<!\\)\$(?![\d$])")


def _code_span(source: str) -> str:
    ticks = "`"
    while ticks in source:
        ticks += "`"
    pad = " " if source.startswith("`") or source.endswith("`") else ""
    return f"{ticks}{pad}{source}{pad}{ticks}"


def _inline(text: str) -> str:
    """Rewrite math in text that holds no fenced blocks (code spans are kept as they are)."""
    out: list[str] = []
    pos = 0
    for m in _CODE_SPAN_RE.finditer(text):
        out.append(_math(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_math(text[pos:]))
    return "".join(out)


def _math(text: str) -> str:
    text = _DISPLAY_RE.sub(lambda m: f"\n\n```latex\n{m.group(1).strip()}\n```\n\n", text)
    return _INLINE_RE.sub(lambda m: _code_span(m.group(1)), text)


def math_markdown(text: str) -> str:
    """Return ``text`` with math spans turned into code spans / ``latex`` blocks."""
    out: list[str] = []
    pos = 0
    for m in _FENCE_RE.finditer(text):
        out.append(_inline(text[pos : m.start()]))
        out.append(m.group(0))
        pos = m.end()
    out.append(_inline(text[pos:]))
    return "".join(out)
