"""Sparse autoencoder variants, their training loop and their scores against known features.

One base class and one subclass per variant (in the spirit of SAELens' ``saes/``), defined on first
use because they subclass ``torch.nn.Module`` (importing this module does not import torch):

* ReLU + L1 (Bricken et al. 2023): ``f = ReLU(W_enc (x - b_dec) + b_enc)``, loss = MSE + lambda * sum f.
* TopK (Gao et al. 2024, arXiv 2406.04093): keep the k largest pre-activations; no sparsity penalty;
  optional AuxK loss (reconstruct the residual with the top ``k_aux`` dead latents).
* JumpReLU (Rajamanoharan et al. 2024, arXiv 2407.14435): ``f = z * H(z - theta)`` with a learned
  per-latent threshold theta; L0 penalty trained through straight-through estimators whose
  pseudo-derivative w.r.t. theta uses a rectangle kernel of width epsilon.

    sae = make_sae("topk", d, n_latents, generator=g, b_dec_init=x0.mean(0), k=3)
    curve, n_resampled = train_sae(sae, sample, g_data, steps=600, batch=512, lr=3e-3, dead_window=100, ctx=ctx)
    scores = evaluate_sae(sae, T, x_eval, match_cos=0.9)      # l0, mse, fvu, dead, gain, mmcs, recovered
    describe_thresholds(sae.theta)                              # JumpReLU: "learned thresholds: mean ..., range ..."
    table = score_table("SAEs", [("TopK", 128, scores)], match_cos=0.9, true_l0=1.9, eval_samples=8192,
                        names=("l0", "mse", "fvu"), after="sae-l0")
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from mi_prep.lab.api import LabContext, Table

SCORE_NAMES = ("l0", "mse", "fvu", "dead", "gain", "mmcs", "recovered")
"""The scores :func:`evaluate_sae` returns, in table order."""

_TORCH_CLASSES: dict[str, Any] = {}


def _classes() -> dict[str, Any]:
    """Define the SAE classes on first use (they subclass torch.nn.Module)."""
    if _TORCH_CLASSES:
        return _TORCH_CLASSES
    import torch
    from torch import nn

    class SAE(nn.Module):
        """Base: tied-at-init encoder/decoder, unit-norm decoder rows, b_dec subtracted before encoding."""

        def __init__(self, d: int, n_latents: int, generator: torch.Generator, b_dec_init: torch.Tensor):
            super().__init__()
            w = torch.randn(n_latents, d, generator=generator)
            w = w / w.norm(dim=1, keepdim=True)
            self.W_dec = nn.Parameter(w.clone())
            self.W_enc = nn.Parameter(w.T.clone())
            self.b_enc = nn.Parameter(torch.zeros(n_latents))
            self.b_dec = nn.Parameter(b_dec_init.clone())

        def pre(self, x: torch.Tensor) -> torch.Tensor:
            return (x - self.b_dec) @ self.W_enc + self.b_enc

        def activate(self, z: torch.Tensor) -> torch.Tensor:  # pragma: no cover - abstract
            raise NotImplementedError

        def encode(self, x: torch.Tensor) -> torch.Tensor:
            return self.activate(self.pre(x))

        def decode(self, f: torch.Tensor) -> torch.Tensor:
            return f @ self.W_dec + self.b_dec

        def sparsity_loss(self, z: torch.Tensor, f: torch.Tensor) -> torch.Tensor:
            return z.new_zeros(())

        def aux_loss(self, x, z, f, x_hat, dead_mask) -> torch.Tensor:
            return z.new_zeros(())

        def loss(self, x: torch.Tensor, dead_mask: torch.Tensor) -> tuple[torch.Tensor, dict[str, float], torch.Tensor]:
            z = self.pre(x)
            f = self.activate(z)
            x_hat = self.decode(f)
            mse = ((x - x_hat) ** 2).sum(-1).mean()
            sp = self.sparsity_loss(z, f)
            aux = self.aux_loss(x, z, f, x_hat, dead_mask)
            return (
                mse + sp + aux,
                {"mse": float(mse.detach()), "sparsity": float(sp.detach()), "aux": float(aux.detach())},
                f,
            )

        @torch.no_grad()
        def normalise_decoder(self) -> None:
            self.W_dec.div_(self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8))

    class ReluL1SAE(SAE):
        def __init__(self, *a, l1: float, **k):
            super().__init__(*a, **k)
            self.l1 = l1

        def activate(self, z):
            return torch.relu(z)

        def sparsity_loss(self, z, f):
            # decoder rows are unit norm, so this is the usual sum_i f_i ||d_i||
            return self.l1 * f.sum(-1).mean()

    class TopKSAE(SAE):
        def __init__(self, *a, k: int, aux_k: int = 0, aux_coef: float = 1 / 32, **kw):
            super().__init__(*a, **kw)
            self.k, self.aux_k, self.aux_coef = k, aux_k, aux_coef

        def activate(self, z):
            v, idx = z.topk(self.k, dim=-1)
            return torch.zeros_like(z).scatter(-1, idx, torch.relu(v))

        def aux_loss(self, x, z, f, x_hat, dead_mask):
            if not self.aux_k or not bool(dead_mask.any()):
                return z.new_zeros(())
            ka = min(self.aux_k, int(dead_mask.sum()))
            v, idx = z.masked_fill(~dead_mask, float("-inf")).topk(ka, dim=-1)
            fa = torch.zeros_like(z).scatter(-1, idx, torch.relu(v))
            err = (x - x_hat).detach()
            return self.aux_coef * ((err - fa @ self.W_dec) ** 2).sum(-1).mean()

    class _Jump(torch.autograd.Function):
        """z * H(z - theta); d/dtheta uses a rectangle kernel of width eps (Rajamanoharan et al. 2024)."""

        @staticmethod
        def forward(ctx, z, theta, eps):
            ctx.save_for_backward(z, theta)
            ctx.eps = eps
            return z * (z > theta).to(z.dtype)

        @staticmethod
        def backward(ctx, g):
            z, theta = ctx.saved_tensors
            rect = ((z - theta).abs() < ctx.eps / 2).to(z.dtype)
            return g * (z > theta).to(z.dtype), (g * rect * (-theta / ctx.eps)).sum(0), None

    class _Step(torch.autograd.Function):
        """H(z - theta); no gradient to z, d/dtheta = -(1/eps) * rect((z - theta)/eps)."""

        @staticmethod
        def forward(ctx, z, theta, eps):
            ctx.save_for_backward(z, theta)
            ctx.eps = eps
            return (z > theta).to(z.dtype)

        @staticmethod
        def backward(ctx, g):
            z, theta = ctx.saved_tensors
            rect = ((z - theta).abs() < ctx.eps / 2).to(z.dtype)
            return torch.zeros_like(z), (g * rect * (-1.0 / ctx.eps)).sum(0), None

    class JumpReLUSAE(SAE):
        def __init__(self, *a, l0: float, eps: float, theta_init: float, **k):
            super().__init__(*a, **k)
            self.l0, self.eps = l0, eps
            self.log_theta = nn.Parameter(torch.full((self.b_enc.shape[0],), math.log(theta_init)))

        @property
        def theta(self):
            return self.log_theta.exp()

        def activate(self, z):
            return _Jump.apply(z, self.theta, self.eps)

        def sparsity_loss(self, z, f):
            return self.l0 * _Step.apply(z, self.theta, self.eps).sum(-1).mean()

    _TORCH_CLASSES.update(SAE=SAE, relu=ReluL1SAE, topk=TopKSAE, jumprelu=JumpReLUSAE)
    return _TORCH_CLASSES


def make_sae(arch: str, d: int, n_latents: int, **kwargs: Any):
    """A fresh SAE of variant ``arch`` (``relu``: ``l1``; ``topk``: ``k``, ``aux_k``, ``aux_coef``;
    ``jumprelu``: ``l0``, ``eps``, ``theta_init``), plus ``generator`` and ``b_dec_init``."""
    return _classes()[arch](d, n_latents, **kwargs)


def train_sae(
    sae,
    sample: Callable[[int, Any], Any],
    generator,
    *,
    steps: int,
    batch: int,
    lr: float,
    dead_window: int,
    ctx: LabContext,
    resample_at: Iterable[int] = (),
    log_every: int = 25,
    on_log: Callable[[int, float], None] | None = None,
) -> tuple[list[tuple[float, float]], int]:
    """Adam on ``sample(batch, generator)`` inputs with unit-norm decoder rows (the gradient along each
    row is removed, then rows are renormalised). A latent is dead after ``dead_window`` steps without
    firing (AuxK reads that); at each step in ``resample_at`` dead latents are resampled.

    Returns the MSE curve ``[(step, mse), ...]`` (every ``log_every`` steps and the last) and how many
    latents were resampled. ``on_log(step, loss)`` is called at the logged steps; cancel is checked
    every 10 steps."""
    import torch

    opt = torch.optim.Adam(sae.parameters(), lr=lr)
    since = torch.zeros(sae.b_enc.shape[0])  # steps since each latent last fired
    resample_at = set(int(s) for s in resample_at)
    curve: list[tuple[float, float]] = []
    resampled = 0
    log_every = max(1, log_every)
    for step in range(steps):
        if step % 10 == 0:
            ctx.check_cancelled()
        x = sample(batch, generator)
        loss, parts, f = sae.loss(x, since > dead_window)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        # keep decoder rows unit norm: drop the gradient component along each row, then renormalise
        with torch.no_grad():
            Wd, gd = sae.W_dec, sae.W_dec.grad
            gd -= (gd * Wd).sum(1, keepdim=True) * Wd
        opt.step()
        sae.normalise_decoder()
        with torch.no_grad():
            fired = (f > 0).any(0)
            since[fired] = 0
            since[~fired] += 1
        if step in resample_at:
            resampled += resample_dead(sae, opt, since > dead_window, sample, generator)
            since[:] = 0
        if step % log_every == 0 or step == steps - 1:
            curve.append((float(step), parts["mse"]))
            if on_log is not None:
                on_log(step, float(loss.detach()))
    return curve, resampled


def resample_dead(sae, opt, dead, sample: Callable[[int, Any], Any], g) -> int:
    """Bricken et al. 2023: point dead latents at inputs with high reconstruction loss (probability
    proportional to squared loss), small encoder norm, reset Adam state. Returns how many."""
    import torch

    n_dead = int(dead.sum())
    if n_dead == 0:
        return 0
    with torch.no_grad():
        x = sample(4096, g)
        err = ((x - sae.decode(sae.encode(x))) ** 2).sum(-1)
        idx = torch.multinomial(err**2 + 1e-12, n_dead, replacement=False, generator=g)
        v = x[idx] - sae.b_dec
        v = v / v.norm(dim=1, keepdim=True).clamp_min(1e-8)
        alive = ~dead
        enc_norm = sae.W_enc[:, alive].norm(dim=0).mean() if bool(alive.any()) else torch.tensor(1.0)
        ids = dead.nonzero().squeeze(1)
        sae.W_dec[ids] = v
        sae.W_enc[:, ids] = v.T * enc_norm * 0.2
        sae.b_enc[ids] = 0.0
        for prm in (sae.W_dec, sae.W_enc, sae.b_enc):
            st = opt.state.get(prm, {})
            for key in ("exp_avg", "exp_avg_sq"):
                if key in st:
                    if prm is sae.W_enc:
                        st[key][:, ids] = 0.0
                    else:
                        st[key][ids] = 0.0
    return n_dead


def evaluate_sae(sae, T, x, *, match_cos: float) -> dict[str, float]:
    """Scores against the true features ``T`` (unit-norm rows) on inputs ``x``: L0, MSE, FVU, dead
    latents, gain (activation along a true feature fed alone at magnitude 1), MMCS (mean over true
    features of the best decoder cosine) and how many true features have a decoder row at
    cosine >= ``match_cos``."""
    import torch

    with torch.no_grad():
        f = sae.encode(x)
        x_hat = sae.decode(f)
        mse = ((x - x_hat) ** 2).sum(-1).mean()
        fvu = mse / ((x - x.mean(0)) ** 2).sum(-1).mean()
        l0 = (f > 0).float().sum(-1).mean()
        dead = int(((f > 0).sum(0) == 0).sum())
        cos = T @ sae.W_dec.T  # [n_true, L]; rows of T and W_dec are unit norm
        best, _ = cos.max(1)
        # gain: each true feature alone at magnitude 1 (x = b_dec-free direction), read out along the feature
        # through every latent that points roughly along it (handles features split over two latents)
        M = (cos > 0.5).to(cos.dtype) * cos
        f_iso = sae.encode(T)
        gain = (f_iso @ M.T).diagonal()
        recovered = best >= match_cos
        gain_mean = gain[recovered].mean() if bool(recovered.any()) else gain.mean()
    return {
        "l0": float(l0),
        "mse": float(mse),
        "fvu": float(fvu),
        "dead": float(dead),
        "gain": float(gain_mean),
        "mmcs": float(best.mean()),
        "recovered": float(recovered.sum()),
    }


def score_cells(scores: Mapping[str, float], names: Sequence[str] = SCORE_NAMES) -> list[float | int]:
    """``names`` of ``scores`` as table cells: counts as integers, MSE and FVU to 4 places, the rest to 3."""
    return [
        round(scores[k], 4 if k in ("mse", "fvu") else 3) if k not in ("dead", "recovered") else int(scores[k])
        for k in names
    ]


SCORE_HEADERS = {"l0": "L0", "mse": "MSE", "fvu": "FVU", "dead": "dead", "gain": "gain", "mmcs": "MMCS"}
SCORE_MEANINGS = {
    "l0": "L0 = mean active latents per input (true {true_l0:.2f})",
    "mse": "MSE = mean squared error summed over dims",
    "fvu": "FVU = fraction of variance unexplained",
    "dead": "dead = latents never active on {eval_samples} eval inputs",
    "gain": "gain = SAE activation along a true feature fed alone at magnitude 1 (< 1 = shrinkage)",
    "mmcs": "MMCS = mean over true features of the max cosine with a decoder row",
    "recovered": "recovered = true features with a decoder row at cosine >= {match_cos}",
}


def score_table(
    title: str,
    rows: list[tuple[str, int, Mapping[str, float]]],
    *,
    match_cos: float,
    true_l0: float,
    eval_samples: int,
    names: Sequence[str] = SCORE_NAMES,
    after: str = "",
) -> Table:
    """One row per ``(name, n_latents, scores)`` with the :func:`evaluate_sae` scores ``names`` as
    :func:`score_cells`, and a caption saying what each score means (``true_l0``: the data's mean active
    features; ``eval_samples``: the size of the eval batch the scores come from). ``after``: the question
    that reveals the table."""
    columns = ["variant", "latents"] + [SCORE_HEADERS.get(k, f"recovered (cos>={match_cos})") for k in names]
    fmt = {"true_l0": true_l0, "eval_samples": eval_samples, "match_cos": match_cos}
    return Table(
        title=title,
        columns=columns,
        rows=[[name, n_latents, *score_cells(scores, names)] for name, n_latents, scores in rows],
        caption="; ".join(SCORE_MEANINGS[k].format(**fmt) for k in names) + ".",
        after=after,
    )


def describe_thresholds(theta) -> str:
    """JumpReLU's learned per-latent thresholds in words: their mean and range."""
    th = theta.detach()
    return f"learned thresholds: mean {float(th.mean()):.3f}, range {float(th.min()):.3f}-{float(th.max()):.3f}"
