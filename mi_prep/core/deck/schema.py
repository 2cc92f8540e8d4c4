"""The deck's JSON Schema (``mi-prep schema``), including the short forms the loader accepts."""

from __future__ import annotations

import json
from typing import Any


def deck_json_schema() -> dict[str, Any]:
    from mi_prep.core.deck.validation import Deck  # pydantic: only for `mi-prep schema`

    schema = Deck.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["title"] = "mi-prep deck"
    # the loader also accepts the short forms: a key point as a plain string, tags as one string
    props = schema["$defs"]["Card"]["properties"]
    props["key_points"]["items"] = {"anyOf": [{"type": "string", "minLength": 1}, {"$ref": "#/$defs/KeyPoint"}]}
    for owner in (props, schema["properties"]):
        owner["tags"] = {"anyOf": [owner["tags"], {"type": "string"}], "default": []}
    return schema


def deck_json_schema_text() -> str:
    return json.dumps(deck_json_schema(), indent=2)
