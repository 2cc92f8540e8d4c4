"""Writing the ``.apkg``: the output path is checked before any work, the collection is built in
memory in linear time (:func:`write_collection`), and the package is written to a temporary file
beside the target (never in TMPDIR) and moved into place with :func:`os.replace`. Every failure is
one :class:`ExportError` line and leaves nothing behind."""

from __future__ import annotations

import errno
import itertools
import json
import os
import sqlite3
import tempfile
import zipfile
from collections.abc import Sequence
from pathlib import Path

from mi_prep.core.anki.collection import AnkiDeck, write_collection
from mi_prep.core.anki.errors import ExportError

ZIP_LEVEL = 6
"""Deflate level of the package: zlib's default (level 1 would save a third of the zip time, some
40 ms for 10,000 cards, for a package 16 % larger)."""


def check_output(out: Path) -> Path:
    """Refuse an unusable output path before doing any work; returns the directory to write in."""
    try:
        if out.is_dir():
            raise ExportError(f"{out} is a directory; give a file name, e.g. {out / 'mi-prep.apkg'}")
        if out.suffix.lower() != ".apkg":
            # a typo such as `-o decks/sae.yaml` or `-o mi-prep.db` must never replace that file
            raise ExportError(
                f"{out}: the output file must end in .apkg (Anki imports .apkg files), e.g. "
                f"{out.with_suffix('.apkg')}; nothing was written"
            )
        if out.exists() or out.is_symlink():
            if not out.is_file():
                raise ExportError(
                    f"{out} exists and is not a regular file (a device, FIFO or broken link); "
                    "choose another output file; nothing was written"
                )
        parent = out.parent if str(out.parent) else Path(".")
        if not parent.exists():
            raise ExportError(
                f"cannot write {out}: directory {parent} does not exist; create it first or choose another path"
            )
        if not parent.is_dir():
            raise ExportError(f"cannot write {out}: {parent} is not a directory; choose another output file")
        if _read_only_fs(parent):
            raise ExportError(
                f"cannot write {out}: {parent} is on a read-only file system; "
                "choose an output file on a writable disk (e.g. in your home directory)"
            )
        if not os.access(parent, os.W_OK | os.X_OK):
            raise ExportError(
                f"cannot write {out}: no permission to write in {parent}; "
                "choose another output file or fix the directory's permissions"
            )
    except OSError as exc:
        raise _write_error(out, exc) from None
    return parent


def _read_only_fs(path: Path) -> bool:
    try:
        return bool(os.statvfs(path).f_flag & os.ST_RDONLY)
    except (OSError, AttributeError):  # AttributeError: no statvfs (Windows)
        return False


def _write_error(out: Path, exc: BaseException) -> ExportError:
    """One line for a failed write: the file, what is wrong, what to do."""
    where = out.parent if str(out.parent) else Path(".")
    code = getattr(exc, "errno", None)
    reason = getattr(exc, "strerror", None) or str(exc)
    if isinstance(exc, sqlite3.Error):
        code = errno.ENOSPC if "full" in str(exc).lower() else errno.ENOMEM if "memory" in str(exc).lower() else None
        reason = str(exc)
    quota = getattr(errno, "EDQUOT", None)
    if code is not None and code in (errno.ENOSPC, errno.EFBIG, quota):
        what = "disk quota exceeded" if code == quota else "the disk is full"
        fix = f"free some space on the disk holding {where}, or choose an output file on another disk"
    elif code == errno.EROFS:
        what, fix = f"{where} is on a read-only file system", "choose an output file on a writable disk"
    elif code in (errno.EACCES, errno.EPERM):
        what, fix = (
            f"no permission to write in {where}",
            "choose another output file or fix the directory's permissions",
        )
    elif code == errno.ENOMEM or isinstance(exc, MemoryError):
        what, fix = "out of memory", "export fewer decks at a time (choose decks) or close other programs"
    else:
        what, fix = "the write failed", f"check the disk and the directory {where}, then export again"
    return ExportError(f"cannot write {out}: {reason} ({what}); {fix}; nothing was written")


def _umask() -> int:
    try:  # reading it this way does not change it (os.umask would, for every thread)
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    return 0o022


def _collection_bytes(decks: Sequence[AnkiDeck], timestamp: float, parent: Path) -> bytes:
    """The ``collection.anki2`` database, built in memory: the export never touches TMPDIR (only
    an SQLite without ``serialize`` gets a temporary copy, in ``parent``, the output directory)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("PRAGMA temp_store = MEMORY")  # no temporary files for sorting / indexes either
        write_collection(conn.cursor(), decks, timestamp, itertools.count(int(timestamp * 1000)))
        conn.commit()
        if hasattr(conn, "serialize"):
            return conn.serialize()
        return _backup_bytes(conn, parent)  # pragma: no cover - an SQLite built without serialize
    finally:
        conn.close()


def _backup_bytes(conn: sqlite3.Connection, parent: Path) -> bytes:  # pragma: no cover
    fd, name = tempfile.mkstemp(prefix=".mi-prep-collection.", suffix=".part", dir=parent)
    os.close(fd)
    try:
        copy = sqlite3.connect(name)
        try:
            conn.backup(copy)
        finally:
            copy.close()
        return Path(name).read_bytes()
    finally:
        os.unlink(name)


def write_package(
    decks: Sequence[AnkiDeck], media: dict[str, Path | bytes], out: Path, parent: Path, timestamp: float
) -> None:
    """Write the package to a temporary file beside ``out`` and move it into place. Only the
    output directory is written to (never TMPDIR); any failure is an :class:`ExportError` and
    leaves nothing behind."""
    try:
        db = _collection_bytes(decks, timestamp, parent)
    except (sqlite3.Error, MemoryError, OSError) as exc:
        raise _write_error(out, exc) from None
    try:
        fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=parent)
    except OSError as exc:
        raise _write_error(out, exc) from None
    os.close(fd)
    tmp = Path(tmp_name)
    try:
        names = sorted(media)
        with zipfile.ZipFile(tmp, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=ZIP_LEVEL) as z:
            z.writestr("collection.anki2", db)
            z.writestr("media", json.dumps({str(i): name for i, name in enumerate(names)}))
            for i, name in enumerate(names):
                source = media[name]
                if isinstance(source, bytes):
                    z.writestr(str(i), source)
                    continue
                try:
                    z.write(source, str(i))
                except FileNotFoundError:
                    raise ExportError(
                        f"cannot pack image {source}: it was removed during the export; "
                        "restore it (or fix the card) and export again; nothing was written"
                    ) from None
        os.chmod(tmp, 0o666 & ~_umask())
        os.replace(tmp, out)
    except OSError as exc:
        tmp.unlink(missing_ok=True)
        raise _write_error(out, exc) from None
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
