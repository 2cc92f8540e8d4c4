"""A seeded, isolated global torch RNG for the length of a block (importing this does not import torch).

with seeded(ctx.seed):
    model = build_and_train()      # global RNG draws are reproducible; the caller's RNG state is restored
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager


@contextmanager
def seeded(seed: int) -> Iterator[None]:
    """Fork the global CPU torch RNG, seed it with ``seed``, and restore the previous state on exit."""
    import torch

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        yield
