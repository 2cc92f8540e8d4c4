"""Checks that a lab tests understanding, not reading (pure Python, no torch).

* :func:`giveaways`: a question's key, written the way the lab writes it, must not appear in what the
  learner has seen when the question is asked (the blocks shown with the results and those revealed by
  earlier questions, rendered as the terminal shows them). A component or option named in a block that
  names all the alternatives too (a table with one row per head) is data, not a giveaway.
* :func:`key_of` / :func:`keys_differ`: what a question's key is, and whether two runs' keys differ by
  more than the grading tolerance (so an answer right at one seed can be wrong at another).

Used by the lab tests over every lab in the registry and seeds 0-4; a lab author can run them too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Sequence

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent, Question
from mi_prep.lab.api import Block, LabResult, LinePlot, Scatter

_NUMBER = re.compile(r"(?<![\w.])[-+−]?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?(?![\w])")


def block_text(block: Block) -> str:
    """What the learner reads in a block. Tables, text and heatmaps as the terminal renders them;
    for plots only the words (title, caption, series and point labels, axis labels), not tick numbers."""
    from mi_prep.lab.render import render_block

    if isinstance(block, LinePlot):
        parts = [block.title, block.caption, block.xlabel, block.ylabel, *(s.name for s in block.series)]
    elif isinstance(block, Scatter):
        parts = [block.title, block.caption, block.xlabel, block.ylabel, *block.labels]
    else:
        parts = [block.title, block.caption, render_block(block, width=200)]
    return "\n".join(p for p in parts if p)


def _parse_number(token: str) -> tuple[float, int] | None:
    """``(value, decimals)`` of a number as written (``87%`` -> (0.87, 2))."""
    t = token.replace("−", "-").lstrip("+")
    pct = t.endswith("%")
    t = t.rstrip("%")
    try:
        v = float(t)
    except ValueError:
        return None
    decimals = len(t.split(".")[1]) if "." in t and "e" not in t.lower() else 0
    return (v / 100, decimals + 2) if pct else (v, decimals)


def _significant(token: str) -> bool:
    """Too short to be a giveaway by itself ("3", "0.5", "1%")."""
    digits = re.sub(r"\D", "", token).lstrip("0")
    return len(digits) >= 2


def numeric_key_texts(q: Numeric) -> set[str]:
    """The key as the lab writes it: every number in the question's explanation that equals the key
    at the precision written, plus the usual formats."""
    a = q.answer
    out = {f"{a:.2f}", f"{a:.3f}", f"{a:.3g}", f"{a:.0%}", f"{a:.1%}"}
    if float(a).is_integer():
        out.add(str(int(a)))
    for tok in _NUMBER.findall(q.explanation):
        parsed = _parse_number(tok)
        if parsed is None:
            continue
        v, decimals = parsed
        if math.isclose(v, a, abs_tol=0.5 * 10.0**-decimals + 1e-12):
            out.add(tok.replace("−", "-").lstrip("+"))
    return {t for t in out if _significant(t)}


def _has_word(text: str, word: str) -> bool:
    w = re.escape(word.strip())
    return bool(w) and re.search(rf"(?<![\w]){w}(?![\w])", text, re.IGNORECASE) is not None


def _named_keys(q: Question) -> tuple[list[str], list[str]]:
    """``(key names, all alternatives)`` of a choice or component question."""
    if isinstance(q, PickComponent):
        return list(q.correct), list(q.components)
    if isinstance(q, MultipleChoice):
        return [q.options[q.correct]], list(q.options)
    return [], []


def leaks(q: Question, blocks: Iterable[Block]) -> list[str]:
    """Why ``q``'s key can be read off ``blocks`` (empty: it cannot)."""
    return _leaks_in(q, [(b.title, block_text(b)) for b in blocks])


def _leaks_in(q: Question, shown: Iterable[tuple[str, str]]) -> list[str]:
    """:func:`leaks` on already rendered ``(title, text)`` pairs."""
    found: list[str] = []
    keys, options = _named_keys(q)
    numbers = numeric_key_texts(q) if isinstance(q, Numeric) else set()
    for title, text in shown:
        written = {s.replace("−", "-").lstrip("+") for s in _NUMBER.findall(text)}
        for t in sorted(numbers & written):
            found.append(f"{q.id}: key {t} appears in block {title!r}")
        for key in keys:
            if len(key.strip()) < 2 or not _has_word(text, key):
                continue
            others = [o for o in options if o != key]
            if others and all(_has_word(text, o) for o in others):
                continue  # the block lists every alternative: data, not a verdict
            found.append(f"{q.id}: key {key!r} appears in block {title!r}")
    return found


def giveaways(result: LabResult) -> list[str]:
    """Every question whose key can be read before it is answered (empty for a good lab): in the blocks
    shown by then, in the prompts and explanations (shown once answered) of the questions before it, or
    in its own prompt."""
    rendered = {id(b): (b.title, block_text(b)) for b in result.blocks}  # each block rendered once
    qs = result.questions
    out: list[str] = []
    for i, q in enumerate(qs):
        shown = [rendered[id(b)] for b in result.blocks_before(i)]
        shown += [(f"prompt of {p.id}", p.prompt) for p in qs[: i + 1]]
        shown += [(f"explanation of {p.id}", p.explanation) for p in qs[:i]]
        out.extend(_leaks_in(q, shown))
    return out


def unknown_reveals(result: LabResult) -> list[str]:
    """Blocks revealed by a question the result does not have."""
    ids = {q.id for q in result.questions}
    return [
        f"block {b.title!r} is revealed by unknown question {b.after!r}"
        for b in result.blocks
        if b.after and b.after not in ids
    ]


def graded(q: Question) -> bool:
    """Auto-graded from the run (free text is self-rated against key points)."""
    return not isinstance(q, FreeText)


def key_of(q: Question) -> object:
    if isinstance(q, Numeric):
        return q.answer
    if isinstance(q, PickComponent):
        return tuple(sorted(q.correct))
    if isinstance(q, MultipleChoice):
        return q.correct  # which option: its wording may carry run numbers ("B* (position 7)") yet mean the same
    return q.answer_text()


def keys_differ(questions: Sequence[Question]) -> bool:
    """The same question from several runs: do their keys differ? Numeric keys differ when some two are
    further apart than the tolerance of either (an answer right at one run is wrong at the other)."""
    if not questions:
        return False
    if all(isinstance(q, Numeric) for q in questions):
        nums = [q for q in questions if isinstance(q, Numeric)]
        return any(
            abs(a.answer - b.answer) > max(a.tolerance(), b.tolerance())
            for i, a in enumerate(nums)
            for b in nums[i + 1 :]
        )
    return len({repr(key_of(q)) for q in questions}) > 1
