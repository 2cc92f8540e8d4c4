"""The `mi-prep` entry point: the command line, which opens the terminal UI when no command is given.

It sits above both frontends so that ``mi_prep.cli`` and ``mi_prep.tui`` never import each other.
``mi-prep --version`` answers before importing anything else.
"""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from mi_prep.context import AppContext


def run_tui(app: AppContext) -> int:
    from mi_prep.tui.app import run_app

    return run_app(app)


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args == ["--version"]:
        from mi_prep import __version__

        print(f"mi-prep {__version__}")
        return 0
    from mi_prep.cli.main import main as cli_main

    return cli_main(argv, run_tui=run_tui)


if __name__ == "__main__":
    sys.exit(main())
