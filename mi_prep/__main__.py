"""The `mi-prep` entry point: the command line, which opens the terminal UI when no command is given.

It sits above both frontends so that ``mi_prep.cli`` and ``mi_prep.tui`` never import each other.
"""

from __future__ import annotations

import sys

from mi_prep.context import AppContext


def run_tui(app: AppContext) -> int:
    from mi_prep.tui.app import run_app

    return run_app(app)


def main(argv: list[str] | None = None) -> int:
    from mi_prep.cli.main import main as cli_main

    return cli_main(argv, run_tui=run_tui)


if __name__ == "__main__":
    sys.exit(main())
