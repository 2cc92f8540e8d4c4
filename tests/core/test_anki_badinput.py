"""Anki export with hostile or broken input: CSS in style attributes, active SVG media, non-local
image URLs, cards whose front renders empty, a full disk / TMPDIR, and many decks (linear export,
clean import in Anki). Every problem is a one-line message naming file, line, card id and the fix."""

from __future__ import annotations

import errno
import io
import sqlite3
import tempfile
import zipfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

import mi_prep.core.anki as anki
import mi_prep.core.anki.package as package  # where the .apkg is written: the tests patch its names
from mi_prep.core.anki import ExportError, export_apkg, render_markdown, svg_problem
from mi_prep.core.deck import load_decks
from tests.core.test_anki import make_decks, read_apkg  # one reader of .apkg files for both

T0 = datetime(2026, 7, 1, 9, 0, tzinfo=UTC)


def load_ok(path: Path):
    ds = load_decks(path)
    assert not ds.errors, [str(e) for e in ds.errors]
    return ds


def _import(col, path: Path):
    from anki.collection import ImportAnkiPackageOptions, ImportAnkiPackageRequest

    return col.import_anki_package(
        ImportAnkiPackageRequest(package_path=str(path), options=ImportAnkiPackageOptions(with_scheduling=False))
    )


def card(cid: str, front: str, back: str = "b", kind: str = "basic") -> str:
    front = front.replace("'", "''")
    return f"  - id: {cid}\n    type: {kind}\n    front: '{front}'\n    back: {back}\n    source: s\n"


def deck_file(deck_id: str, *cards: str) -> str:
    return f"id: {deck_id}\nname: {deck_id.title()}\ncards:\n" + "".join(cards)


def line_of(path: Path, cid: str) -> int:
    return next(i for i, line in enumerate(path.read_text().splitlines(), 1) if line == f"  - id: {cid}")


def warning_for(report, path: Path, cid: str, *needles: str) -> str:
    """The one warning for card ``cid`` containing all ``needles``; it names file:line and card."""
    where = f"{path}:{line_of(path, cid)}: card '{cid}': "
    found = [w for w in report.warnings if w.startswith(where) and all(n in w for n in needles)]
    assert len(found) == 1, (where, needles, report.warnings)
    assert "\n" not in found[0]
    return found[0]


# --------------------------------------------------------------------------- CSS

EVIL_STYLES = [
    "text-align: expression(alert(1))",
    "TEXT-ALIGN: \\65xpression(alert(1))",
    "text-align: right; behavior: url(evil.htc)",
    "-moz-binding: url(http://evil.example/x.xml#x)",
    "background: url(javascript:alert(1))",
    "background-image: url(file:///etc/passwd)",
    "text-align: left /* */; width: expression(alert(1))",
]


def test_style_attributes_keep_only_plain_text_align(tmp_path):
    cells = "".join(f'<td style="{s}">c{i}</td>' for i, s in enumerate(EVIL_STYLES))
    front = f'<table><tr>{cells}<td style="text-align:center">ok</td></tr></table>\n\n| a |\n|--:|\n| 1 |\n'
    block = "".join(f"      {line}\n" for line in front.splitlines())
    decks = make_decks(
        tmp_path, css=f"id: css\nname: Css\ncards:\n  - id: css-1\n    front: |\n{block}    back: b\n    source: s\n"
    )
    out = tmp_path / "css.apkg"
    report = export_apkg(load_ok(decks), out, now=T0)
    pkg = read_apkg(out)
    html_front = pkg.note("css-1")["fields"][0]
    for bad in ("expression", "behavior", "moz-binding", "url(", "javascript", "passwd", "\\65", "background", "width"):
        assert bad not in html_front.lower(), bad
    assert html_front.count('style="text-align:right"') == 3  # the kept half of a mixed style + th and td of the table
    assert 'style="text-align:center"' in html_front
    path = decks / "css.yaml"
    msg = warning_for(
        report, path, "css-1", 'style="text-align: expression(alert(1))"', "removed", "delete it from the card"
    )
    assert "<td>" in msg
    assert len([w for w in report.warnings if "CSS style=" in w]) == len(EVIL_STYLES)


