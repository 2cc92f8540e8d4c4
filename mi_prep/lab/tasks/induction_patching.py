"""Clean / corrupted prompt pairs for the patching labs, with two corruptions of the induction circuit.

Clean = BOS, P random distinct tokens, then the first j+1 of them again: the prompt ends on A (prefix
token j), whose earlier copy is followed by B, so an induction model predicts B. Two corruptions, each
changing one token of the earlier copy:

* **value side** (``B -> D``): the earlier B becomes D, a token not in the prompt. The induction head
  still finds the position after the earlier A, but copies D: what is *copied* changes. The previous-token
  head moves A (unchanged) into that position, so it has nothing to restore.
* **key side** (``A -> A'``): the earlier A becomes A', another token not in the prompt. Nothing in the
  prompt is followed by a copy of A any more, so the induction head does not know *where* to look. What the
  previous-token head writes into B's position (its "my previous token is A" signal) is what differs.

The metric of both is logit(B) - logit(D) at the last position.

    pairs = induction_patching_pairs(32, generator, d_vocab=48, period=10, query_index=5)
    pairs.clean, pairs.corrupt["value"], pairs.corrupt["key"], pairs.answer, pairs.wrong, pairs.info
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pydantic import model_validator

from mi_prep.lab.tasks.induction import PatchingSpec

if TYPE_CHECKING:  # pragma: no cover
    import torch

CORRUPTIONS: dict[str, str] = {
    "value": "value side: the earlier B -> D (what the induction head copies)",
    "key": "key side: the earlier A -> A' (where the induction head looks)",
}


class TwoCorruptionSpec(PatchingSpec):
    """:class:`PatchingSpec` with room for both corruptions' replacement tokens (D and A')."""

    @model_validator(mode="after")
    def _room_for_a_prime(self) -> TwoCorruptionSpec:
        if self.period > self.d_vocab - 3:
            raise ValueError(f"period ({self.period}) needs D and A' too: at most d_vocab - 3 ({self.d_vocab - 3})")
        return self


def seeded_query_index(query_index: int, period: int, seed: int) -> int:
    """The prefix token the prompts end on: ``query_index`` moved by the seed, so each seed corrupts a
    different position (``(query_index + 2 * seed) mod (period - 1)``; seed 0 keeps ``query_index``)."""
    return (int(query_index) + 2 * int(seed)) % (int(period) - 1)


@dataclass
class PatchingPairs:
    clean: torch.Tensor
    """[n, T] token ids."""
    corrupt: dict[str, torch.Tensor]
    """``{"value": [n, T], "key": [n, T]}``: each differs from ``clean`` at one position."""
    answer: torch.Tensor
    """[n]: B, the clean run's next token."""
    wrong: torch.Tensor
    """[n]: D, the value-side replacement (never in the clean prompt)."""
    info: dict[str, Any]
    """``a_pos``, ``b_pos``, ``end``, ``query_index`` and the token ``labels`` for plots."""


def induction_patching_pairs(
    n: int, generator: torch.Generator, *, d_vocab: int, period: int, query_index: int
) -> PatchingPairs:
    """``n`` prompt pairs of ``1 + period + query_index + 1`` tokens (needs ``period + 2 <= d_vocab - 1``:
    the prefix plus D and A', all distinct, none of them BOS)."""
    import torch

    P, j = int(period), int(query_index)
    if not 0 <= j < P - 1:
        raise ValueError(f"query_index ({j}) must be in [0, period - 1) = [0, {P - 1})")
    if P + 2 > d_vocab - 1:
        raise ValueError(f"period ({P}) needs two more tokens (D and A'): at most d_vocab - 3 ({d_vocab - 3})")
    perm = torch.rand(n, d_vocab - 1, generator=generator).argsort(-1) + 1
    prefix, d_tok, a_alt = perm[:, :P], perm[:, P], perm[:, P + 1]
    bos = torch.zeros(n, 1, dtype=torch.long)
    clean = torch.cat([bos, prefix, prefix[:, : j + 1]], 1)
    a_pos, b_pos = 1 + j, 2 + j
    value, key = clean.clone(), clean.clone()
    value[:, b_pos] = d_tok
    key[:, a_pos] = a_alt
    labels = ["BOS"] + [f"t{i}" for i in range(1, P + 1)] + [f"t{i}'" for i in range(1, j + 2)]
    labels[a_pos] = "A*"
    labels[b_pos] = "B*"
    labels[-1] = "A (end)"
    info = {"a_pos": a_pos, "b_pos": b_pos, "end": clean.shape[1] - 1, "query_index": j, "labels": labels}
    return PatchingPairs(clean, {"value": value, "key": key}, prefix[:, j + 1], d_tok, info)
