"""Anki export: note types and fields, ids and GUIDs, Markdown/math/cloze rendering, sanitizing,
media, bad output paths, the CLI, and (when the `anki` package is installed) Anki's own importer."""

from __future__ import annotations

import io
import json
import sqlite3
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import genanki
import pytest

from mi_prep.core.anki import (
    MODEL_BASIC,
    MODEL_CHOICE,
    MODEL_CLOZE,
    MODEL_EXPLAIN,
    MODEL_REVERSE,
    NOTE_TYPES,
    ExportError,
    anki_tags,
    export_apkg,
    note_guid,
    render_markdown,
    stable_id,
)
from mi_prep.core.deck import load_decks

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)

DECK_A = r"""
id: induction
name: Induction heads
description: How transformers copy from *context*.
tags: [induction-heads, "two words"]
cards:
  - id: ind-basic
    front: What does an induction head do?
    back: |
      Finds an earlier copy of the current token; the score is $x_i^2$ with $a*b*c$ intact.

      $$
      \sum_i x_i \cdot y_{i}
      $$

      ```python
      cost = "$5_000"  # $ inside code stays
      print(cost)
      ```

      Inline `$a_b$` code.
    tags: [definition]
    source: Olsson et al. 2022, sec. 2
    difficulty: 1
  - id: ind-reverse
    type: reverse
    front: K-composition
    back: The keys read the previous-token head's output.
    source: Elhage et al. 2021
  - id: ind-cloze
    type: cloze
    front: "An induction head completes [A][B] ... [A] -> {{c1::**[B]**::token?}}; its score is {{c2::$x_i^2$}} and {{c3::\\frac{a}{b} }}."
    back: Extra *text*.
    source: Olsson et al. 2022
    difficulty: 3
  - id: ind-choice
    type: choice
    front: Which composition links the two heads?
    options:
      - {text: Q-composition, why: The previous-token info is read by the keys.}
      - {text: "**K-composition**", correct: true, why: Keys carry the shifted token.}
      - {text: V-composition}
    source: Olsson et al. 2022
  - id: ind-explain
    type: explain
    front: Walk me through how an induction head works.
    back: The model answer.
    key_points:
      - Previous-token head in an earlier layer
      - {text: K-composition via the keys, terms: [k-composition, key]}
      - Copies the token that followed the earlier occurrence
    source: Olsson et al. 2022
"""

DECK_B = """
id: superposition
name: Superposition
tags: [superposition]
cards:
  - id: sup-def
    front: What is superposition?
    back: More features than dimensions.
    source: Elhage et al. 2022
"""


@dataclass
class Apkg:
    notes: list[dict]
    cards: list[dict]
    models: dict
    decks: dict
    media: dict[str, str]
    files: dict[str, bytes]
    raw_db: bytes

    def note(self, card_id: str) -> dict:
        return next(n for n in self.notes if n["fields"][-1] == card_id)


def read_apkg(path: Path) -> Apkg:
    with zipfile.ZipFile(path) as z:
        db_bytes = z.read("collection.anki2")
        media = json.loads(z.read("media"))
        files = {name: z.read(name) for name in z.namelist() if name not in ("collection.anki2", "media")}
    tmp = path.with_suffix(".check.anki2")
    tmp.write_bytes(db_bytes)
    try:
        con = sqlite3.connect(tmp)
        con.row_factory = sqlite3.Row
        notes = [dict(r) for r in con.execute("SELECT * FROM notes ORDER BY id")]
        for n in notes:
            n["fields"] = n["flds"].split("\x1f")
            n["tag_list"] = n["tags"].split()
        cards = [dict(r) for r in con.execute("SELECT * FROM cards ORDER BY id")]
        models = json.loads(con.execute("SELECT models FROM col").fetchone()[0])
        decks = json.loads(con.execute("SELECT decks FROM col").fetchone()[0])
        con.close()
    finally:
        tmp.unlink()
    return Apkg(notes, cards, models, decks, media, files, db_bytes)


def make_decks(root: Path, **files: str) -> Path:
    d = root / "decks"
    d.mkdir(exist_ok=True)
    for name, text in files.items():
        (d / f"{name}.yaml").write_text(text, encoding="utf-8")
    return d


def load_ok(path: Path):
    ds = load_decks(path)
    assert not ds.errors, [str(e) for e in ds.errors]
    return ds


