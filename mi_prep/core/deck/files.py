"""Finding and reading deck files: :func:`scan_deck_paths` (folders one level deep, every unusable
path reported) and :func:`read_deck_bytes` (regular files only, size-capped while reading)."""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterable
from pathlib import Path

from mi_prep.core.deck.issues import DeckFileError, DeckIssue

MAX_DECK_BYTES = 4 * 1024 * 1024
"""Deck files larger than this are refused (a deck of 10,000 cards is ~3 MB)."""

DECK_SUFFIXES = (".yaml", ".yml")

_KIND_NAMES = {
    stat.S_IFIFO: "a FIFO (named pipe)",
    stat.S_IFCHR: "a character device",
    stat.S_IFBLK: "a block device",
    stat.S_IFSOCK: "a socket",
    stat.S_IFDIR: "a directory",
}


def read_deck_bytes(path: Path, limit: int = MAX_DECK_BYTES) -> bytes:
    """The bytes of a regular file, at most ``limit`` of them, or a :class:`DeckFileError` saying why not.

    Opened without blocking and checked with ``fstat`` before reading, so a FIFO or a device named
    ``*.yaml`` (or a symlink to ``/dev/zero``) is refused instead of hanging or reading forever; the
    size cap is enforced while reading, not trusted from ``stat``.
    """
    flags = os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_CLOEXEC", 0)
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise DeckFileError(None, _os_problem(exc)) from None
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            kind = _KIND_NAMES.get(stat.S_IFMT(st.st_mode), "not a regular file")
            raise DeckFileError(None, f"is {kind}, not a regular file; deck files must be ordinary .yaml files")
        chunks: list[bytes] = []
        total = 0
        while True:
            chunk = os.read(fd, min(1 << 20, limit + 1 - total))
            if not chunk:
                break
            chunks.append(chunk)
            total += len(chunk)
            if total > limit:
                raise DeckFileError(None, f"file is over the {limit:,}-byte limit; split it into several decks")
        return b"".join(chunks)
    except OSError as exc:
        raise DeckFileError(None, _os_problem(exc)) from None
    finally:
        os.close(fd)


def _os_problem(exc: OSError) -> str:
    """One line for a file the loader could not read, saying what to do."""
    if exc.errno == errno.EACCES or exc.errno == errno.EPERM:
        return "cannot read: permission denied; make it readable (chmod u+r) or move it out of the deck folder"
    if exc.errno == errno.ELOOP:
        return "is a symlink loop; point the link at a real deck file or delete it"
    if exc.errno == errno.ENOENT:
        return "does not exist (a broken symlink?); fix the link or delete it"
    if exc.errno == errno.EISDIR:
        return "is a directory, not a deck file; rename it so it does not end in .yaml"
    return f"cannot read: {exc.strerror or exc}"


def scan_deck_paths(paths: Iterable[Path | str]) -> tuple[list[Path], list[DeckIssue]]:
    """The deck files under ``paths`` (directories are read one level deep, ``*.yaml``/``*.yml``),
    plus an issue for every path that cannot be used: missing, unreadable, a broken symlink or a loop.
    Nothing is skipped silently."""
    files: list[Path] = []
    issues: list[DeckIssue] = []
    seen: set[Path] = set()

    def add(f: Path) -> None:
        try:
            key = f.resolve()
        except (OSError, RuntimeError):
            key = f
        if key not in seen:  # the same file given twice (or a file and its folder) is read once
            seen.add(key)
            files.append(f)

    for raw in paths:
        if str(raw).strip() == "":
            issues.append(
                DeckIssue(
                    "''",
                    None,
                    "an empty deck path was given (--decks '' or an empty "
                    "entry in $MI_PREP_DECKS); give a file or folder",
                )
            )
            continue
        p = Path(raw)
        try:
            is_dir = p.is_dir()
        except OSError as exc:
            issues.append(DeckIssue(str(p), None, _os_problem(exc)))
            continue
        if not is_dir:
            if p.is_symlink() and not p.exists():
                issues.append(DeckIssue(str(p), None, _broken_link(p)))
            elif not p.exists():
                issues.append(
                    DeckIssue(str(p), None, "no such file or directory; check the --decks path or $MI_PREP_DECKS")
                )
            else:
                add(p)
            continue
        try:
            names = sorted(e.name for e in os.scandir(p) if e.name.lower().endswith(DECK_SUFFIXES))
        except OSError as exc:
            issues.append(
                DeckIssue(
                    str(p),
                    None,
                    f"cannot list this deck directory ({exc.strerror or exc}); "
                    "make it readable (chmod u+rx) or pass another --decks path",
                )
            )
            continue
        names = [n for n in names if not n.startswith(".")]  # editor files (.#deck.yaml)
        if not names:
            issues.append(
                DeckIssue(
                    str(p),
                    None,
                    "no deck files (*.yaml, *.yml) in this folder; check the --decks path",
                    severity="warning",
                )
            )
        for name in names:
            f = p / name
            if f.is_symlink():
                try:
                    os.stat(f)
                except OSError as exc:
                    issues.append(
                        DeckIssue(str(f), None, _broken_link(f) if exc.errno == errno.ENOENT else _os_problem(exc))
                    )
                    continue
            add(f)
    return files, issues


def _broken_link(p: Path) -> str:
    try:
        target = os.readlink(p)
    except OSError:
        target = "?"
    return f"broken symlink (points to {target}, which does not exist); fix the link or delete it"


def deck_files(paths: Iterable[Path | str]) -> list[Path]:
    return scan_deck_paths(paths)[0]
