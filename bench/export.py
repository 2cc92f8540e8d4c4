"""Anki export benchmark: ``export_apkg`` on a generated 10,000-card collection, next to loading it.

Measured side by side in one process, ``--repeat`` times (median shown, after one warm-up):

* ``load``    ``load_decks(dir)``: parse and validate every YAML deck file (what every command does);
* ``export``  ``export_apkg(deckset, out)``: Markdown + math + cloze rendering, nh3 sanitizing,
              genanki notes, the SQLite collection, the zip (with one image per deck file).

The collection mixes the five card types (basic, reverse, cloze, choice, explain) with inline and
display math, code spans and fenced code, tables and an image, so every rendering path is timed.
It prints export time as a ratio to load time.

Then the deck-count scaling, also side by side in this run: ``export_apkg`` of N and of 2N deck
files (two cards each, N = ``--decks``, default 1,000), interleaved, median of ``--repeat``. Linear
export gives a ratio near 2 (genanki's own ``Package.write_to_db`` rewrote the whole decks JSON per
deck: 1,000 decks 3-4 s, 2,000 decks 10-20 s, a ratio of 4-5).

    python bench/export.py [--cards 10000] [--decks 1000] [--repeat 3] [--only cards|decks]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import generated_decks
from generated_decks import TOPICS

from mi_prep.core.anki import export_apkg
from mi_prep.core.deck import load_decks

TYPES = ["basic", "reverse", "cloze", "choice", "explain"]
PNG = bytes.fromhex(  # a 1x1 PNG
    "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c489"
    "0000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082"
)


def card_lines(cid: str, kind: str, i: int, topic: str) -> list[str]:
    lines = [f"  - id: {cid}", f"    type: {kind}"]
    if kind == "cloze":
        lines += [
            f"    front: 'In the {topic} deck, feature $f_{{{i}}}$ is read by {{{{c1::head {i % 12}::which head?}}}}"
            f" and written to {{{{c2::$d_{{{i}}}$}}}}.'"
        ]
    else:
        lines += [f"    front: What does feature $f_{{{i}}}$ of layer {i % 12} in the *{topic}* deck represent?"]
    if kind in ("basic", "reverse", "explain", "cloze"):
        lines += [
            "    back: |",
            f"      A direction $d_{{{i}}}$ in the residual stream; see `card {cid}` and",
            "",
            "      $$",
            f"      \\|W_{{OV}} x_{{{i}}}\\|_2^2 = \\sum_j w_j^2",
            "      $$",
            "",
            "      ```python",
            f"      acts = cache['blocks.{i % 12}.hook_resid_post'][:, -1]",
            "      ```",
            "",
            "      | head | score |",
            "      |------|------:|",
            f"      | {i % 12}.{i % 8} | 0.{i % 97:02d} |",
        ]
        if i % 50 == 0:
            lines += ["", "      ![diagram](fig.png)"]
    if kind == "choice":
        lines += [
            "    options:",
            f"      - {{text: 'Q-composition of head {i % 12}', why: 'The queries do not read the shifted token.'}}",
            f"      - {{text: 'K-composition of head {i % 12}', correct: true, why: 'Keys carry $t_{{i-1}}$.'}}",
            "      - {text: V-composition}",
        ]
    if kind == "explain":
        lines += [
            "    key_points:",
            "      - Previous-token head in an earlier layer",
            "      - {text: K-composition via the keys, terms: [k-composition, key]}",
            "      - Copies the token that followed the earlier occurrence",
        ]
    lines += [f"    source: generated benchmark card {i}", f"    tags: [t{i % 20}]", f"    difficulty: {1 + i % 3}"]
    return lines


def make_collection(root: Path, n_cards: int) -> Path:
    decks = generated_decks.make_collection(
        root, n_cards, lambda cid, i, topic: card_lines(cid, TYPES[i % len(TYPES)], i, topic)
    )
    (decks / "fig.png").write_bytes(PNG)
    return decks


def make_many_decks(root: Path, n_decks: int, cards_per_deck: int = 2) -> Path:
    """``n_decks`` small deck files: the export's cost per deck, not per card, dominates."""
    decks = root / f"decks-{n_decks}"
    decks.mkdir(parents=True)
    (decks / "fig.png").write_bytes(PNG)
    for d in range(n_decks):
        topic = TOPICS[d % len(TOPICS)]
        lines = [f"id: many-{d:05d}", f"name: Many {topic} {d}", f"tags: [{topic}]", "cards:"]
        for i in range(cards_per_deck):
            lines += card_lines(f"m{d:05d}-{i}", TYPES[(d + i) % len(TYPES)], d * cards_per_deck + i, topic)
        (decks / f"many-{d:05d}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return decks


def bench_decks(root: Path, n_small: int, repeat: int) -> None:
    """Export N and 2N deck files side by side (interleaved, after one warm-up); print the ratio."""
    now = datetime(2026, 7, 1, tzinfo=UTC)
    sizes = (n_small, 2 * n_small)
    sets = {}
    for n in sizes:
        ds = load_decks(make_many_decks(root, n))
        if ds.errors:
            raise SystemExit("generated decks do not validate:\n" + "\n".join(map(str, ds.errors[:5])))
        sets[n] = ds
    times: dict[int, list[float]] = {n: [] for n in sizes}
    reports = {}
    for r in range(repeat + 1):
        for n in sizes if r % 2 == 0 else sizes[::-1]:  # alternate the order against drift
            start = time.perf_counter()
            reports[n] = export_apkg(sets[n], root / f"many-{n}.apkg", now=now)
            if r:
                times[n].append(time.perf_counter() - start)
    small, large = (statistics.median(times[n]) for n in sizes)
    print(
        f"deck-count scaling: {n_small:,} vs {2 * n_small:,} deck files ({reports[sizes[0]].notes:,} vs "
        f"{reports[sizes[1]].notes:,} notes), median of {repeat} runs (after 1 warm-up)"
    )
    print(f"{'decks':>8}{'median':>10}{'min':>10}{'max':>10}{'decks/s':>12}")
    for n in sizes:
        med = statistics.median(times[n])
        print(f"{n:>8,}{med:>9.2f}s{min(times[n]):>9.2f}s{max(times[n]):>9.2f}s{n / med:>12,.0f}")
    print(
        f"export {2 * n_small:,} decks / {n_small:,} decks = {large / small:.2f} x "
        f"({large:.2f} s / {small:.2f} s; linear = 2.0 x, quadratic = 4.0 x)"
    )


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cards", type=int, default=10_000)
    p.add_argument("--decks", type=int, default=1_000, help="deck files in the smaller of the two scaling runs")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--only", choices=["cards", "decks"], default=None)
    args = p.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="mi-prep-bench-export-"))
    try:
        if args.only != "cards":
            bench_decks(root, args.decks, args.repeat)
            if args.only == "decks":
                return 0
            print()
        decks = make_collection(root, args.cards)
        now = datetime(2026, 7, 1, tzinfo=UTC)
        loads: list[float] = []
        exports: list[float] = []
        report = None
        # interleave load and export so drift (cache, CPU frequency) hits both alike
        for r in range(args.repeat + 1):
            start = time.perf_counter()
            ds = load_decks(decks)
            t_load = time.perf_counter() - start
            if ds.errors:
                raise SystemExit("generated decks do not validate:\n" + "\n".join(map(str, ds.errors[:5])))
            start = time.perf_counter()
            report = export_apkg(ds, root / "out.apkg", now=now)
            t_export = time.perf_counter() - start
            if r == 0:
                continue  # warm-up
            loads.append(t_load)
            exports.append(t_export)
        assert report is not None
        n_yaml = sum(1 for _ in ds.cards())
        load, export = statistics.median(loads), statistics.median(exports)
        print(
            f"mi-prep Anki export benchmark: {n_yaml:,} cards in {report.decks} deck files "
            f"({report.notes:,} notes -> {report.cards:,} Anki cards, {report.media} media files), "
            f"median of {args.repeat} runs (after 1 warm-up), {sys.platform}, Python {sys.version.split()[0]}"
        )
        print(f"{'measure':<10}{'median':>10}{'min':>10}{'max':>10}{'cards/s':>12}")
        for name, values in (("load", loads), ("export", exports)):
            med = statistics.median(values)
            print(f"{name:<10}{med:>9.2f}s{min(values):>9.2f}s{max(values):>9.2f}s{n_yaml / med:>12,.0f}")
        print(f"package: {report.size / 1024 / 1024:.1f} MiB")
        print(
            f"export {n_yaml:,} cards: {export:.2f} s ({n_yaml / export:,.0f} cards/s); "
            f"load: {load:.2f} s; export/load = {export / load:.1f} x"
        )
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
