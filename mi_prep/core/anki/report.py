"""What an export did: counts, size, warnings, and the one-line summary the frontends show."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


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
    """One line each: file:line: card 'id': what is wrong; what to do. Skipped cards first."""
    seconds: float = 0.0
    skipped: int = 0
    """Cards not exported because their front would be empty in Anki (each one is in warnings)."""

    def summary(self) -> str:
        """The report without the warnings (a frontend lists those one per line)."""
        line = (
            f"Exported {_plural(self.decks, 'deck')}, {_plural(self.notes, 'note')} "
            f"({_plural(self.cards, 'card')}), {_plural(self.media, 'media file')} "
            f"to {self.path} ({_human_size(self.size)})"
        )
        if self.skipped:
            line += f"; {_plural(self.skipped, 'card')} not exported (empty front)"
        return line

    def __str__(self) -> str:
        line = self.summary()
        if self.warnings:
            shown = "; ".join(self.warnings[:3])
            more = f"; and {len(self.warnings) - 3} more" if len(self.warnings) > 3 else ""
            line += f"; {_plural(len(self.warnings), 'warning')}: {shown}{more}"
        return line
