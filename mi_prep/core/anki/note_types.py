"""Anki note types: fixed ids, fixed field names, card templates and the shared CSS."""

from __future__ import annotations

import genanki

from mi_prep.core.anki.ids import stable_id

# Ids and field names are part of the format: Anki matches note types by id, and a changed field
# list makes Anki create a second note type on the next import. Never change them; add new types.

CSS = """\
.card { font-family: -apple-system, "Segoe UI", Roboto, Helvetica, Arial, sans-serif; font-size: 20px;
        line-height: 1.45; text-align: left; max-width: 46em; margin: 0 auto; padding: 0 .5em; }
pre { background: rgba(127, 127, 127, .12); padding: .6em .8em; border-radius: 4px; overflow-x: auto;
      font-size: 80%; line-height: 1.35; }
code { font-family: ui-monospace, "SF Mono", Menlo, Consolas, "Liberation Mono", monospace; }
:not(pre) > code { background: rgba(127, 127, 127, .12); padding: 0 .2em; border-radius: 3px; }
table { border-collapse: collapse; margin: .5em 0; }
th, td { border: 1px solid rgba(127, 127, 127, .45); padding: .2em .55em; }
img { max-width: 100%; height: auto; }
blockquote { margin: .5em 0; padding-left: .8em; border-left: 3px solid rgba(127, 127, 127, .45); }
.cloze { font-weight: bold; color: #1f6fd1; }
.nightMode .cloze { color: #6fb0ff; }
.options li, .why li, .key-points li { margin: .3em 0; }
.why .correct, .answer { color: #23883f; }
.nightMode .why .correct, .nightMode .answer { color: #6fd68a; }
.why .wrong { opacity: .85; }
.extra { margin-top: .8em; }
.meta { margin-top: 1.4em; font-size: 65%; opacity: .6; }
"""

_META = '<div class="meta">{{#Source}}{{Source}} &middot; {{/Source}}{{CardId}}</div>'


def _front_back(name: str, question: str, answer: str) -> dict[str, str]:
    """A template showing field ``question``, then ``answer`` below the front side."""
    return {
        "name": name,
        "qfmt": "{{" + question + "}}",
        "afmt": '{{FrontSide}}<hr id="answer">{{' + answer + "}}" + _META,
    }


def _front_back_fields() -> list[dict[str, str]]:
    return [{"name": "Front"}, {"name": "Back"}, {"name": "Source"}, {"name": "CardId"}]


MODEL_BASIC = genanki.Model(
    stable_id("mi-prep model basic"),
    "MI Prep: Basic",
    fields=_front_back_fields(),
    templates=[_front_back("Card 1", "Front", "Back")],
    css=CSS,
)

MODEL_REVERSE = genanki.Model(
    stable_id("mi-prep model reverse"),
    "MI Prep: Basic (and reversed card)",
    fields=_front_back_fields(),
    templates=[_front_back("Card 1", "Front", "Back"), _front_back("Card 2", "Back", "Front")],
    css=CSS,
)

MODEL_CLOZE = genanki.Model(
    stable_id("mi-prep model cloze"),
    "MI Prep: Cloze",
    fields=[{"name": "Text"}, {"name": "Back Extra"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[
        {
            "name": "Cloze",
            "qfmt": "{{cloze:Text}}",
            "afmt": '{{cloze:Text}}{{#Back Extra}}<div class="extra">{{Back Extra}}</div>{{/Back Extra}}' + _META,
        }
    ],
    css=CSS,
    model_type=genanki.Model.CLOZE,
)

MODEL_CHOICE = genanki.Model(
    stable_id("mi-prep model choice"),
    "MI Prep: Choice",
    fields=[
        {"name": "Question"},
        {"name": "Options"},
        {"name": "Answer"},
        {"name": "Explanations"},
        {"name": "Extra"},
        {"name": "Source"},
        {"name": "CardId"},
    ],
    templates=[
        {
            "name": "Card 1",
            "qfmt": '{{Question}}<ol class="options">{{Options}}</ol>',
            "afmt": '{{Question}}<hr id="answer"><div class="answer"><b>Answer:</b> {{Answer}}</div>'
            '{{#Explanations}}<ul class="why">{{Explanations}}</ul>{{/Explanations}}'
            '{{#Extra}}<div class="extra">{{Extra}}</div>{{/Extra}}' + _META,
        }
    ],
    css=CSS,
)

MODEL_EXPLAIN = genanki.Model(
    stable_id("mi-prep model explain"),
    "MI Prep: Explain",
    fields=[{"name": "Question"}, {"name": "Answer"}, {"name": "Key Points"}, {"name": "Source"}, {"name": "CardId"}],
    templates=[
        {
            "name": "Card 1",
            "qfmt": '{{Question}}<div class="extra"><i>Explain out loud, then reveal.</i></div>',
            "afmt": '{{Question}}<hr id="answer">{{Answer}}'
            '{{#Key Points}}<div class="extra"><b>Key points</b><ul class="key-points">{{Key Points}}</ul></div>'
            "{{/Key Points}}" + _META,
        }
    ],
    css=CSS,
)

NOTE_TYPES: dict[str, genanki.Model] = {
    "basic": MODEL_BASIC,
    "reverse": MODEL_REVERSE,
    "cloze": MODEL_CLOZE,
    "choice": MODEL_CHOICE,
    "explain": MODEL_EXPLAIN,
}
"""Card type -> Anki note type (fixed id, fixed fields)."""
