"""Toy models of superposition (Elhage et al. 2022, arXiv 2209.10652), trained as a batch of instances.

``n`` sparse features squeezed into ``m`` hidden dimensions and read back out: ``h = W x``,
``x' = ReLU(W^T h + b)``, loss weighted by a per-feature importance ``decay**i``. One instance per
(feature sparsity, restart), all trained together in one tensor as the paper does; the restart with
the lowest held-out loss is kept per sparsity.

    run = train_toy_models(ctx, n=5, m=2, sparsities=[0.0, 0.9], restarts=4, steps=2500, batch=1024,
                           lr=1e-2, importance_decay=0.9, eval_samples=20000)
    run.W      # [n_sparsities, m, n] kept restart per sparsity
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from mi_prep.lab.api import LabContext


@dataclass
class ToyModels:
    W: Any
    """``[n_sparsities, m, n]`` (CPU): the kept restart's weights per sparsity."""
    b: Any
    """``[n_sparsities, n]`` (CPU): its biases."""
    eval_loss: list[float]
    """Held-out loss of the kept restart per sparsity."""
    best: list[int]
    """Index of the kept instance (``k * restarts + r``) per sparsity."""
    curves: list[list[float]]
    """Training loss per instance at the logged steps."""
    curve_x: list[float]
    """The logged steps."""


def train_toy_models(
    ctx: LabContext,
    *,
    n: int,
    m: int,
    sparsities: list[float],
    restarts: int,
    steps: int,
    batch: int,
    lr: float,
    importance_decay: float,
    eval_samples: int,
    log_every: int = 50,
) -> ToyModels:
    """Train ``len(sparsities) * restarts`` toy models on ``ctx.device`` (seeded by ``ctx.seed``, the
    global torch RNG untouched) and keep the best restart per sparsity on a shared held-out batch."""
    import torch

    n_s, R = len(sparsities), restarts
    I = n_s * R  # instance i = k * R + r
    dev = torch.device(ctx.device)
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(ctx.seed)
        g = torch.Generator(device="cpu").manual_seed(ctx.seed)
        S = torch.tensor(sparsities).repeat_interleave(R).to(dev)  # [I]
        prob = (1.0 - S)[None, :, None]
        importance = (float(importance_decay) ** torch.arange(n, dtype=torch.float32)).to(dev)
        W = torch.randn(I, m, n, generator=g) * math.sqrt(2.0 / (m + n))  # xavier normal
        W = torch.nn.Parameter(W.to(dev))
        b = torch.nn.Parameter(torch.zeros(I, n, device=dev))
        opt = torch.optim.AdamW([W, b], lr=lr, weight_decay=0.0)

        def sample(bs: int, gen: torch.Generator) -> torch.Tensor:
            x = torch.rand(bs, I, n, generator=gen).to(dev)
            on = torch.rand(bs, I, n, generator=gen).to(dev)
            return x * (on < prob)

        def forward(x: torch.Tensor) -> torch.Tensor:
            h = torch.einsum("imn,bin->bim", W, x)
            return torch.relu(torch.einsum("imn,bim->bin", W, h) + b)

        log_every = max(1, log_every)
        curves: list[list[float]] = [[] for _ in range(I)]
        curve_x: list[float] = []
        for step in range(steps):
            if step % 10 == 0:
                ctx.check_cancelled()
            x = sample(batch, g)
            per_inst = (importance * (x - forward(x)) ** 2).mean(dim=(0, 2))  # [I]
            loss = per_inst.sum()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if step % log_every == 0 or step == steps - 1:
                vals = per_inst.detach().cpu().tolist()
                for i in range(I):
                    curves[i].append(vals[i])
                curve_x.append(float(step))
                ctx.progress(step + 1, steps, loss=float(loss.item()) / I, message="training toy models")
        ctx.progress(steps, steps, message="training done")

        # pick the best restart per sparsity on a shared held-out batch (common random numbers)
        ge = torch.Generator(device="cpu").manual_seed(ctx.seed + 1)
        with torch.no_grad():
            val = torch.rand(eval_samples, n_s, n, generator=ge)
            on = torch.rand(eval_samples, n_s, n, generator=ge)
            pr = (1.0 - torch.tensor(sparsities))[None, :, None]
            xe = (val * (on < pr)).repeat_interleave(R, dim=1).to(dev)
            eval_loss = (importance * (xe - forward(xe)) ** 2).mean(dim=(0, 2)).cpu()
            best = [k * R + int(torch.argmin(eval_loss[k * R : (k + 1) * R])) for k in range(n_s)]
            Wb = W.detach().cpu()[best]  # [n_s, m, n]
            bb = b.detach().cpu()[best]
    ctx.check_cancelled()
    return ToyModels(
        W=Wb, b=bb, eval_loss=[float(eval_loss[i]) for i in best], best=best, curves=curves, curve_x=curve_x
    )
