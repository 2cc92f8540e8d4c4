"""Open a deck file in the user's ``$VISUAL`` / ``$EDITOR`` at a card's line, from any screen.

The app is suspended while the editor runs; afterwards the decks are polled at once, so the edit
shows up without waiting for the next poll. Without an editor (or where the terminal cannot be
handed over, e.g. in tests) the user is told where the card lives instead.
"""

from __future__ import annotations

import shlex
import subprocess
from pathlib import Path

from textual.screen import Screen

from mi_prep.core.locations import editor_command


def open_in_editor(screen: Screen, path: Path | str, line: int) -> bool:
    """Edit ``path`` at ``line``; returns True when an editor ran."""
    editor = editor_command()
    if not editor:
        screen.notify(
            f"Set $EDITOR to edit cards from here. This card is at {path}:{line}",
            title="No $EDITOR",
            severity="warning",
            timeout=8,
        )
        return False
    cmd = [*shlex.split(editor), f"+{line}", str(path)]
    try:
        with screen.app.suspend():
            subprocess.run(cmd, check=False)
    except OSError as exc:
        screen.notify(f"Could not run {editor!r}: {exc}", severity="error")
        return False
    except Exception as exc:  # noqa: BLE001 - e.g. SuspendNotSupported (headless, web)
        screen.notify(
            f"Cannot open an editor here ({type(exc).__name__}); the card is at {path}:{line}",
            severity="warning",
            timeout=8,
        )
        return False
    check = getattr(screen.app, "check_decks", None)
    if check is not None:
        check()
    return True
