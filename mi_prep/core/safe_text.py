"""Text that is safe to show in a terminal: control characters found, named and neutralised.

Deck files can carry terminal control sequences (a YAML ``"\\e[2J"`` clears the screen, an OSC
sequence retitles the window). Deck validation refuses them with :func:`find_control`; everything
printed goes through :func:`safe_text`, which shows each control character in caret notation
(``ESC`` as ``^[``) so that nothing printed can drive the terminal. Newlines and tabs are kept.
"""

from __future__ import annotations

import re
import unicodedata

# C0 controls except tab and newline, DEL, C1 controls, and the bidi overrides that reorder text
_CONTROL_RE = re.compile("[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_SGR_RE = re.compile(r"\x1b\[[0-9;]*m")

_NAMES = {"\x1b": "ESC", "\x07": "BEL", "\x08": "BS", "\r": "CR", "\x00": "NUL", "\x7f": "DEL", "\x9b": "CSI"}


def control_name(ch: str) -> str:
    """``U+001B (ESC)``: how an error message names a control character."""
    name = _NAMES.get(ch) or unicodedata.name(ch, "")
    return f"U+{ord(ch):04X}" + (f" ({name})" if name else "")


def find_control(text: str) -> tuple[int, str] | None:
    """``(index, character)`` of the first control character in ``text`` (tab/newline allowed), or None."""
    m = _CONTROL_RE.search(text)
    return (m.start(), m.group()) if m else None


def _caret(m: re.Match[str]) -> str:
    ch = m.group()
    code = ord(ch)
    if code < 0x20:
        return "^" + chr(code + 0x40)
    if code == 0x7F:
        return "^?"
    return f"<U+{code:04X}>"


def safe_text(text: str, *, keep_sgr: bool = False) -> str:
    """``text`` with every control character shown in caret notation (``^[``, ``^G``, ``<U+009B>``).

    ``keep_sgr`` keeps colour sequences (``ESC [ ... m``) that the program itself produced,
    e.g. a lab's ``--color`` heatmap; every other control is still neutralised.
    """
    if keep_sgr:
        parts = _SGR_RE.split(text)
        sgrs = _SGR_RE.findall(text)
        out = [_CONTROL_RE.sub(_caret, parts[0])]
        for sgr, part in zip(sgrs, parts[1:]):
            out.append(sgr)
            out.append(_CONTROL_RE.sub(_caret, part))
        return "".join(out)
    return _CONTROL_RE.sub(_caret, text)


_ASCII_FALLBACK = str.maketrans(
    {
        "\u2014": "--",
        "\u2013": "-",
        "\u2212": "-",
        "\u2192": "->",
        "\u2190": "<-",
        "\u2194": "<->",
        "\u2018": "'",
        "\u2019": "'",
        "\u201c": '"',
        "\u201d": '"',
        "\u2026": "...",
        "\u00b7": "*",
        "\u2022": "*",
        "\u00d7": "x",
        "\u2264": "<=",
        "\u2265": ">=",
        "\u2260": "!=",
        "\u2248": "~",
        "\u00a0": " ",
        "\u2588": "#",
        "\u2591": ".",
        "\u2592": ":",
        "\u2593": "%",
        "\u2713": "v",
        "\u2717": "x",
    }
)


def encodable(text: str, encoding: str | None) -> str:
    """``text`` degraded so that ``encoding`` can write it: common symbols to ASCII look-alikes,
    the rest to ``?``. Never raises (a terminal that is not UTF-8 must not crash a review)."""
    if not encoding:
        return text
    try:
        text.encode(encoding)
        return text
    except (UnicodeEncodeError, LookupError):
        pass
    out = []
    for ch in text:
        try:
            ch.encode(encoding)
            out.append(ch)
            continue
        except UnicodeEncodeError:
            pass
        except LookupError:
            encoding = "ascii"
        alt = ch.translate(_ASCII_FALLBACK)
        if alt == ch:  # e.g. 'é' -> 'e': the letter without its accents
            alt = "".join(c for c in unicodedata.normalize("NFKD", ch) if not unicodedata.combining(c))
        out.append(alt.encode(encoding, errors="replace").decode(encoding) if alt else "?")
    return "".join(out)
