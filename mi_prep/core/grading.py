"""The one key-point grader, used by Review, Drill and Labs alike, and the rating it suggests.

An explain card (or a lab's free-text question) has key points; each point has ``terms``, words
or phrases that show it was covered. The grader pre-ticks a point when the typed answer uses one
of its terms *in a statement*:

1. **Whole words, simple inflections.** Text is split into words (letters and digits; ``-`` and
   ``/`` split words, so ``K-composition`` is the two words ``k composition``). A term word
   matches an answer word when they are equal after dropping a plural or verb ending
   (``head``/``heads``, ``bias``/``biases``, ``copy``/``copies``/``copied``,
   ``move``/``moving``); a term word of 5 or more letters also matches words that start with
   it (``causal``/``causally``, ``interpretab``/``interpretability``). A term of several words
   must appear as those words in a row. ``ov`` never matches inside ``move``.
2. **Not negated.** A term preceded in its clause (up to 4 words before it) by ``not``, ``no``,
   ``never``, ``without``, ``nor`` or a ``n't`` word does not count ("not a threshold").
   Clauses end at ``. , ; : ! ?``, a line break, ``but`` and ``although``. A term that is
   itself negative ("not causal", "without superposition") is matched as written.
3. **Not a keyword list.** When at least two thirds of the answer's words (``and``, ``or``,
   ``a``, ``the`` ... aside) are key-point terms and they touch two or more points, the answer is
   a list of keywords and no point is pre-ticked: ``threshold, biosafety, catastrophic`` earns
   nothing, ``a capability threshold triggers the required safeguards`` does.

Explicit ``terms`` are synonyms: one of them is enough. Without explicit terms, the words of the
point's text (4+ letters, common words dropped) are the terms and at least half must appear.

The ticks are a suggestion: every screen lets the user change them before the answer is scored.
The suggested rating follows the share of points ticked (:func:`suggest_rating`).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass

_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_CLAUSE_SPLIT = re.compile(r"[.,;:!?\n]+|\bbut\b|\balthough\b|\bthough\b|\bwhereas\b")
NEGATORS = frozenset({"not", "no", "never", "without", "nor", "neither", "none", "cannot", "nothing"})
NEGATION_WINDOW = 4
LIST_GLUE = frozenset({"and", "or", "also", "plus", "etc", "eg", "ie", "vs", "the", "a", "an"})
KEYWORD_LIST_SHARE = 2 / 3
STOPWORDS = frozenset(
    """about above after again against because been before being below between both
    each from further have having into itself more most other over same should some
    such than that their them then there these they this those through under until
    very what when where which while will with would your does doing only also just
    like make makes made used uses using can the and for are but not you all any
    how its was one two way per via""".split()
)


def words(text: str) -> list[str]:
    """Lower-case word tokens (``K-composition`` -> ``k``, ``composition``)."""
    return _WORD.findall(text.lower().replace("\u2019", "'"))


def forms(word: str) -> frozenset[str]:
    """The word and its stem with a plural or verb ending dropped (``copies`` -> ``copy``)."""
    out = {word}
    w = word
    if len(w) > 4 and w.endswith(("ies", "ied")):
        w = w[:-3] + "y"
    elif len(w) > 5 and w.endswith("ing"):
        w = w[:-3]
    elif len(w) > 3 and w.endswith("ed"):
        w = w[:-2]
    elif len(w) > 4 and w.endswith("es") and w[-3] in "sxz" or w.endswith(("ches", "shes")):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    if w != word and len(w) > 3 and w[-1] == w[-2] and w[-1] not in "aeiouls":
        w = w[:-1]  # running -> runn -> run
    out.add(w)
    if len(w) > 3 and w.endswith("e"):
        out.add(w[:-1])  # move / moving -> mov
    elif w != word:
        out.add(w + "e")  # moving -> mov -> move
    return frozenset(out)


PREFIX_MIN = 5


def _same(word: str, term: str) -> bool:
    """Does answer ``word`` match term word ``term`` (rule 1)?"""
    if word == term or (len(term) >= PREFIX_MIN and word.startswith(term)):
        return True
    return bool(forms(word) & forms(term))


def _negated(word: str) -> bool:
    return word in NEGATORS or word.endswith("n't")


@dataclass(frozen=True)
class Point:
    """A key point as the grader sees it: its text and its terms (empty: derived from the text)."""

    text: str
    terms: tuple[str, ...] = ()

    def term_words(self) -> list[list[str]]:
        """Each term as its list of words."""
        if self.terms:
            return [w for w in (words(t) for t in self.terms) if w]
        derived = [w for w in words(self.text) if len(w) >= 4 and w not in STOPWORDS]
        return [[w] for w in dict.fromkeys(derived)]

    @property
    def explicit(self) -> bool:
        return bool(self.terms)


def _clauses(answer: str) -> list[list[str]]:
    return [ws for part in _CLAUSE_SPLIT.split(answer.lower()) if (ws := words(part))]


def _find(clause: list[str], term: list[str]) -> list[int]:
    n = len(term)
    return [i for i in range(len(clause) - n + 1) if all(_same(clause[i + k], term[k]) for k in range(n))]


def coverage(points: Sequence[Point], answer: str) -> list[bool]:
    """Which key points the answer covers (the rules in the module docstring)."""
    clauses = _clauses(answer)
    terms = [p.term_words() for p in points]
    hits: list[set[int]] = [set() for _ in points]  # per point: indices of the terms it uses
    term_words = 0  # answer words that are part of some term (rule 3)
    for clause in clauses:
        in_term: set[int] = set()
        for k in range(len(points)):
            for j, term in enumerate(terms[k]):
                for i in _find(clause, term):
                    in_term.update(range(i, i + len(term)))
                    window = clause[max(0, i - NEGATION_WINDOW) : i]
                    if any(_negated(w) for w in term) or not any(_negated(w) for w in window):
                        hits[k].add(j)
        term_words += len(in_term)
    words_used = sum(1 for clause in clauses for w in clause if w not in LIST_GLUE)
    touched = sum(1 for h in hits if h)
    if touched >= 2 and words_used and term_words / words_used >= KEYWORD_LIST_SHARE:
        return [False] * len(points)
    return [
        bool(terms[k]) and len(hits[k]) >= (1 if p.explicit else max(1, math.ceil(len(terms[k]) / 2)))
        for k, p in enumerate(points)
    ]


def suggest_rating(share: float) -> int:
    """Suggested review rating (1 Again .. 4 Easy) from the share of key points covered."""
    if share >= 0.9:
        return 4
    if share >= 0.6:
        return 3
    if share >= 0.3:
        return 2
    return 1