def test_render_markdown_filters_styles_too():
    out = render_markdown(
        '<table><tr><td style="text-align: expression(alert(1))">x</td>'
        '<td style="text-align:right;color:red">y</td></tr></table>'
    )
    assert "expression" not in out and "color" not in out
    assert '<td style="text-align:right">y</td>' in out


# --------------------------------------------------------------------------- SVG media

SVG_OK = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 10 10">'
    b'<style>.a { fill: red }</style><text x="1" y="5">Behavior: only = 3</text>'
    b'<rect class="a" width="5" height="5"/></svg>'
)

SVG_BAD = {
    "script": (b'<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>', "<script>"),
    "prefixed-script": (
        b'<s:svg xmlns:s="http://www.w3.org/2000/svg"><s:script>alert(1)</s:script></s:svg>',
        "<script>",
    ),
    "onload": (
        b'<svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"><rect width="1" height="1"/></svg>',
        "onload=",
    ),
    "js-href": (
        b'<svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink">'
        b'<a xlink:href="&#106;ava&#x09;script:alert(1)"><rect width="1" height="1"/></a></svg>',
        "javascript: URL",
    ),
    "foreign": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><foreignObject><body xmlns="http://www.w3.org/1999/xhtml">'
        b'<iframe src="x"/></body></foreignObject></svg>',
        "<foreignObject>",
    ),
    "animate-href": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><a><set attributeName="href" to="x"/><text>t</text></a></svg>',
        "rewrites a link",
    ),
    "entity": (
        b'<!DOCTYPE svg [<!ENTITY x "&#60;script&#62;">]><svg xmlns="http://www.w3.org/2000/svg">&x;</svg>',
        "entities",
    ),
    "css": (
        b'<svg xmlns="http://www.w3.org/2000/svg"><rect style="-moz-binding: url(x)" width="1" height="1"/></svg>',
        "-moz-binding",
    ),
    "utf16": ('<svg xmlns="http://www.w3.org/2000/svg"><script>alert(1)</script></svg>'.encode("utf-16"), "UTF-8"),
    "broken": (b'<svg xmlns="http://www.w3.org/2000/svg"><rect></svg>', "well-formed"),
}


def test_svg_checker():
    assert svg_problem(SVG_OK) is None
    for name, (data, why) in SVG_BAD.items():
        problem = svg_problem(data)
        assert problem is not None and why in problem, (name, problem)


@pytest.mark.parametrize("raw_html", [False, True], ids=["markdown", "raw-html"])
def test_active_svg_is_never_packed(tmp_path, raw_html):
    decks = make_decks(tmp_path)
    for name, (data, _) in SVG_BAD.items():
        (decks / f"{name}.svg").write_bytes(data)
    (decks / "ok.svg").write_bytes(SVG_OK)

    def img(name: str) -> str:
        return f'<img src="{name}.svg" alt="{name}">' if raw_html else f"![{name}]({name}.svg)"

    cards = [card(f"svg-{name}", f"Figure {img(name)}") for name in [*SVG_BAD, "ok"]]
    (decks / "svg.yaml").write_text(deck_file("svg", *cards), encoding="utf-8")
    out = tmp_path / "svg.apkg"
    report = export_apkg(load_ok(decks), out, now=T0)
    pkg = read_apkg(out)
    assert list(pkg.media.values()) == [next(n for n in pkg.media.values() if n.endswith("-ok.svg"))]
    assert list(pkg.files.values()) == [SVG_OK]  # packed exactly as checked
    for name, (data, why) in SVG_BAD.items():
        assert data not in pkg.files.values()
        msg = warning_for(report, decks / "svg.yaml", f"svg-{name}", f"SVG image '{name}.svg' left out", why)
        assert "remove it from the SVG" in msg
        front = pkg.note(f"svg-{name}")["fields"][0]
        assert "<img" not in front and front == "Figure"
    assert "<img" in pkg.note("svg-ok")["fields"][0]
    media = b"".join(pkg.files.values()).lower()
    assert b"script" not in media and b"onload" not in media


# --------------------------------------------------------------------------- non-local image URLs


