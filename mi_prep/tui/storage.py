"""Storage failures in the TUI: a write that fails (disk full, a damaged or read-only database) is one
error notification, and the screen keeps what the user sees, so nothing is shown as saved that was not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def storage_problem(error: BaseException, db_path: Any) -> str | None:
    """The one-line message for a storage failure, or None when ``error`` is something else."""
    from mi_prep.core.store.errors import storage_message

    return storage_message(error, db_path)


def guarded(app: Any, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> tuple[bool, Any]:
    """Run a store write: ``(True, result)``, or on a storage failure one error notification on
    ``app`` and ``(False, None)``; the caller then leaves the screen as it was (the same card, the
    same answer), and the same key tries again."""
    try:
        return True, fn(*args, **kwargs)
    except Exception as exc:
        store = getattr(app, "store", None)
        message = storage_problem(exc, getattr(store, "path", None))
        if message is None:
            raise
        app.notify(
            f"{message}\nThat was not saved; everything saved before it is safe.",
            title="Storage error",
            severity="error",
            timeout=30,
            markup=False,
        )
        return False, None