@pytest.fixture
def decks(tmp_path):
    return make_decks(tmp_path, a=DECK_A, b=DECK_B)


def test_notes_fields_tags_and_decks(tmp_path, decks):
    out = tmp_path / "out.apkg"
    report = export_apkg(load_ok(decks), out, now=T0)
    pkg = read_apkg(out)
    # 6 notes; cards: basic 1 + reverse 2 + cloze 3 + choice 1 + explain 1 + basic 1
    assert (report.decks, report.notes, report.cards, report.media) == (2, 6, 9, 0)
    assert len(pkg.notes) == 6 and len(pkg.cards) == 9
    assert report.size == out.stat().st_size
    line = str(report)
    assert "\n" not in line and "2 decks, 6 notes (9 cards), 0 media files" in line and str(out) in line

    by_model = {m["name"]: m for m in pkg.models.values()}
    for model in NOTE_TYPES.values():
        stored = pkg.models[str(model.model_id)]
        assert stored["name"] == model.name
        assert [f["name"] for f in stored["flds"]] == [f["name"] for f in model.fields]
        assert {"Source", "CardId"} <= {f["name"] for f in stored["flds"]}
    assert len(by_model["MI Prep: Basic (and reversed card)"]["tmpls"]) == 2
    assert by_model["MI Prep: Cloze"]["type"] == genanki.Model.CLOZE
    assert "{{cloze:Text}}" in by_model["MI Prep: Cloze"]["tmpls"][0]["qfmt"]

    basic = pkg.note("ind-basic")
    assert basic["mid"] == MODEL_BASIC.model_id
    assert basic["fields"][0] == "What does an induction head do?"
    assert basic["fields"][2] == "Olsson et al. 2022, sec. 2"
    assert basic["guid"] == note_guid("ind-basic") == genanki.guid_for("mi-prep", "ind-basic")
    assert basic["tag_list"] == ["induction-heads", "two_words", "definition", "mi-prep::difficulty::1"]

    rev = pkg.note("ind-reverse")
    assert rev["mid"] == MODEL_REVERSE.model_id
    assert sorted(c["ord"] for c in pkg.cards if c["nid"] == rev["id"]) == [0, 1]

    cloze = pkg.note("ind-cloze")
    assert cloze["mid"] == MODEL_CLOZE.model_id
    assert sorted(c["ord"] for c in pkg.cards if c["nid"] == cloze["id"]) == [0, 1, 2]
    assert "mi-prep::difficulty::3" in cloze["tag_list"]
    assert cloze["fields"][1] == "Extra <em>text</em>."

    choice = pkg.note("ind-choice")
    assert choice["mid"] == MODEL_CHOICE.model_id
    question, options, answer, why, extra, source, cid = choice["fields"]
    assert question == "Which composition links the two heads?"
    assert options == "<li>Q-composition</li><li><strong>K-composition</strong></li><li>V-composition</li>"
    assert answer == "2. <strong>K-composition</strong>"
    assert why.count("<li") == 3 and 'class="correct"' in why and "The previous-token info is read by the keys." in why
    assert "Keys carry the shifted token." in why and extra == "" and cid == "ind-choice"

    explain = pkg.note("ind-explain")
    assert explain["mid"] == MODEL_EXPLAIN.model_id
    assert explain["fields"][1] == "The model answer."
    assert explain["fields"][2].count("<li>") == 3 and "K-composition via the keys" in explain["fields"][2]

    names = {d["name"] for d in pkg.decks.values()}
    assert {"MI Prep::Induction heads", "MI Prep::Superposition"} <= names
    ind = next(d for d in pkg.decks.values() if d["name"] == "MI Prep::Induction heads")
    assert (
        ind["id"] == stable_id("mi-prep deck induction")
        and ind["desc"] == "How transformers copy from <em>context</em>."
    )
    assert {c["did"] for c in pkg.cards if c["nid"] == basic["id"]} == {ind["id"]}
    # new-card order follows the YAML order, decks in file order
    order = [
        n["fields"][-1]
        for n in sorted(pkg.notes, key=lambda n: min(c["due"] for c in pkg.cards if c["nid"] == n["id"]))
    ]
    assert order == ["ind-basic", "ind-reverse", "ind-cloze", "ind-choice", "ind-explain", "sup-def"]


