"""Bad command-line values are usage errors naming the option (exit 2), never tracebacks."""

from __future__ import annotations

import io

import pytest

from mi_prep.cli import main
from mi_prep.context import AppContext

BAD = [
    ["drill", "--minutes", "inf", "--no-lab"],
    ["drill", "--minutes", "nan", "--no-lab"],
    ["drill", "--minutes", "1e999", "--no-lab"],
    ["drill", "--minutes", "0", "--no-lab"],
    ["drill", "--seed", "99999999999999999999999999", "--no-lab"],
    ["drill", "--seed", "-1", "--no-lab"],
    ["drill", "--questions", "0", "--no-lab"],
    ["drill", "show", "0"],
    ["review", "--limit", "-1"],
    ["review", "--limit", "lots"],
    ["lab", "run", "superposition", "--seed", "-3"],
    ["lab", "run", "superposition", "--width", "5"],
    ["--decks", "", "check"],
]


@pytest.mark.parametrize("argv", BAD, ids=[" ".join(a) for a in BAD])
def test_out_of_range_option_is_a_usage_error(tmp_path, argv, capsys):
    app = AppContext(tmp_path / "data", [tmp_path], stdin=io.StringIO(""), stdout=io.StringIO())
    with pytest.raises(SystemExit) as exc:
        main(argv, app=app)
    assert exc.value.code == 2
    err = capsys.readouterr().err
    assert "error: argument" in err and "Traceback" not in err


def test_review_of_an_unknown_deck_or_tag_says_so(tmp_path):
    decks = tmp_path / "decks"
    decks.mkdir()
    (decks / "d.yaml").write_text("id: d\nname: D\ncards:\n  - id: a\n    front: q\n    back: b\n    source: s\n")
    for argv, needle in (
        (["review", "--deck", "nosuch"], "unknown deck id(s): nosuch; known: d"),
        (["review", "--tag", "nosuch"], "no card has the tag(s) nosuch"),
    ):
        out = io.StringIO()
        code = main(argv, app=AppContext(tmp_path / "data", [decks], stdin=io.StringIO(""), stdout=out))
        assert code == 2 and needle in out.getvalue()


def test_config_number_that_is_not_a_number(tmp_path):
    out = io.StringIO()
    code = main(
        ["config", "set", "new-per-day", "many"],
        app=AppContext(tmp_path / "data", [tmp_path], stdin=io.StringIO(""), stdout=out),
    )
    assert code == 2 and "'many' is not a whole number" in out.getvalue()
