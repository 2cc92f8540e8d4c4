"""The one exception the Anki export raises."""

from __future__ import annotations


class ExportError(Exception):
    """The export cannot be written; the message says what to fix. Nothing was written."""