def test_ids_are_stable_and_in_range(tmp_path, decks):
    ids = [m.model_id for m in NOTE_TYPES.values()]
    assert len(set(ids)) == len(ids) and all((1 << 30) <= i < (1 << 31) for i in ids)
    assert stable_id("mi-prep deck x") == stable_id("mi-prep deck x") != stable_id("mi-prep deck y")
    one, two = tmp_path / "1.apkg", tmp_path / "2.apkg"
    export_apkg(load_ok(decks), one, now=T0)
    export_apkg(load_ok(decks), two, now=T0 + timedelta(days=3))
    p1, p2 = read_apkg(one), read_apkg(two)
    assert set(p1.models) == set(p2.models) == {str(i) for i in ids}
    assert {k for k, d in p1.decks.items() if d["name"].startswith("MI Prep")} == {
        k for k, d in p2.decks.items() if d["name"].startswith("MI Prep")
    }
    assert [(n["guid"], n["flds"]) for n in p1.notes] == [(n["guid"], n["flds"]) for n in p2.notes]


def test_guid_stable_across_edit(tmp_path, decks):
    first, second = tmp_path / "1.apkg", tmp_path / "2.apkg"
    export_apkg(load_ok(decks), first, now=T0)
    a = decks / "a.yaml"
    a.write_text(a.read_text().replace("What does an induction head do?", "What does an induction head do, exactly?"))
    export_apkg(load_ok(decks), second, now=T0 + timedelta(hours=1))
    n1, n2 = read_apkg(first).note("ind-basic"), read_apkg(second).note("ind-basic")
    assert n1["guid"] == n2["guid"]
    assert n1["fields"][0] != n2["fields"][0] == "What does an induction head do, exactly?"
    assert n2["mod"] > n1["mod"]  # Anki's default re-import updates notes that are newer


def test_markdown_math_and_code(tmp_path, decks):
    export_apkg(load_ok(decks), tmp_path / "o.apkg", now=T0)
    back = read_apkg(tmp_path / "o.apkg").note("ind-basic")["fields"][1]
    assert r"\(x_i^2\)" in back and r"\(a*b*c\)" in back and "<em>" not in back
    assert r"\[\sum_i x_i \cdot y_{i}\]" in back
    assert (
        '<pre><code class="language-python">cost = "$5_000"  # $ inside code stays\nprint(cost)\n</code></pre>' in back
    )
    assert "<code>$a_b$</code>" in back


@pytest.mark.parametrize(
    "src, expected",
    [
        ("$x_i^2$", r"\(x_i^2\)"),
        ("$$\\frac{a_1}{b_2}$$", '<div class="math">\\[\\frac{a_1}{b_2}\\]</div>'),
        ("a $$x_1 * y_1$$ b", r"a \[x_1 * y_1\] b"),
        ("costs $5 and $6", "costs $5 and $6"),
        (r"\$x_i\$", "$x_i$"),
        ("`$x_i$`", "<code>$x_i$</code>"),
        ("$a<b$", r"\(a&lt;b\)"),
        ("*a* and _b_", "<em>a</em> and <em>b</em>"),
        ("| a | b |\n|---|---|\n| $x_1$ | 2 |", "<td>\\(x_1\\)</td>"),
    ],
)
def test_render_markdown(src, expected):
    assert expected in render_markdown(src)


@pytest.mark.parametrize(
    "src, expected",
    [
        ("{{c1::**B**::hint}} and *x*", "{{c1::<strong>B</strong>::hint}} and <em>x</em>"),
        ("{{c1::$x_i^2$}}", r"{{c1::\(x_i^2\)}}"),
        ("$a = {{c1::b_i * c_i}}$", r"\(a = {{c1::b_i * c_i}}\)"),
        ("{{c1::\\frac{a}{b} }}", "{{c1::\\frac{a}{b} }}"),
        ("*x {{c1::y*}} z", "*x {{c1::y*}} z"),  # a deletion is never split by emphasis
        ("`{{c1::a_b}}`", "<code>{{c1::a_b}}</code>"),
        ("x {{c1::a}} {{c2::b}} {{c1::c}}", "x {{c1::a}} {{c2::b}} {{c1::c}}"),
    ],
)
def test_cloze_deletions_survive(src, expected):
    assert render_markdown(src, cloze=True) == expected


