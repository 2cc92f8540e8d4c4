"""What the CLI writes to and reads from: terminal-safe output streams, tolerant stdin, prompted lines."""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any, TextIO

from mi_prep.core.scheduling import Rating

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext


class TerminalStream:
    """What the CLI writes to: every line made safe for the terminal it goes to.

    Control characters (from deck or lab text) are shown in caret notation instead of reaching the
    terminal (:func:`~mi_prep.core.safe_text.safe_text`), and characters the stream's encoding cannot
    hold (``PYTHONIOENCODING=ascii``, a latin-1 terminal) are degraded instead of raising
    UnicodeEncodeError in the middle of a review. ``write_colored`` keeps the program's own colour
    codes (a lab's ``--color`` heatmap) and neutralises everything else.
    """

    def __init__(self, stream: TextIO) -> None:
        self.stream = stream

    @property
    def encoding(self) -> str | None:
        return getattr(self.stream, "encoding", None)

    def write(self, text: str) -> int:
        from mi_prep.core.safe_text import encodable, safe_text

        return self.stream.write(encodable(safe_text(text), self.encoding))

    def write_colored(self, text: str) -> int:
        from mi_prep.core.safe_text import encodable, safe_text

        return self.stream.write(encodable(safe_text(text, keep_sgr=True), self.encoding))

    def flush(self) -> None:
        self.stream.flush()

    def __getattr__(self, name: str) -> Any:
        return getattr(self.stream, name)


def terminal_stream(stream: TextIO) -> TextIO:
    return stream if isinstance(stream, TerminalStream) else TerminalStream(stream)  # type: ignore[return-value]


def tolerant_stdin(stream: TextIO) -> TextIO:
    """Typed answers never crash on a terminal that is not UTF-8: undecodable bytes become U+FFFD."""
    reconfigure = getattr(stream, "reconfigure", None)
    if reconfigure is not None:
        try:
            reconfigure(errors="replace")
        except (ValueError, OSError):  # pragma: no cover - a closed or detached stream
            pass
    return stream


class EndOfInput(Exception):
    """stdin ended (EOF) while a prompt waited for a line."""


def read_line(app: AppContext, prompt: str) -> str:
    """Print ``prompt`` (no newline) and read one line from ``app.stdin``, without its newline.
    Raises :class:`EndOfInput` at EOF."""
    app.print(prompt, end="")
    line = app.stdin.readline()
    if not line:
        raise EndOfInput
    return line.rstrip("\n")


def scope_problem(app: AppContext, deck_ids: Iterable[str] | None, tags: Iterable[str] | None) -> str | None:
    """What is wrong with ``--deck``/``--tag`` (the known ids and tags listed), or None."""
    known = {d.id for d in app.decks.decks}
    unknown = [d for d in deck_ids or () if d not in known]
    if unknown:
        return f"unknown deck id(s): {', '.join(unknown)}; known: {', '.join(sorted(known))}"
    all_tags = {t for d, c in app.decks.cards() for t in app.decks.effective_tags(d, c)}
    missing = [t for t in tags or () if t not in all_tags]
    if missing:
        return f"no card has the tag(s) {', '.join(missing)}; tags in use: {', '.join(sorted(all_tags)[:30])}"
    return None


def session_blocked(app: AppContext, deck_ids: Iterable[str] | None, tags: Iterable[str] | None) -> bool:
    """Before a review or cram session: print the deck errors, and say why when ``--deck``/``--tag`` match
    nothing (then True: the command exits with status 2)."""
    for issue in app.decks.errors:
        app.print(f"! {issue}")
    problem = scope_problem(app, deck_ids, tags)
    if problem:
        app.print(problem)
    return problem is not None


def ask_rating(app: AppContext, labels: str, suggested: Rating) -> Rating:
    """Prompt ``labels [Enter = n]`` until 1-4 or Enter (the suggested rating) is typed."""
    while True:
        raw = read_line(app, f"{labels}  [Enter = {suggested.value}]: ").strip()
        if not raw:
            return suggested
        if raw in ("1", "2", "3", "4"):
            return Rating(int(raw))
        app.print("type 1, 2, 3 or 4")
