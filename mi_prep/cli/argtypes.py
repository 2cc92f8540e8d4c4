"""Argument types for the command line: numbers are checked against sensible bounds, so a typo such
as ``--minutes inf`` or a 30-digit ``--seed`` is a usage error naming the option, not a traceback."""

from __future__ import annotations

import argparse
import math
from collections.abc import Callable

SEED_MAX = 2**63 - 1
"""Seeds are stored in SQLite INTEGER columns (signed 64-bit)."""


def bounded_int(lo: int, hi: int) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
        if not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{value} is out of range ({lo} to {hi})")
        return value

    parse.__name__ = "whole number"  # what argparse prints in "invalid whole number value"
    return parse


def bounded_float(lo: float, hi: float) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text.strip())
        except ValueError:
            raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
        if not math.isfinite(value) or not lo <= value <= hi:
            raise argparse.ArgumentTypeError(f"{text} is out of range ({lo:g} to {hi:g})")
        return value

    parse.__name__ = "number"
    return parse


seed = bounded_int(0, SEED_MAX)
