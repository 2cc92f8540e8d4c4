"""Storage failures in the Store's public methods become :class:`StorageError` (bugs still raise as they are)."""

from __future__ import annotations

import functools
import sqlite3
import types
from collections.abc import Callable
from typing import Any, Literal

from mi_prep.core.store.connection import transaction
from mi_prep.core.store.errors import DamagedRow, storage_error


def _guarded(fn: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(fn)
    def wrapper(self: Any, *args: Any, **kwargs: Any) -> Any:
        try:
            return fn(self, *args, **kwargs)
        except (sqlite3.Error, DamagedRow) as exc:
            err = storage_error(exc, self.path)
            if err is None:
                raise
            raise err from exc

    return wrapper


def guard_public_methods(cls: type) -> None:
    """Wrap every public plain method (a static method such as ``replay`` keeps raising DamagedRow)."""
    for name, fn in list(vars(cls).items()):
        if isinstance(fn, types.FunctionType) and not name.startswith("_") and name not in ("transaction", "close"):
            setattr(cls, name, _guarded(fn))


class GuardedTransaction:
    """:func:`connection.transaction` for a Store: storage failures in the block or at COMMIT become StorageError."""

    def __init__(self, store: Any) -> None:
        self.store = store
        self._cm: Any = None

    def __enter__(self) -> sqlite3.Connection:
        self._cm = transaction(self.store.db.conn)
        try:
            return self._cm.__enter__()
        except sqlite3.Error as exc:
            raise (storage_error(exc, self.store.path) or exc) from exc

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> Literal[False]:
        try:
            self._cm.__exit__(exc_type, exc, tb)  # commits, or rolls back (and re-raises nothing)
        except (sqlite3.Error, DamagedRow) as err:  # COMMIT or ROLLBACK itself failed
            converted = storage_error(err, self.store.path)
            if converted is None:
                raise
            raise converted from err
        if isinstance(exc, (sqlite3.Error, DamagedRow)):  # the block failed on storage: rolled back above
            converted = storage_error(exc, self.store.path)
            if converted is not None:
                raise converted from exc
        return False
