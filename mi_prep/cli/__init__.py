"""The command line: argparse and the plain-terminal frontends (review, drill, lab, export, ...)."""

from mi_prep.cli.main import main

__all__ = ["main"]
