"""Anki export: YAML decks -> one ``.apkg`` that Anki imports (genanki), safely rendered.

* One Anki deck per YAML deck, named ``MI Prep::<deck name>``; its id is derived from the YAML
  deck id (:func:`stable_id`), never random.
* Five note types with fixed ids and fixed field names (:data:`NOTE_TYPES`): Basic,
  Basic (and reversed card), Cloze, Choice, Explain. Every one has ``Source`` and ``CardId``.
* Note GUIDs come from the card id (``genanki.guid_for("mi-prep", card.id)``), so importing a
  re-export after edits updates the notes (Anki's default is "update if newer": the notes carry
  the export time ``now``) instead of adding duplicates.
* Markdown is rendered with markdown-it-py (CommonMark + tables). ``$...$`` / ``$$...$$`` become
  MathJax ``\\(...\\)`` / ``\\[...\\]`` and are protected from Markdown (``x_i`` stays ``x_i``);
  ``$`` in code spans and blocks is left alone. Cloze deletions ``{{c1::answer::hint}}`` are cut
  out before rendering and put back afterwards with their answer and hint rendered on their own,
  so Markdown never splits one. The Markdown most cards use (text, math, code, emphasis, fences,
  tables, images) takes a fast path (:mod:`.markdown_fast`) that writes exactly markdown-it's
  HTML (tested against it), or declines. Then the HTML goes through nh3 with an allow-list: no
  ``<script>``, no ``on*=`` handlers, no ``javascript:`` URLs reach the package, and a ``style``
  attribute keeps only ``text-align: <keyword>`` (:data:`ALLOWED_STYLES`; ``expression()``,
  ``url()``, ``behavior``, ``-moz-binding`` are removed, with a warning). HTML from the fast path
  that has only its own allow-listed tags is not parsed again: nh3's result for it is known
  (:func:`~.sanitize.sanitized_fast_html`, tested against nh3); anything else is cleaned. A text
  the fast path rendered is rendered once per export (it calls no hook, so its HTML depends on
  the text alone).
* Images: ``![alt](fig.png)`` is resolved against the deck file's directory, packed as media
  under a unique name (``mi-prep-<deck id>-<sha1[:10]>-fig.png``) and the ``src`` rewritten. A
  missing image, or a path leaving the deck's directory, is an :class:`ExportError`. Any other
  URL (http/https: Anki reviews offline; file://, data:, ...) is left out with a warning, and so
  is an SVG that could run script (:func:`svg_problem`): it is never packed. A link whose scheme
  is not http/https/mailto loses its ``href`` with a warning.
* A card whose front would be empty in Anki (e.g. it only held a remote image) is not exported:
  Anki would import it as a note with no cards. It is named first among the report's warnings.
  Every warning and error names file:line, card id, what is wrong and what to do.
* The collection is built in memory in time linear in decks, notes and cards
  (:func:`write_collection`: genanki's rows, without its quadratic ``Package.write_to_db`` or a
  ``genanki.Note`` per card, inserted with ``executemany``); the ``.apkg`` is
  written to a temporary file beside the target (never in TMPDIR) and moved into place with
  :func:`os.replace`: a failed export (full disk, read-only directory) is one :class:`ExportError`
  line and leaves nothing behind.

Modules: :mod:`.note_types` (note types, templates, CSS), :mod:`.ids` (stable ids and GUIDs),
:mod:`.markdown` (Markdown/math/cloze rendering), :mod:`.markdown_fast` (its fast path),
:mod:`.markdown_scan` (math and cloze scanners both share), :mod:`.sanitize` (HTML/CSS/URL
allow-lists, SVG check), :mod:`.notes` (cards -> notes, media, warnings), :mod:`.collection` (the
``collection.anki2`` rows), :mod:`.package` (output checks, atomic ``.apkg`` writing),
:mod:`.report` and :mod:`.exporter` (:func:`export_apkg`).

Nothing here imports Textual or torch.
"""

from __future__ import annotations

from mi_prep.core.anki.errors import ExportError
from mi_prep.core.anki.exporter import DECK_ROOT, export_apkg
from mi_prep.core.anki.ids import deck_anki_id, note_guid, stable_id
from mi_prep.core.anki.markdown import MarkdownRenderer, render_markdown
from mi_prep.core.anki.note_types import (
    MODEL_BASIC,
    MODEL_CHOICE,
    MODEL_CLOZE,
    MODEL_EXPLAIN,
    MODEL_REVERSE,
    NOTE_TYPES,
)
from mi_prep.core.anki.notes import anki_tags
from mi_prep.core.anki.package import write_collection
from mi_prep.core.anki.report import ExportReport
from mi_prep.core.anki.sanitize import ALLOWED_STYLES, clean_style, svg_problem

__all__ = [
    "ALLOWED_STYLES",
    "DECK_ROOT",
    "ExportError",
    "ExportReport",
    "MODEL_BASIC",
    "MODEL_CHOICE",
    "MODEL_CLOZE",
    "MODEL_EXPLAIN",
    "MODEL_REVERSE",
    "MarkdownRenderer",
    "NOTE_TYPES",
    "anki_tags",
    "clean_style",
    "deck_anki_id",
    "export_apkg",
    "note_guid",
    "render_markdown",
    "stable_id",
    "svg_problem",
    "write_collection",
]
