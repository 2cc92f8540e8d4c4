"""The Markdown fast path of the Anki export writes exactly markdown-it's HTML (or declines), what
the sanitizer would make of it is known without running it, and an export with the fast path and
its per-export cache is the same package as one rendered by markdown-it alone."""

from __future__ import annotations

import random
from pathlib import Path

import pytest

from mi_prep.core.anki import export_apkg
from mi_prep.core.anki.markdown import MarkdownRenderer
from mi_prep.core.anki.markdown_fast import render_block, render_inline
from mi_prep.core.anki.sanitize import clean_html, make_cleaner, sanitized_fast_html
from tests.core.test_anki import DECK_A, DECK_B, T0, load_ok, make_decks, read_apkg

SLOW = MarkdownRenderer(fast=False)
CLEANER = make_cleaner(None)

TAKEN = [  # texts the fast path must render itself (block mode)
    "plain text",
    "quotes \" and ' and > stay text",
    "What does feature $f_{12}$ of layer 3 in the *circuits* deck represent?",
    "**bold** then *em*, and `code with $ and * inside` and $$\\sum_i x_i$$ inline",
    "$a$2 is not math, $ x$ neither, but $x_1$ is; a * b * c stays",
    "intra_word_underscores and snake_case stay; a__b too",
    "line one\nline two\nline three",
    "``code with ` tick`` and ` x ` and `` ` ``",
    "unmatched `backtick and a ** b",
    "A direction $d_{1}$;\n\n$$\n\\|W_{OV} x\\|_2^2 = \\sum_j w_j^2\n$$\n\nafter",
    "$$ a + b $$",
    "```python\nacts = cache['blocks.0.hook_resid_post'][:, -1]\nif a < b & c: pass\n```",
    "```\n\n  indented\n\n```\n\ntext",
    "````\n```\n````",
    "| head | score |\n|------|------:|\n| 3.3 | 0.26 |\n| *x* | $y$ |",
    "|a|b|c|\n|:-|:-:|-:|\n|1||3|\n\npara",
    "| only header |\n|---|",
    "see ![a diagram](fig.png) here",
    "![](dir/fig-2.png)",
    "é → ü “quotes” — dash, 😀 and 中文 *強調*",
    "   ",
    "a\n\n\n\nb\n",
]

DECLINED = [  # texts left to markdown-it
    "a [link](https://example.com)",
    "<b>raw html</b>",
    "AT&amp;T",
    "escaped \\* star",
    "- a list\n- item",
    "1. first",
    "# heading",
    "> quote",
    "text\n---",
    "***",
    "two spaces  \nhard break",
    "tab\there",
    "nbsp\u00a0here",
    "_under_ emphasis",
    "*a **nested** b*",
    "***both***",
    "    indented code",
    "```\nunclosed fence",
    "text\n```\ncode\n```",
    "![alt](https://example.com/x.png)",
    "![alt *em*](x.png)",
    "| a | b |\n|---|---|\nrow without pipe",
    "$$\nunclosed math",
]


def _fast(text: str, inline: bool = False, images: list[str] | None = None) -> str | None:
    out = render_inline(text, (), images) if inline else render_block(text, (), images)
    return None if out is None else out.strip()


@pytest.mark.parametrize("text", TAKEN)
def test_fast_path_renders_each_form_like_markdown_it(text):
    images: list[str] = []
    html = _fast(text, images=images)
    assert html is not None, "the fast path should cover this"
    assert MarkdownRenderer().render(text) == SLOW.render(text)  # images keep their src
    if not images:
        assert html == SLOW.render(text)
        assert sanitized_fast_html(html) == clean_html(CLEANER, html).strip()


@pytest.mark.parametrize("text", DECLINED)
def test_fast_path_declines_the_rest_and_markdown_it_renders_it(text):
    assert _fast(text, images=[]) is None
    assert MarkdownRenderer().render(text) == SLOW.render(text)


PIECES = [
    *"ab é→.,:;!?()-+=#%'\"{}~^|",
    " ",
    "  ",
    "\n",
    "\n\n",
    "$",
    "$$",
    "$x_1$",
    "$ x$",
    "$a$2",
    "*",
    "**",
    "***",
    "_",
    "a_b",
    "`",
    "``",
    "`c`",
    "`` ` ``",
    "*a*",
    "**b**",
    "\\",
    "&amp;",
    "<i>",
    "[x](y)",
    "![i](f.png)",
    "- ",
    "1. ",
    "> ",
    "# ",
    "---",
    "|",
    "\t",
    "\ue0000\ue001",
]
BLOCKS = [
    "```\n{}\n```",
    "```py\n{}\n\n{}\n```",
    "$$\n{}\n$$",
    "$${}$$",
    "| {} | {} |\n|---|:-:|\n| {} | {} |",
    "{}\n{}",
    "{}",
    "{}",
]


def _mixtures(seed: int, n: int):
    rng = random.Random(seed)
    for _ in range(n):
        parts = []
        for _ in range(rng.randint(1, 4)):
            block = rng.choice(BLOCKS)
            fill = ["".join(rng.choice(PIECES) for _ in range(rng.randint(1, 6))) for _ in range(block.count("{}"))]
            parts.append(block.format(*fill))
        yield rng.choice(["\n\n", "\n"]).join(parts) + rng.choice(["", "\n"])


