"""What is wrong with a deck file: :class:`DeckIssue` (reported, never raised) and the error the
file reader and YAML loader raise internally."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Literal

from mi_prep.core.safe_text import safe_text

if TYPE_CHECKING:
    from mi_prep.core.deck.model import Deck

Severity = Literal["error", "warning"]


@dataclass(frozen=True)
class DeckIssue:
    path: str
    line: int | None
    message: str
    card_id: str | None = None
    severity: Severity = "error"

    def __str__(self) -> str:
        where = f"{self.path}:{self.line}" if self.line else self.path
        card = f" card '{self.card_id}':" if self.card_id else ""
        return safe_text(f"{where}: {self.severity}:{card} {self.message}")


class DeckFileError(Exception):
    """A deck file that cannot be read or parsed at all: ``line`` (if known) and the message for
    its :class:`DeckIssue`."""

    def __init__(self, line: int | None, message: str) -> None:
        super().__init__(message)
        self.line = line
        self.message = message


@dataclass(frozen=True)
class Problem:
    """A :class:`DeckIssue` before it is tied to a file: what parsing a file's bytes found (the
    parsed-deck cache keeps these; the loader adds the path)."""

    line: int | None
    message: str
    card_id: str | None = None
    severity: Severity = "error"

    def at(self, path: str) -> DeckIssue:
        return DeckIssue(path, self.line, self.message, self.card_id, self.severity)


@dataclass
class ParsedDeck:
    """What one deck file's bytes hold: the deck with its valid cards (None when the file as a whole is
    unusable), each card's line, and every problem found."""

    deck: Deck | None
    card_lines: dict[str, int] = field(default_factory=dict)
    problems: list[Problem] = field(default_factory=list)
