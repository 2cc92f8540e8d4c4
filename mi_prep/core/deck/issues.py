"""What is wrong with a deck file: :class:`DeckIssue` (reported, never raised) and the error the
file reader and YAML loader raise internally."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

from mi_prep.core.safe_text import safe_text


@dataclass(frozen=True)
class DeckIssue:
    path: str
    line: int | None
    message: str
    card_id: str | None = None
    severity: Literal["error", "warning"] = "error"

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