def test_non_local_images_are_reported(tmp_path):
    decks = make_decks(
        tmp_path,
        urls=deck_file(
            "urls",
            card("u-file", "text ![x](file:///etc/passwd)"),
            card("u-raw-file", 'text <img src="file:///etc/passwd">'),
            card("u-data", "text ![x](data:image/png;base64,iVBORw0KGgo=)"),
            card("u-ftp", "text ![x](ftp://example.com/x.png)"),
            card("u-http", "text ![x](https://example.com/x.png)"),
            card("u-raw-http", 'text <img src="http://example.com/y.png">'),
            card("u-link", 'see <a href="file:///etc/passwd">this</a> and [that](javascript:alert(1))'),
        ),
    )
    path = decks / "urls.yaml"
    out = tmp_path / "urls.apkg"
    report = export_apkg(load_ok(decks), out, now=T0)
    pkg = read_apkg(out)
    blob = pkg.raw_db.decode("utf-8", "replace")
    for gone in ("passwd", "data:image", "ftp:", "example.com", "javascript"):
        assert gone not in blob, gone
    assert report.notes == 7 and report.skipped == 0
    for cid in ("u-file", "u-raw-file"):
        msg = warning_for(report, path, cid, "image file:///etc/passwd left out", "file:// URLs are refused")
        assert "copy the image next to the deck file and use a relative path" in msg
        assert pkg.note(cid)["fields"][0] == "text"
    warning_for(report, path, "u-data", "inline data: image", "left out", "relative path")
    warning_for(report, path, "u-ftp", "'ftp:' URLs are not images", "relative path")
    warning_for(report, path, "u-http", "remote image https://example.com/x.png left out", "download it")
    warning_for(report, path, "u-raw-http", "remote image http://example.com/y.png left out")
    warning_for(report, path, "u-link", "link 'file:///etc/passwd' removed")
    warning_for(report, path, "u-link", "link 'javascript:alert(1)' removed")
    assert pkg.note("u-link")["fields"][0] == (
        'see <a rel="noopener noreferrer">this</a> and <a rel="noopener noreferrer">that</a>'
    )


# --------------------------------------------------------------------------- empty fronts


def test_card_whose_front_renders_empty_is_skipped_not_a_0_card_note(tmp_path):
    decks = make_decks(
        tmp_path,
        empty=deck_file(
            "empty",
            card("e-remote", "![attention pattern](https://example.com/attn.png)"),
            card("e-file", "![x](file:///etc/passwd)"),
            card("e-tags", "<span></span> <br>"),
            card("e-cloze-ok", "{{c1::![x](https://example.com/a.png) answer}}", kind="cloze"),
            card("e-ok", "A question"),
        ),
    )
    path = decks / "empty.yaml"
    out = tmp_path / "empty.apkg"
    report = export_apkg(load_ok(decks), out, now=T0)
    pkg = read_apkg(out)
    assert report.skipped == 3 and report.notes == 2 and "3 cards not exported (empty front)" in report.summary()
    assert sorted(n["fields"][-1] for n in pkg.notes) == ["e-cloze-ok", "e-ok"]
    assert {c["nid"] for c in pkg.cards} == {n["id"] for n in pkg.notes}  # every note has cards
    msg = warning_for(report, path, "e-remote", "card not exported", "front would be empty")
    assert "image https://example.com/attn.png, was left out" in msg and "add text to 'front'" in msg
    warning_for(report, path, "e-file", "card not exported", "image file:///etc/passwd, was left out")
    warning_for(report, path, "e-tags", "card not exported", "write the question in 'front'")
    # skipped cards come first (the one-line report shows the first three warnings)
    assert all("card not exported" in w for w in report.warnings[:3])
    assert "card 'e-remote'" in str(report)


def test_skipped_card_imports_cleanly_and_comes_back_when_fixed(tmp_path):
    pytest.importorskip("anki")
    from anki.collection import Collection

    yaml_one = deck_file("fix", card("f-1", "![x](https://example.com/x.png)"), card("f-2", "Question"))
    decks = make_decks(tmp_path, fix=yaml_one)
    export_apkg(load_ok(decks), tmp_path / "1.apkg", now=T0)
    (tmp_path / "col").mkdir()
    col = Collection(str(tmp_path / "col" / "c.anki2"))
    try:
        _import(col, tmp_path / "1.apkg")
        assert col.note_count() == 1 and col.card_count() == 1
        (decks / "fig.png").write_bytes(b"\x89PNG fig")
        (decks / "fix.yaml").write_text(yaml_one.replace("https://example.com/x.png", "fig.png"))
        export_apkg(load_ok(decks), tmp_path / "2.apkg", now=T0)
        _import(col, tmp_path / "2.apkg")
        assert col.note_count() == 2 and col.card_count() == 2
    finally:
        col.close()