def test_cloze_in_package(tmp_path, decks):
    export_apkg(load_ok(decks), tmp_path / "o.apkg", now=T0)
    text = read_apkg(tmp_path / "o.apkg").note("ind-cloze")["fields"][0]
    assert "{{c1::<strong>[B]</strong>::token?}}" in text
    assert r"{{c2::\(x_i^2\)}}" in text and "{{c3::\\frac{a}{b} }}" in text and "-&gt;" in text


def test_sanitized_everywhere(tmp_path):
    evil = """
id: evil
name: Evil <script>alert(1)</script>
description: "<img src=x onerror=alert(1)>"
cards:
  - id: evil-1
    front: "<script>alert(1)</script> and <img src=x onerror=alert(1)> and <a href=\\"javascript:alert(1)\\">x</a>"
    back: "[click](javascript:alert(1)) <div onclick=\\"alert(1)\\" class=\\"k\\">ok</div> <style>p{}</style>"
    source: "<iframe src=\\"https://evil.example\\"></iframe> paper"
  - id: evil-2
    type: choice
    front: Pick
    options:
      - {text: "<svg onload=alert(1)>", correct: true, why: "<script>alert(2)</script>"}
      - {text: "<b onmouseover=alert(1)>b</b>"}
    source: x
"""
    out = tmp_path / "evil.apkg"
    report = export_apkg(load_ok(make_decks(tmp_path, evil=evil)), out, now=T0)
    pkg = read_apkg(out)
    blob = pkg.raw_db.decode("utf-8", "replace").lower()
    for bad in (
        "<script",
        "onerror",
        "onclick",
        "onload",
        "onmouseover",
        'javascript:alert(1)"',
        'href="javascript',
        "<iframe",
        "<svg",
        "<style",
    ):
        assert bad not in blob, bad
    front = pkg.note("evil-1")["fields"][0]
    assert "alert(1)</script>" not in front and '<img src="x"' not in front  # unresolved raw <img> dropped
    assert pkg.note("evil-1")["fields"][1].endswith('<div class="k">ok</div>')
    assert any("image 'x' not found" in w for w in report.warnings)
    assert any(d["name"] == "MI Prep::Evil" for d in pkg.decks.values())


def test_same_deck_names_kept_apart(tmp_path):
    one = "id: one\nname: Same\ncards:\n  - id: a\n    front: q\n    back: a\n    source: s\n"
    two = "id: two\nname: Same\ncards:\n  - id: b\n    front: q\n    back: a\n    source: s\n"
    export_apkg(load_ok(make_decks(tmp_path, one=one, two=two)), tmp_path / "o.apkg", now=T0)
    names = {d["name"] for d in read_apkg(tmp_path / "o.apkg").decks.values()}
    assert {"MI Prep::Same (one)", "MI Prep::Same (two)"} <= names


def test_media_packed_with_unique_names(tmp_path):
    root = tmp_path / "decks"
    (root / "one").mkdir(parents=True)
    (root / "two" / "img").mkdir(parents=True)
    (root / "one" / "fig.png").write_bytes(b"\x89PNG one")
    (root / "one" / "my fig.png").write_bytes(b"\x89PNG spaced")
    (root / "two" / "img" / "fig.png").write_bytes(b"\x89PNG two")
    (root / "one" / "d.yaml").write_text(
        "id: one\nname: One\ncards:\n"
        "  - id: one-a\n    front: '![circuit](fig.png) and again ![x](./fig.png) ![s](<my fig.png>)'\n    back: b\n    source: s\n"
        '  - id: one-b\n    front: \'remote ![r](https://example.com/r.png) raw <img src="fig.png" alt="f">\'\n'
        "    back: b\n    source: s\n"
    )
    (root / "two" / "d.yaml").write_text(
        "id: two\nname: Two\ncards:\n  - id: two-a\n    front: '![fig](img/fig.png)'\n    back: b\n    source: s\n"
    )
    ds = load_decks(root / "one", root / "two")
    assert not ds.errors and [d.id for d in ds.decks] == ["one", "two"]
    out = tmp_path / "m.apkg"
    report = export_apkg(ds, out, now=T0)
    pkg = read_apkg(out)
    assert report.media == 3 and len(pkg.media) == 3
    spaced = next(n for n in pkg.media.values() if n.endswith("-my_fig.png"))
    assert f'src="{spaced}"' in pkg.note("one-a")["fields"][0]
    names = sorted(n for n in pkg.media.values() if n != spaced)
    assert all(n.startswith("mi-prep-") and n.endswith("-fig.png") for n in names) and len(set(names)) == 2
    by_name = {name: pkg.files[idx] for idx, name in pkg.media.items()}
    one_name = next(n for n in names if n.startswith("mi-prep-one-"))
    two_name = next(n for n in names if n.startswith("mi-prep-two-"))
    assert by_name[one_name] == b"\x89PNG one" and by_name[two_name] == b"\x89PNG two"
    a = pkg.note("one-a")["fields"][0]
    assert a.count(f'src="{one_name}"') == 2 and 'alt="circuit"' in a
    b = pkg.note("one-b")["fields"][0]
    assert "example.com" not in b and f'<img src="{one_name}" alt="f">' in b
    assert any("remote image https://example.com/r.png left out" in w for w in report.warnings)
    assert "1 warning" in str(report)
    assert f'src="{two_name}"' in pkg.note("two-a")["fields"][0]


