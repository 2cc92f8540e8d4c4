"""Generated deck collections the benchmarks share: ``n_cards`` cards in files of ``CARDS_PER_FILE``,
one topic per file. Each benchmark says what one card looks like (``card_lines``)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

CARDS_PER_FILE = 1000
TOPICS = [
    "circuits",
    "superposition",
    "sae",
    "probing",
    "attribution",
    "steering",
    "induction",
    "features",
    "polysemanticity",
    "grokking",
]

CardLines = Callable[[str, int, str], list[str]]
"""(card id, card index in its file, topic) -> the card's YAML lines."""


def make_collection(root: Path, n_cards: int, card_lines: CardLines) -> Path:
    """``root/decks`` holding ``gen-NN.yaml`` files with ``n_cards`` cards in all (ids ``gNN-IIII``)."""
    decks = root / "decks"
    decks.mkdir(parents=True, exist_ok=True)
    n_files = max(1, (n_cards + CARDS_PER_FILE - 1) // CARDS_PER_FILE)
    made = 0
    for f in range(n_files):
        topic = TOPICS[f % len(TOPICS)]
        lines = [f"id: gen-{f:02d}", f"name: Generated {topic} {f}", f"tags: [{topic}]", "cards:"]
        for i in range(min(CARDS_PER_FILE, n_cards - made)):
            lines += card_lines(f"g{f:02d}-{i:04d}", i, topic)
            made += 1
        (decks / f"gen-{f:02d}.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return decks