def test_random_mixtures_render_like_markdown_it_and_sanitize_like_nh3():
    taken = 0
    for i, text in enumerate(_mixtures(seed=16, n=3000)):
        inline = i % 3 == 0
        html = _fast(text, inline)
        if html is None:
            continue
        taken += 1
        assert html == SLOW.render(text, inline=inline), text
        sanitized = sanitized_fast_html(html)
        if sanitized is not None:
            assert sanitized == clean_html(CLEANER, html).strip(), text
    assert taken > 600  # the mixtures exercise the fast path, not only the fallback


def test_images_call_the_hook_in_order_as_on_markdown_its_path():
    def env(calls: list[str]) -> dict:
        def on_image(src: str) -> str | None:  # keep one src, leave one out (""), rename the rest
            calls.append(src)
            return None if "keep" in src else "" if "drop" in src else f"m-{src}"

        return {"on_image": on_image}

    texts = [
        "a ![x](keep.png) b ![y](drop.png) c ![z](fig.png)",
        "| ![h](fig.png) | k |\n|---|---|\n| ![c](drop.png) | ![d](keep.png) |\n\n![e](x/y.png)",
        "{{c1::![x](fig.png) answer::![hint](keep.png)}} and ![y](drop.png)",
    ]
    for text in texts:
        fast_calls: list[str] = []
        slow_calls: list[str] = []
        if text.startswith("{{"):
            fast = MarkdownRenderer().render_cloze(text, env(fast_calls))
            slow = SLOW.render_cloze(text, env(slow_calls))
        else:
            assert _fast(text, images=[]) is not None
            fast = MarkdownRenderer().render(text, env(fast_calls))
            slow = SLOW.render(text, env(slow_calls))
        assert fast == slow and fast_calls == slow_calls and fast_calls, text


@pytest.mark.parametrize(
    "text",
    [
        "In the circuits deck, feature $f_{1}$ is read by {{c1::head 3::which head?}} and written to {{c2::$d_{1}$}}.",
        "`{{c1::in code}}` and $x = {{c2::y}}$ and {{c3::\\frac{a}{b} }}",
        "```\n{{c1::fenced}}\n```\n\n| {{c2::cell}} | b |\n|---|---|\n| c | d |",
    ],
)
def test_cloze_fields_render_like_markdown_it(text):
    assert MarkdownRenderer().render_cloze(text) == SLOW.render_cloze(text)


def test_sanitized_fast_html_is_nh3s_result_for_every_character():
    """Text the fast path writes holds any character but NUL, CR and NBSP (declined): nh3 keeps
    each one as it is, and only writes ``&quot;`` back as ``"``."""
    for cp in [*range(1, 0x3000), *range(0xE000, 0x10000, 7), *range(0x1F600, 0x1F650)]:
        ch = chr(cp)
        if ch in "\r\u00a0":
            continue
        html = render_block(f"a{ch}b")
        if html is None:
            continue
        sanitized = sanitized_fast_html(html)
        assert sanitized is not None and sanitized == clean_html(CLEANER, html).strip(), hex(cp)


@pytest.mark.parametrize(
    "html",
    [
        '<p onclick="x">a</p>',
        "<script>x</script>",
        '<img src="a.png">',
        '<a href="x">a</a>',
        "<p",
        "<em >a</em>",
        "<p>a & b</p>",
        "<p>&nbsp;</p>",
        "<p>a > b</p>",
        "<p>a\rb</p>",
    ],
)
def test_sanitized_fast_html_refuses_any_other_tag_or_text(html):
    assert sanitized_fast_html(html) is None


# --------------------------------------------------------------------------- whole export

RICH = r"""
id: rich
name: Rich *deck*
description: A deck with `code`, $m$ and a [link](https://example.com).
cards:
  - id: r-table
    front: What is in the table of $W_{OV}$?
    back: |
      | head | score |
      |------|------:|
      | 1.2 | 0.5 |

      ![diagram](fig.png)
  - id: r-image-only
    front: "![diagram](fig.png)"
    back: text
  - id: r-remote
    front: "Look ![x](https://example.com/a.png) here"
    back: "- a list\n- item"
  - id: r-style
    front: 'Table <td style="color: red">x</td>'
    back: "quote: \"x\" > y"
  - id: r-same-1
    front: The same question
    back: The same answer
  - id: r-same-2
    front: The same question
    back: The same answer
  - id: r-cloze
    type: cloze
    front: "A {{c1::![f](fig.png) head::which?}} in `code {{c2::x}}`"
    back: "*extra*"
"""
PNG = bytes.fromhex(
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def test_export_with_fast_path_and_cache_is_the_markdown_it_export(tmp_path, monkeypatch):
    decks = make_decks(tmp_path, a=DECK_A, b=DECK_B, rich=RICH)
    (decks / "fig.png").write_bytes(PNG)
    shipped = Path(__file__).resolve().parents[2] / "decks"
    sets = [load_ok(decks), load_ok(shipped)]

    def export(tag: str):
        out = []
        for i, ds in enumerate(sets):
            path = tmp_path / f"{tag}-{i}.apkg"
            report = export_apkg(ds, path, now=T0)
            pkg = read_apkg(path)
            files = {pkg.media[k]: v for k, v in pkg.files.items()}
            out.append((pkg.notes, pkg.cards, pkg.models, pkg.decks, files, report.warnings, report.skipped))
        return out

    fast = export("fast")
    monkeypatch.setattr(MarkdownRenderer, "render_fast", lambda self, *a, **k: None)  # markdown-it only
    slow = export("slow")
    assert fast == slow
    notes = {n["fields"][-1]: n for n in fast[0][0]}
    assert notes["r-same-1"]["flds"].split("\x1f")[:2] == notes["r-same-2"]["flds"].split("\x1f")[:2]
    assert fast[0][5]  # the rich deck's warnings are part of what is compared