@pytest.mark.parametrize(
    "ref, message",
    [
        ("missing.png", "image 'missing.png' not found"),
        ("../outside.png", "outside the deck's directory"),
        ("notes.txt", "not an image Anki can show"),
    ],
)
def test_bad_images_are_errors(tmp_path, ref, message):
    (tmp_path / "outside.png").write_bytes(b"png")
    decks = make_decks(
        tmp_path, d=f"id: d\nname: D\ncards:\n  - id: d-a\n    front: '![x]({ref})'\n    back: b\n    source: s\n"
    )
    (decks / "notes.txt").write_text("text")
    out = tmp_path / "x.apkg"
    with pytest.raises(ExportError) as err:
        export_apkg(load_ok(decks), out, now=T0)
    assert message in str(err.value) and "card 'd-a'" in str(err.value) and str(decks / "d.yaml") in str(err.value)
    assert not out.exists() and not list(tmp_path.glob(".x.apkg.*"))


def test_bad_output_paths(tmp_path, decks):
    ds = load_ok(decks)
    a_dir = tmp_path / "adir"
    a_dir.mkdir()
    with pytest.raises(ExportError, match="is a directory"):
        export_apkg(ds, a_dir, now=T0)
    assert list(a_dir.iterdir()) == []
    missing = tmp_path / "nope" / "x.apkg"
    with pytest.raises(ExportError, match="does not exist"):
        export_apkg(ds, missing, now=T0)
    assert not missing.parent.exists()
    a_file = tmp_path / "file"
    a_file.write_text("")
    with pytest.raises(ExportError, match="not a directory"):
        export_apkg(ds, a_file / "x.apkg", now=T0)


def test_unwritable_parent(tmp_path, decks, monkeypatch):
    import os

    import mi_prep.core.anki.package as package

    ro = tmp_path / "ro"
    ro.mkdir()
    ro.chmod(0o500)
    try:
        if os.geteuid() != 0:  # root may write anywhere: then only the simulated case below runs
            with pytest.raises(ExportError, match="permission"):
                export_apkg(load_ok(decks), ro / "x.apkg", now=T0)
            assert list(ro.iterdir()) == []
    finally:
        ro.chmod(0o700)

    def denied(*a, **k):
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(package.os, "access", lambda *a: True)
    monkeypatch.setattr(package.tempfile, "mkstemp", denied)
    with pytest.raises(ExportError, match="cannot write .*x.apkg: Permission denied"):
        export_apkg(load_ok(decks), ro / "x.apkg", now=T0)
    assert list(ro.iterdir()) == []


def test_failed_write_leaves_nothing(tmp_path, decks, monkeypatch):
    import mi_prep.core.anki.package as package

    def boom(*a, **k):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(package.os, "replace", boom)
    out = tmp_path / "full.apkg"
    with pytest.raises(ExportError, match="No space left"):
        export_apkg(load_ok(decks), out, now=T0)
    assert not out.exists() and [p.name for p in tmp_path.iterdir()] == ["decks"]


def test_existing_file_is_replaced(tmp_path, decks):
    out = tmp_path / "o.apkg"
    out.write_text("old")
    export_apkg(load_ok(decks), out, now=T0)
    assert zipfile.is_zipfile(out) and [p.name for p in tmp_path.iterdir() if p.name != "decks"] == ["o.apkg"]


