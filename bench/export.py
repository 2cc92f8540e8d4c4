"""Anki export benchmark: ``export_apkg`` speed on a generated 10,000-card collection, and its
scaling in cards and in deck files, all measured side by side in one run.

Each table is the median of ``--repeat`` runs after one warm-up, the sizes interleaved (their order
alternating) so drift hits all alike:

1. cards: ``export_apkg`` of the generated collection (``--cards``, default 10,000, in files of
   1,000) and of the same kind of collection with half as many cards, next to ``load_decks`` of
   the full one (parse and validate every YAML file: what every command does). The collection
   mixes the five card types (basic, reverse, cloze, choice, explain) with inline and display
   math, code spans and fenced code, tables and an image every 50 cards, so every rendering path
   is timed.
2. decks: ``export_apkg`` of N and 2N deck files of two cards each (``--decks``, default 1,000):
   the cost per deck, not per card (genanki's own ``Package.write_to_db`` rewrote the whole decks
   JSON per deck: 1,000 decks 3-4 s, 2,000 decks 10-20 s, a ratio of 4-5).

Then the summary: cards/s of the full export and its ratio to the target (``--target``, default
10,000 cards/s; >= 1.0 x meets it), export of 2N / N cards and of 2N / N deck files (linear = 2.0 x,
quadratic = 4.0 x), and export time / load time.

    python bench/export.py [--cards 10000] [--decks 1000] [--repeat 3] [--target 10000] [--only cards|decks]
"""

from __future__ import annotations

import argparse
import os
import shutil
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from functools import partial
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


def _interleaved(runs: dict[str, Callable[[], object]], repeat: int) -> dict[str, list[float]]:
    """Seconds of each run, ``repeat`` times after one warm-up, the order alternating."""
    times: dict[str, list[float]] = {name: [] for name in runs}
    order = list(runs)
    for r in range(repeat + 1):
        for name in order if r % 2 == 0 else order[::-1]:
            start = time.perf_counter()
            runs[name]()
            if r:
                times[name].append(time.perf_counter() - start)
    return times


def _row(label: str, values: list[float], count: int, unit: str) -> str:
    med = statistics.median(values)
    return f"  {label:<24}{med:>9.2f}s{min(values):>9.2f}s{max(values):>9.2f}s{count / med:>12,.0f} {unit}"


HEADER = f"  {'':<24}{'median':>10}{'min':>10}{'max':>10}{'per second':>16}"


def bench_cards(root: Path, n_cards: int, repeat: int) -> tuple[float, float, float]:
    """Export N/2 and N cards (and load N) side by side; returns (export N, export N/2, load N) medians."""
    now = datetime(2026, 7, 1, tzinfo=UTC)
    half = n_cards // 2
    decks = {n_cards: make_collection(root / "full", n_cards), half: make_collection(root / "half", half)}
    sets = {}
    for n, path in decks.items():
        sets[n] = load_decks(path)
        if sets[n].errors:
            raise SystemExit("generated decks do not validate:\n" + "\n".join(map(str, sets[n].errors[:5])))
    reports = {}

    def export(n: int) -> None:
        reports[n] = export_apkg(sets[n], root / f"cards-{n}.apkg", now=now)

    times = _interleaved(
        {"half": lambda: export(half), "full": lambda: export(n_cards), "load": lambda: load_decks(decks[n_cards])},
        repeat,
    )
    report = reports[n_cards]
    print(
        f"cards: {n_cards:,} cards in {report.decks} deck files ({report.notes:,} notes -> {report.cards:,} Anki "
        f"cards, {report.media} media files, package {report.size / 1024 / 1024:.1f} MiB) and {half:,} cards"
    )
    print(HEADER)
    print(_row(f"load {n_cards:,} cards", times["load"], n_cards, "cards"))
    print(_row(f"export {half:,} cards", times["half"], half, "cards"))
    print(_row(f"export {n_cards:,} cards", times["full"], n_cards, "cards"))
    med = {name: statistics.median(values) for name, values in times.items()}
    return med["full"], med["half"], med["load"]


def bench_decks(root: Path, n_small: int, repeat: int) -> tuple[float, float]:
    """Export N and 2N deck files side by side; returns their medians."""
    now = datetime(2026, 7, 1, tzinfo=UTC)
    sizes = (n_small, 2 * n_small)
    sets = {}
    for n in sizes:
        ds = load_decks(make_many_decks(root, n))
        if ds.errors:
            raise SystemExit("generated decks do not validate:\n" + "\n".join(map(str, ds.errors[:5])))
        sets[n] = ds
    reports = {}

    def export(n: int) -> None:
        reports[n] = export_apkg(sets[n], root / f"many-{n}.apkg", now=now)

    times = _interleaved({str(n): partial(export, n) for n in sizes}, repeat)
    print(
        f"decks: {n_small:,} and {2 * n_small:,} deck files of 2 cards "
        f"({reports[sizes[0]].notes:,} and {reports[sizes[1]].notes:,} notes)"
    )
    print(HEADER)
    for n in sizes:
        print(_row(f"export {n:,} deck files", times[str(n)], n, "decks"))
    return statistics.median(times[str(sizes[0])]), statistics.median(times[str(sizes[1])])


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cards", type=int, default=10_000)
    p.add_argument("--decks", type=int, default=1_000, help="deck files in the smaller of the two scaling runs")
    p.add_argument("--repeat", type=int, default=3)
    p.add_argument("--target", type=float, default=10_000, help="cards/s the full export should reach")
    p.add_argument("--only", choices=["cards", "decks"], default=None)
    args = p.parse_args(argv)

    print(
        f"mi-prep Anki export benchmark: median of {args.repeat} runs after 1 warm-up, sizes interleaved; "
        f"{sys.platform}, Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
    )
    root = Path(tempfile.mkdtemp(prefix="mi-prep-bench-export-"))
    summary = []
    try:
        if args.only != "decks":
            full, half, load = bench_cards(root, args.cards, args.repeat)
            rate = args.cards / full
            summary += [
                f"export {args.cards:,} cards: {full:.2f} s = {rate:,.0f} cards/s = {rate / args.target:.2f} x "
                f"the {args.target:,.0f} cards/s target ({'met' if rate >= args.target else 'NOT met'})",
                f"cards: export {args.cards:,} / {args.cards // 2:,} cards = {full / half:.2f} x "
                f"({full:.2f} s / {half:.2f} s; linear = 2.0 x, quadratic = 4.0 x)",
            ]
            print()
        if args.only != "cards":
            small, large = bench_decks(root, args.decks, args.repeat)
            summary.append(
                f"decks: export {2 * args.decks:,} / {args.decks:,} deck files = {large / small:.2f} x "
                f"({large:.2f} s / {small:.2f} s; linear = 2.0 x, quadratic = 4.0 x)"
            )
            print()
        if args.only != "decks":
            summary.append(f"export / load of {args.cards:,} cards = {full / load:.2f} x ({full:.2f} s / {load:.2f} s)")
        print("summary")
        for line in summary:
            print(f"  {line}")
        return 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