# --------------------------------------------------------------------------- full disk / TMPDIR


@pytest.fixture
def small_decks(tmp_path):
    return make_decks(tmp_path, d=deck_file("d", card("d-1", "Q1"), card("d-2", "Q2")))


def test_export_does_not_need_tmpdir(tmp_path, small_decks, monkeypatch):
    full = tmp_path / "tmp-full"
    full.mkdir()
    full.chmod(0o500)
    monkeypatch.setenv("TMPDIR", str(full))
    monkeypatch.setattr(tempfile, "tempdir", None)

    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    for name in ("mkdtemp", "TemporaryDirectory", "NamedTemporaryFile", "TemporaryFile", "gettempdir"):
        monkeypatch.setattr(tempfile, name, no_space)
    try:
        out = tmp_path / "o.apkg"
        report = export_apkg(load_ok(small_decks), out, now=T0)
        assert report.notes == 2 and len(read_apkg(out).notes) == 2
    finally:
        full.chmod(0o700)


class _FullDiskZip(zipfile.ZipFile):
    def writestr(self, *a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")


@pytest.mark.parametrize(
    "code, strerror, what, fix",
    [
        (errno.ENOSPC, "No space left on device", "the disk is full", "free some space on the disk holding"),
        (errno.EDQUOT, "Disk quota exceeded", "disk quota exceeded", "free some space"),
        (
            errno.EROFS,
            "Read-only file system",
            "is on a read-only file system",
            "choose an output file on a writable disk",
        ),
        (errno.EACCES, "Permission denied", "no permission to write in", "fix the directory's permissions"),
        (errno.EIO, "Input/output error", "the write failed", "check the disk"),
    ],
)
def test_write_failures_are_one_line_export_errors(tmp_path, small_decks, monkeypatch, code, strerror, what, fix):
    class FailingZip(zipfile.ZipFile):
        def writestr(self, *a, **k):
            raise OSError(code, strerror)

    monkeypatch.setattr(package.zipfile, "ZipFile", FailingZip)
    out = tmp_path / "o.apkg"
    with pytest.raises(ExportError) as err:
        export_apkg(load_ok(small_decks), out, now=T0)
    msg = str(err.value)
    assert msg.startswith(f"cannot write {out}: {strerror} (") and what in msg
    assert fix in msg and "nothing was written" in msg and "\n" not in msg
    assert err.value.__cause__ is None and err.value.__suppress_context__
    assert not out.exists() and sorted(p.name for p in tmp_path.iterdir()) == ["decks"]


def test_temp_file_beside_output_fails(tmp_path, small_decks, monkeypatch):
    def no_space(*a, **k):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(package.tempfile, "mkstemp", no_space)
    with pytest.raises(ExportError, match=r"cannot write .*o\.apkg: No space left on device \(the disk is full\)"):
        export_apkg(load_ok(small_decks), tmp_path / "o.apkg", now=T0)


def test_collection_database_full_is_an_export_error(tmp_path, small_decks, monkeypatch):
    def full(*a, **k):
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(package, "write_collection", full)
    with pytest.raises(ExportError, match=r"o\.apkg: database or disk is full \(the disk is full\); free some space"):
        export_apkg(load_ok(small_decks), tmp_path / "o.apkg", now=T0)


def test_read_only_output_directory(tmp_path, small_decks, monkeypatch):
    monkeypatch.setattr(package, "_read_only_fs", lambda path: True)
    with pytest.raises(ExportError, match="is on a read-only file system; choose an output file on a writable disk"):
        export_apkg(load_ok(small_decks), tmp_path / "o.apkg", now=T0)


def test_cli_full_disk_is_one_line_no_traceback(tmp_path, small_decks, monkeypatch):
    from mi_prep.cli import main
    from mi_prep.context import AppContext

    monkeypatch.setattr(package.zipfile, "ZipFile", _FullDiskZip)
    buf = io.StringIO()
    app = AppContext(tmp_path / "data", [small_decks], stdin=io.StringIO(""), stdout=buf, clock=lambda: T0)
    out = tmp_path / "cli.apkg"
    assert main(["export", "anki", "-o", str(out)], app=app) == 1
    text = buf.getvalue()
    assert text.count("\n") == 1 and "Traceback" not in text
    assert text.startswith(f"export failed: cannot write {out}: No space left on device (the disk is full); free some")
    assert not out.exists()


def test_cli_lists_every_warning_on_its_own_line(tmp_path):
    from mi_prep.cli import main
    from mi_prep.context import AppContext

    decks = make_decks(
        tmp_path,
        w=deck_file(
            "w",
            *[card(f"w-{i}", f"Q ![x](https://example.com/{i}.png)") for i in range(5)],
            card("w-empty", "![x](file:///x.png)"),
        ),
    )
    buf = io.StringIO()
    app = AppContext(tmp_path / "data", [decks], stdin=io.StringIO(""), stdout=buf, clock=lambda: T0)
    assert main(["export", "anki", "-o", str(tmp_path / "w.apkg")], app=app) == 0
    lines = buf.getvalue().splitlines()
    assert lines[0].startswith("Exported 1 deck, 5 notes (5 cards)") and "1 card not exported" in lines[0]
    warned = [line for line in lines if line.startswith("! ")]
    assert len(warned) == 7 and "card 'w-empty': card not exported" in warned[0]
    assert all(f"{decks / 'w.yaml'}:" in line for line in warned)
    assert "export again" in lines[-1]


# --------------------------------------------------------------------------- many decks


def test_many_decks_import_with_every_deck(tmp_path):
    pytest.importorskip("anki")
    from anki.collection import Collection

    n = 300
    decks = make_decks(
        tmp_path, **{f"d{i:03d}": deck_file(f"d{i:03d}", card(f"c{i:03d}", f"Question {i}")) for i in range(n)}
    )
    out = tmp_path / "many.apkg"
    report = export_apkg(load_ok(decks), out, now=T0)
    assert report.decks == n and report.notes == n
    pkg = read_apkg(out)
    assert {str(anki.deck_anki_id(f"d{i:03d}")) for i in range(n)} <= set(pkg.decks)
    assert len(pkg.decks) == n + 1  # and genanki's "Default"
    (tmp_path / "col").mkdir()
    col = Collection(str(tmp_path / "col" / "c.anki2"))
    try:
        _import(col, out)
        names = {d.name for d in col.decks.all_names_and_ids()}
        assert {f"MI Prep::D{i:03d}" for i in range(n)} <= names
        assert col.note_count() == n and col.card_count() == n
        for i in (0, n // 2, n - 1):
            cid = col.find_cards(f"CardId:c{i:03d}")
            assert len(cid) == 1 and col.decks.name(col.get_card(cid[0]).did) == f"MI Prep::D{i:03d}"
        _import(col, out)  # a re-export/re-import updates, never duplicates
        assert col.note_count() == n and col.card_count() == n
    finally:
        col.close()


@pytest.mark.parametrize("name", ["mi-prep.db", "sae.yaml", "notes.txt", "out"])
def test_export_never_replaces_a_file_that_is_not_an_apkg(tmp_path, name):
    """A typo like `-o mi-prep.db` or `-o decks/sae.yaml` must not replace the database or a deck."""
    decks = make_decks(tmp_path, d="id: d\nname: D\ncards:\n  - id: a\n    front: q\n    back: b\n    source: s\n")
    target = tmp_path / name
    target.write_bytes(b"precious")
    with pytest.raises(ExportError, match=r"must end in \.apkg.*nothing was written"):
        export_apkg(load_decks(decks), target, now=T0)
    assert target.read_bytes() == b"precious"


def test_export_refuses_a_target_that_is_not_a_regular_file(tmp_path):
    import os

    decks = make_decks(tmp_path, d="id: d\nname: D\ncards:\n  - id: a\n    front: q\n    back: b\n    source: s\n")
    fifo = tmp_path / "pipe.apkg"
    os.mkfifo(fifo)
    with pytest.raises(ExportError, match="not a regular file"):
        export_apkg(load_decks(decks), fifo, now=T0)
    assert fifo.is_fifo()