def test_deck_selection(tmp_path, decks):
    out = tmp_path / "o.apkg"
    report = export_apkg(load_ok(decks), out, deck_ids=["superposition"], now=T0)
    pkg = read_apkg(out)
    assert report.decks == 1 and [n["fields"][-1] for n in pkg.notes] == ["sup-def"]
    with pytest.raises(ExportError, match="unknown deck id.*nope"):
        export_apkg(load_ok(decks), tmp_path / "p.apkg", deck_ids=["nope"], now=T0)
    assert not (tmp_path / "p.apkg").exists()


def test_tags_made_anki_safe():
    assert anki_tags(["a b", "A_B", "x\ty", "mi"], 2) == ["a_b", "x_y", "mi", "mi-prep::difficulty::2"]


def test_cli_export(tmp_path, decks):
    from mi_prep.cli import main
    from mi_prep.context import AppContext

    out = tmp_path / "cli.apkg"
    buf = io.StringIO()
    app = AppContext(tmp_path / "data", [tmp_path / "elsewhere"], stdin=io.StringIO(""), stdout=buf, clock=lambda: T0)
    code = main(["--decks", str(decks), "export", "anki", "-o", str(out)], app=app)
    assert code == 0, buf.getvalue()
    assert "Exported 2 decks, 6 notes (9 cards)" in buf.getvalue() and len(read_apkg(out).notes) == 6

    buf = io.StringIO()
    app = AppContext(tmp_path / "data", [decks], stdin=io.StringIO(""), stdout=buf, clock=lambda: T0)
    assert main(["export", "anki", "--deck", "induction", "-o", str(tmp_path / "one.apkg")], app=app) == 0
    assert "1 deck, 5 notes" in buf.getvalue()
    buf = io.StringIO()
    app = AppContext(tmp_path / "data", [decks], stdin=io.StringIO(""), stdout=buf, clock=lambda: T0)
    assert main(["export", "anki", "-o", str(tmp_path / "missing" / "x.apkg")], app=app) == 1
    assert "export failed:" in buf.getvalue() and "does not exist" in buf.getvalue()


def test_cli_export_subprocess(tmp_path, decks):
    import subprocess
    import sys

    out = tmp_path / "sub.apkg"
    res = subprocess.run(
        [
            sys.executable,
            "-m",
            "mi_prep",
            "--data-dir",
            str(tmp_path / "data"),
            "--decks",
            str(decks),
            "export",
            "anki",
            "-o",
            str(out),
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert res.returncode == 0, res.stdout + res.stderr
    assert "6 notes (9 cards)" in res.stdout and zipfile.is_zipfile(out)


# --------------------------------------------------------------------------- Anki's importer


def _import(col, path: Path):
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    return col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(path), options=ImportAnkiPackageOptions(with_scheduling=False))
    )


def test_anki_imports_and_updates(tmp_path, decks):
    pytest.importorskip("anki")
    from anki.collection import Collection

    first, second = tmp_path / "1.apkg", tmp_path / "2.apkg"
    export_apkg(load_ok(decks), first, now=T0)
    (tmp_path / "col").mkdir()
    col = Collection(str(tmp_path / "col" / "c.anki2"))
    try:
        _import(col, first)
        assert col.note_count() == 6 and col.card_count() == 9
        names = {d.name for d in col.decks.all_names_and_ids()}
        assert {"MI Prep", "MI Prep::Induction heads", "MI Prep::Superposition"} <= names
        nid = col.find_notes("CardId:ind-basic")[0]
        note = col.get_note(nid)
        assert note.note_type()["name"] == "MI Prep: Basic" and "definition" in note.tags
        assert note["Front"] == "What does an induction head do?"
        cloze_nid = col.find_notes("CardId:ind-cloze")[0]
        assert len(col.get_note(cloze_nid).card_ids()) == 3
        assert len(col.find_cards("tag:mi-prep::difficulty::1")) >= 1

        a = decks / "a.yaml"
        a.write_text(
            a.read_text().replace("What does an induction head do?", "What does an induction head do, exactly?")
        )
        export_apkg(load_ok(decks), second, now=T0 + timedelta(days=1))
        _import(col, second)
        assert col.note_count() == 6 and col.card_count() == 9  # updated, not duplicated
        assert col.find_notes("CardId:ind-basic") == [nid]
        assert col.get_note(nid)["Front"] == "What does an induction head do, exactly?"
        assert len(col.models.all_names_and_ids()) >= 5
        assert sum(1 for m in col.models.all_names_and_ids() if m.name.startswith("MI Prep")) == 5
    finally:
        col.close()
