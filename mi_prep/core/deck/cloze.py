"""Cloze deletions ``{{cN::answer::hint}}``: the one scan (:func:`iter_cloze`) that validates them,
and the helpers built on it."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator

CLOZE_OPEN_RE = re.compile(r"\{\{c([0-9]+)::")  # ASCII digits only: c١ is not c1
MAX_CLOZE = 999
"""Cloze numbers go from c1 to c999 (each becomes a review item and an Anki card ordinal)."""


def iter_cloze(text: str) -> Iterator[tuple[int, int, int, str, str]]:
    """Yield ``(start, end, number, answer, hint)`` for each deletion, ``text[start:end]`` being the
    whole ``{{cN::answer::hint}}``; raise ValueError saying what is wrong.

    ``}}`` inside a deletion (e.g. LaTeX ``\\frac{a}{b}}``) ends it early in Anki
    too, so it is refused here with a hint to add a space.
    """
    for match in CLOZE_OPEN_RE.finditer(text):
        start = match.end()
        end = text.find("}}", start)
        if end < 0:
            raise ValueError(f"cloze c{match.group(1)} is not closed with '}}}}'")
        body = text[start:end]
        # a '}}}' run means the deletion's answer ends with '}': Anki closes at the first '}}'
        if text[end : end + 3] == "}}}":
            raise ValueError(
                f"cloze c{match.group(1)} ends in '}}}}}}': Anki would close it early; "
                "put a space before the closing '}}' (e.g. '\\frac{a}{b} }}')"
            )
        if "{{" in body:
            raise ValueError(f"cloze c{match.group(1)} contains another '{{{{' before it closes")
        if _open_braces(body) > 0:
            # e.g. {{c1::$\frac{e^{x_i}}{...}$}}: the '}}' after x_i closes a LaTeX group, but Anki (and
            # any cloze parser) ends the deletion there and shows the rest of the answer on the front
            shown = text[max(start, end - 20) : end + 2]
            raise ValueError(
                f"cloze c{match.group(1)}: the '}}}}' in '...{shown}' closes braces opened inside the "
                "deletion (LaTeX?), so Anki would end the deletion there and show the rest of the answer "
                "on the front; put a space between the two braces ('} }') inside the deletion"
            )
        answer, _, hint = body.partition("::")
        if not answer.strip():
            raise ValueError(f"cloze c{match.group(1)} has an empty answer")
        number = int(match.group(1)[:6])
        if number < 1:
            raise ValueError("cloze numbers start at c1")
        if number > MAX_CLOZE or len(match.group(1)) > 6:
            raise ValueError(f"cloze c{match.group(1)[:12]} is out of range; number deletions c1 to c{MAX_CLOZE}")
        yield match.start(), end + 2, number, answer, hint


def _open_braces(body: str) -> int:
    """How many ``{`` in ``body`` are still open at its end (``\\{`` and ``\\}`` are literal braces)."""
    depth = 0
    for m in re.finditer(r"\\[{}]|[{}]", body):
        tok = m.group()
        if tok == "{":
            depth += 1
        elif tok == "}" and depth > 0:
            depth -= 1
    return depth


def parse_cloze(text: str) -> list[tuple[int, str, str]]:
    """Return ``[(number, answer, hint), ...]`` or raise ValueError saying what is wrong."""
    found = [(number, answer, hint) for _, _, number, answer, hint in iter_cloze(text)]
    if not found:
        raise ValueError("a cloze card needs at least one deletion like {{c1::answer}} in 'front'")
    return found


def cloze_numbers(text: str) -> list[int]:
    return sorted({n for n, _, _ in parse_cloze(text)})


def replace_clozes(text: str, replace: Callable[[int, str, str], str]) -> str:
    """``text`` with each deletion replaced by ``replace(number, answer, hint)``, found by the
    validator's own scan (:func:`iter_cloze`)."""
    out: list[str] = []
    pos = 0
    for start, end, number, answer, hint in iter_cloze(text):
        out.append(text[pos:start])
        out.append(replace(number, answer, hint))
        pos = end
    out.append(text[pos:])
    return "".join(out)


def render_cloze(text: str, number: int, reveal: bool, mark: tuple[str, str] = ("[", "]")) -> str:
    """Render cloze ``number``: hidden as ``[...]`` / ``[hint]`` or revealed; other deletions shown.

    Uses the validator's own scan (:func:`iter_cloze`), so what renders is exactly what ``check`` passed."""

    def show(n: int, answer: str, hint: str) -> str:
        if n != number:
            return answer
        return f"{mark[0]}{answer if reveal else hint or '...'}{mark[1]}"

    return replace_clozes(text, show)
