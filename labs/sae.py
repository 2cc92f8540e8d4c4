"""Sparse autoencoders on activations with known ground-truth features.

Synthetic "activations": ``n_true`` unit-norm random feature directions in ``d`` dims (more features
than dims, so they are in superposition), each active independently with probability ``p`` at a
magnitude uniform in [0.5, 1.5]. Because the true features are known we can score an SAE directly:
mean max cosine similarity (MMCS) of each true feature to the closest decoder direction.

Variants (one class each, sharing a base class, in the spirit of SAELens' ``saes/``):

* ReLU + L1 (Bricken et al. 2023): ``f = ReLU(W_enc (x - b_dec) + b_enc)``, loss = MSE + lambda * sum f.
* TopK (Gao et al. 2024, arXiv 2406.04093): keep the k largest pre-activations; no sparsity penalty.
  Dead-latent fix: the AuxK loss (reconstruct the residual with the top ``k_aux`` dead latents).
* JumpReLU (Rajamanoharan et al. 2024, arXiv 2407.14435): ``f = z * H(z - theta)`` with a learned
  per-latent threshold theta; L0 penalty trained directly through straight-through estimators whose
  pseudo-derivative w.r.t. theta uses a rectangle kernel of width epsilon.

Dead-latent fix shown as extra rows: TopK + AuxK and TopK + resampling (Bricken et al.: re-initialise
dead latents towards inputs the SAE reconstructs badly).

Module import does not import torch; question building is a pure function of the metrics.
"""

from __future__ import annotations

import math
import time
from typing import Any, Mapping

from mi_prep.lab.api import Lab, LabContext, LabResult, LinePlot, Series, Table, Text
from mi_prep.lab.api import FreeText, MultipleChoice, Numeric, Question

MAIN_VARIANTS = ("relu", "topk", "jumprelu")
LABELS = {
    "relu": "ReLU + L1",
    "topk": "TopK",
    "jumprelu": "JumpReLU",
    "topk_tight": "TopK, tight dictionary",
    "topk_tight_auxk": "TopK, tight + AuxK (fix)",
    "topk_tight_resample": "TopK, tight + resampling (fix)",
}
SPECS = {  # variant id -> (architecture, dictionary, dead-latent fix)
    "relu": ("relu", "main", ""),
    "topk": ("topk", "main", ""),
    "jumprelu": ("jumprelu", "main", ""),
    "topk_tight": ("topk", "tight", ""),
    "topk_tight_auxk": ("topk", "tight", "auxk"),
    "topk_tight_resample": ("topk", "tight", "resample"),
}
FIX_BASE = "topk_tight"
"""The fixes are compared against TopK with the same (tight) dictionary and no fix."""
MATCH_COS = 0.9
"""A true feature counts as recovered when some decoder direction has cosine >= this with it."""
TIE = 0.005
"""MMCS gap below which two variants count as tied."""
METRIC_NAMES = ("l0", "mse", "fvu", "dead", "gain", "mmcs", "recovered")


# --------------------------------------------------------------------------- pure question building


def _variants_in(metrics: Mapping[str, float]) -> list[str]:
    return [v for v in LABELS if f"{v}_mmcs" in metrics]


def build_questions(metrics: Mapping[str, float]) -> list[Question]:
    """Questions whose answer keys are computed from this run's metrics."""
    qs: list[Question] = []
    main = [v for v in MAIN_VARIANTS if f"{v}_mmcs" in metrics]
    mm = {v: float(metrics[f"{v}_mmcs"]) for v in main}
    n_true = int(metrics.get("n_true", 0))
    mm_line = ", ".join(f"{LABELS[v]} {mm[v]:.3f} ({int(metrics[f'{v}_recovered'])}/{n_true} features at cos >= {MATCH_COS})"
                        for v in main)

    # 1. which variant recovers the true features best
    ranked = sorted(main, key=lambda v: -mm[v])
    tie_opt = f"a tie between the best two (MMCS within {TIE})"
    options = tuple(LABELS[v] for v in main) + (tie_opt,)
    tied = len(ranked) > 1 and mm[ranked[0]] - mm[ranked[1]] < TIE
    qs.append(MultipleChoice(
        id="sae-best-mmcs",
        prompt=("Which SAE variant recovers the ground-truth features best, by mean max cosine similarity (MMCS) "
                "between each true feature and its closest decoder direction?"),
        options=options,
        correct=len(main) if tied else main.index(ranked[0]),
        explanation=(f"MMCS: {mm_line}. "
                     + (f"{LABELS[ranked[0]]} and {LABELS[ranked[1]]} are within {TIE}: a tie at this resolution. "
                        if tied else f"{LABELS[ranked[0]]} is highest by {mm[ranked[0]] - mm[ranked[1]]:.3f}. ")
                     + "MMCS only needs one good latent per true feature, so extra or dead latents do not lower it."),
    ))

    # 2. which variant shrinks activations
    gain = {v: float(metrics[f"{v}_gain"]) for v in main}
    shr = min(main, key=lambda v: gain[v])
    gain_line = ", ".join(f"{LABELS[v]} {gain[v]:.2f}" for v in main)
    qs.append(MultipleChoice(
        id="sae-shrinkage",
        prompt=("Feed each true feature alone at magnitude 1 and read the SAE's activation along it. "
                "Which variant shrinks activations the most (lowest gain)?"),
        options=tuple(LABELS[v] for v in main),
        correct=main.index(shr),
        explanation=(f"Gain (SAE activation / true magnitude, isolated features): {gain_line}. "
                     f"{LABELS[shr]} shrinks most. "
                     + ("The L1 penalty charges for activation magnitude, so the optimum trades reconstruction for "
                        "smaller activations (f is pulled below the true value by roughly lambda over the decoder "
                        "norm). TopK and JumpReLU do not penalise magnitude (TopK fixes the count, JumpReLU "
                        "penalises L0), so what is left of their shrinkage comes from the encoder hedging against "
                        "interference between non-orthogonal features."
                        if shr == "relu" else
                        "Unusually, it is not the L1 variant here: check the L1 coefficient and training length.")),
    ))

    # 3. dead latents: the big dictionary vs the tight one
    n_lat = int(metrics.get("n_latents", 0))
    n_tight = int(metrics.get("tight_latents", 0))
    dead_line = ", ".join(f"{LABELS[v]} {int(metrics[f'{v}_dead'])}" for v in _variants_in(metrics))
    if "topk_dead" in metrics:
        qs.append(Numeric(
            id="sae-dead-topk",
            prompt=(f"How many of the {n_lat} TopK latents never fire on the "
                    f"{int(metrics.get('eval_samples', 0))}-input eval batch? Does that mean features are missing?"),
            answer=float(metrics["topk_dead"]),
            abs_tol=2.0,
            rel_tol=0.0,
            explanation=(f"Dead latents: {dead_line}. The main dictionary has {n_lat} latents for {n_true} true features, "
                         f"so up to {max(0, n_lat - n_true)} latents have nothing of their own to learn; TopK still "
                         f"recovers {int(metrics['topk_recovered'])}/{n_true} features (MMCS {metrics['topk_mmcs']:.3f}). "
                         "Dead latents alone do not mean missing features: they are wasted capacity, and they do "
                         "cost features when the dictionary is tight"
                         + (f" (TopK with {n_tight} latents: {int(metrics[f'{FIX_BASE}_dead'])} dead, "
                            f"{int(metrics[f'{FIX_BASE}_recovered'])}/{n_true} recovered)." if f"{FIX_BASE}_dead" in metrics else ".")),
        ))

    # 4. what the dead-latent fix did (same tight dictionary, with and without the fix)
    for fix in ("topk_tight_auxk", "topk_tight_resample"):
        if f"{fix}_dead" not in metrics or f"{FIX_BASE}_dead" not in metrics:
            continue
        d0, d1 = float(metrics[f"{FIX_BASE}_dead"]), float(metrics[f"{fix}_dead"])
        m0, m1 = float(metrics[f"{FIX_BASE}_mmcs"]), float(metrics[f"{fix}_mmcs"])
        fewer = d1 < d0 - 0.5
        better = m1 > m0 + 0.01
        worse = m1 < m0 - 0.01
        opts = (
            "fewer dead latents and a clearly higher MMCS (> +0.01)",
            "fewer dead latents, MMCS about the same (within 0.01)",
            "fewer dead latents but a lower MMCS",
            "no fewer dead latents",
        )
        correct = (0 if better else 2 if worse else 1) if fewer else 3
        qs.append(MultipleChoice(
            id=f"sae-fix-{fix}",
            prompt=(f"Both SAEs are TopK with a tight dictionary ({n_tight} latents for {n_true} true features); "
                    f"one adds {'AuxK' if fix.endswith('auxk') else 'resampling of dead latents'}. "
                    "What did the fix do on this data?"),
            options=opts,
            correct=correct,
            explanation=(f"Dead latents {int(d0)} -> {int(d1)}; MMCS {m0:.3f} -> {m1:.3f}; recovered "
                         f"{int(metrics[f'{FIX_BASE}_recovered'])} -> {int(metrics[f'{fix}_recovered'])} of {n_true}; "
                         f"FVU {metrics[f'{FIX_BASE}_fvu']:.3f} -> {metrics[f'{fix}_fvu']:.3f}. "
                         + ("AuxK gives dead latents a gradient by asking the top k_aux of them to reconstruct the "
                            "main SAE's residual error; it can only help when a dead latent has positive "
                            "pre-activations and there is residual structure left to explain."
                            if fix.endswith("auxk") else
                            "Resampling re-initialises dead latents to point at inputs the SAE reconstructs badly "
                            "(probability proportional to squared loss), with a small encoder norm and reset optimiser "
                            "state.")
                         + (" With a tight dictionary every dead latent is a true feature left without its own "
                            "latent, so reviving latents can raise MMCS; with a roomy dictionary the revived latents "
                            "would only split or duplicate features.")),
        ))

    # 5. L0
    if "true_l0" in metrics:
        l0 = {v: float(metrics[f"{v}_l0"]) for v in main}
        far = max(main, key=lambda v: abs(l0[v] - float(metrics["true_l0"])))
        qs.append(MultipleChoice(
            id="sae-l0",
            prompt=(f"The data has on average {metrics['true_l0']:.2f} active true features per input. "
                    "Which variant's L0 (mean active latents per input) is furthest from it?"),
            options=tuple(LABELS[v] for v in main),
            correct=main.index(far),
            explanation=(", ".join(f"{LABELS[v]} L0 {l0[v]:.2f}" for v in main)
                         + f" vs true {metrics['true_l0']:.2f}. "
                         "L1 only penalises the sum of magnitudes, so many small activations are cheap and L0 is "
                         "loosely controlled; TopK sets L0 = k by construction (at most k); JumpReLU trains L0 "
                         "directly with the threshold."),
        ))

    qs.append(FreeText(
        id="sae-why-shrinkage",
        prompt="Why do L1-trained SAEs shrink feature activations, and how do TopK and JumpReLU SAEs avoid it?",
        model_answer=(
            "The L1 penalty is a proxy for L0 that also charges for magnitude: for a fixed set of active latents the "
            "loss is lower if each activation is a bit smaller than the reconstruction wants, so activations are "
            "systematically underestimated (shrinkage), which also costs reconstruction (higher MSE at a given L0). "
            "TopK replaces the penalty with a hard constraint on the number of active latents, and JumpReLU uses a "
            "learned per-latent threshold with an L0 penalty trained by straight-through estimators; neither "
            "penalises the size of an active latent, so the encoder can output the full magnitude. Gated SAEs "
            "similarly separate the gate (penalised) from the magnitude. In this run the isolated-feature gain was "
            + ", ".join(f"{LABELS[v]} {float(metrics[f'{v}_gain']):.2f}" for v in main) + "."),
        key_points=(
            "L1 penalises magnitude, not just the count of active latents",
            "so activations are pulled below their true values (shrinkage), hurting reconstruction",
            "TopK fixes the number of active latents instead of penalising",
            "JumpReLU: learned threshold + L0 penalty via straight-through estimator",
        ),
        terms=(
            ("l1", "magnitude", "size"),
            ("shrink", "underestimat", "smaller", "reconstruct"),
            ("topk", "top-k", "top k", "k largest"),
            ("jumprelu", "threshold", "l0", "straight-through", "ste"),
        ),
        explanation="Gains in this run: " + ", ".join(f"{LABELS[v]} {float(metrics[f'{v}_gain']):.2f}" for v in main) + ".",
    ))
    return qs


# --------------------------------------------------------------------------- torch side (built lazily)

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
            return mse + sp + aux, {"mse": float(mse.detach()), "sparsity": float(sp.detach()),
                                    "aux": float(aux.detach())}, f

        @torch.no_grad()
        def normalise_decoder(self) -> None:
            self.W_dec /= self.W_dec.norm(dim=1, keepdim=True).clamp_min(1e-8)

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


# --------------------------------------------------------------------------- the lab


class SAELab(Lab):
    name = "sae"
    title = "Sparse autoencoders: ReLU+L1 vs TopK vs JumpReLU"
    summary = ("Train three SAE variants on synthetic activations with known ground-truth features; compare L0, "
               "reconstruction, dead latents, shrinkage and feature recovery (MMCS), plus a dead-latent fix.")
    topics = ("sparse-autoencoders", "sae", "dictionary-learning", "superposition")
    defaults: dict[str, Any] = {
        "d": 32,
        "n_true": 64,
        "n_latents": 128,
        "p_active": 0.03,
        "steps": 2000,
        "batch": 512,
        "lr": 3e-3,
        "l1": 0.3,
        "k": 3,
        "jump_l0": 0.05,
        "jump_eps": 0.05,
        "jump_theta_init": 0.1,
        "aux_k": 16,
        "aux_coef": 1 / 32,
        "dead_window": 100,
        "resample_at": [500, 1000],
        "tight_latents": 64,
        "fixes": ["topk_tight", "topk_tight_auxk"],
        "eval_samples": 8192,
        "log_every": 25,
    }
    small: dict[str, Any] = {"steps": 600, "eval_samples": 4096, "resample_at": [200],
                             "fixes": ["topk_tight", "topk_tight_resample"]}

    # ------------------------------------------------------------------ data

    @staticmethod
    def _features(p: Mapping[str, Any], seed: int):
        import torch

        g = torch.Generator().manual_seed(seed)
        T = torch.randn(int(p["n_true"]), int(p["d"]), generator=g)
        return T / T.norm(dim=1, keepdim=True)

    @staticmethod
    def _sample(T, n: int, prob: float, g):
        import torch

        on = torch.rand(n, T.shape[0], generator=g) < prob
        c = on * (0.5 + torch.rand(n, T.shape[0], generator=g))
        return c @ T, c

    # ------------------------------------------------------------------ training one SAE

    def _train(self, vid: str, ctx: LabContext, p: Mapping[str, Any], T, stage: int, n_stages: int):
        import torch

        cls = _classes()
        base, dictionary, fix = SPECS[vid]
        g_init = torch.Generator().manual_seed(ctx.seed * 1000 + 17)  # same init for every variant
        g_data = torch.Generator().manual_seed(ctx.seed * 1000 + 29)  # same data stream for every variant
        prob = float(p["p_active"])
        d = int(p["d"])
        L = int(p["n_latents"]) if dictionary == "main" else int(p["tight_latents"] or p["n_true"])
        x0, _ = self._sample(T, 4096, prob, torch.Generator().manual_seed(ctx.seed * 1000 + 3))
        args = (d, L)
        kw = {"generator": g_init, "b_dec_init": x0.mean(0)}
        if base == "relu":
            sae = cls["relu"](*args, l1=float(p["l1"]), **kw)
        elif base == "topk":
            sae = cls["topk"](*args, k=int(p["k"]), aux_k=int(p["aux_k"]) if fix == "auxk" else 0,
                              aux_coef=float(p["aux_coef"]), **kw)
        else:
            sae = cls["jumprelu"](*args, l0=float(p["jump_l0"]), eps=float(p["jump_eps"]),
                                  theta_init=float(p["jump_theta_init"]), **kw)
        opt = torch.optim.Adam(sae.parameters(), lr=float(p["lr"]))
        steps, batch = int(p["steps"]), int(p["batch"])
        since = torch.zeros(L)  # steps since each latent last fired
        window = int(p["dead_window"])
        resample_at = set(int(s) for s in p["resample_at"]) if fix == "resample" else set()
        curve: list[tuple[float, float]] = []
        resampled = 0
        log_every = max(1, int(p["log_every"]))
        for step in range(steps):
            if step % 10 == 0:
                ctx.check_cancelled()
            x, _ = self._sample(T, batch, prob, g_data)
            loss, parts, f = sae.loss(x, since > window)
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
                resampled += self._resample(sae, opt, since > window, T, prob, g_data)
                since[:] = 0
            if step % log_every == 0 or step == steps - 1:
                curve.append((float(step), parts["mse"]))
                ctx.progress(stage * steps + step + 1, n_stages * steps, loss=float(loss.detach()),
                             message=f"training {LABELS[vid]}")
        return sae, curve, resampled

    @staticmethod
    def _resample(sae, opt, dead, T, prob, g) -> int:
        """Bricken et al. 2023: point dead latents at inputs with high reconstruction loss."""
        import torch

        n_dead = int(dead.sum())
        if n_dead == 0:
            return 0
        with torch.no_grad():
            x, _ = SAELab._sample(T, 4096, prob, g)
            err = ((x - sae.decode(sae.encode(x))) ** 2).sum(-1)
            idx = torch.multinomial(err ** 2 + 1e-12, n_dead, replacement=False, generator=g)
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

    # ------------------------------------------------------------------ evaluation

    @staticmethod
    def _evaluate(sae, T, x, c) -> dict[str, float]:
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
            recovered = best >= MATCH_COS
            gain_mean = gain[recovered].mean() if bool(recovered.any()) else gain.mean()
        return {"l0": float(l0), "mse": float(mse), "fvu": float(fvu), "dead": float(dead),
                "gain": float(gain_mean), "mmcs": float(best.mean()), "recovered": float(recovered.sum())}

    # ------------------------------------------------------------------ run

    def run(self, ctx: LabContext) -> LabResult:
        import torch

        p = {**self.defaults, **ctx.params}
        variants = list(MAIN_VARIANTS) + [v for v in p["fixes"] if v in LABELS and v not in MAIN_VARIANTS]
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        metrics: dict[str, float] = {k: float(p[k]) for k in ("d", "n_true", "n_latents", "p_active", "k")}
        metrics["tight_latents"] = float(p["tight_latents"] or p["n_true"])
        curves: dict[str, list[tuple[float, float]]] = {}
        extra: dict[str, str] = {}
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            T = self._features(p, ctx.seed)
            g_eval = torch.Generator().manual_seed(ctx.seed * 1000 + 7)
            x_eval, c_eval = self._sample(T, int(p["eval_samples"]), float(p["p_active"]), g_eval)
            metrics["eval_samples"] = float(p["eval_samples"])
            metrics["true_l0"] = float((c_eval > 0).float().sum(-1).mean())
            for stage, vid in enumerate(variants):
                ts = time.perf_counter()
                sae, curve, resampled = self._train(vid, ctx, p, T, stage, len(variants))
                timings[f"train_{vid}"] = time.perf_counter() - ts
                curves[vid] = curve
                for key, val in self._evaluate(sae, T, x_eval, c_eval).items():
                    metrics[f"{vid}_{key}"] = val
                if SPECS[vid][2] == "resample":
                    metrics[f"{vid}_resampled"] = float(resampled)
                if vid == "jumprelu":
                    th = sae.theta.detach()
                    extra["jumprelu"] = f"learned thresholds: mean {float(th.mean()):.3f}, range {float(th.min()):.3f}-{float(th.max()):.3f}"
                    metrics["jumprelu_theta_mean"] = float(th.mean())
        timings["total"] = time.perf_counter() - t0

        rows = []
        for vid in variants:
            n_l = int(p["n_latents"]) if SPECS[vid][1] == "main" else int(metrics["tight_latents"])
            rows.append([LABELS[vid], n_l] + [round(metrics[f"{vid}_{k}"], 4 if k in ("mse", "fvu") else 3)
                                         if k not in ("dead", "recovered") else int(metrics[f"{vid}_{k}"])
                                         for k in ("l0", "mse", "fvu", "dead", "gain", "mmcs", "recovered")])
        blocks = [
            Text(title="Setup", body=(
                f"{int(p['n_true'])} unit-norm random true features in {int(p['d'])} dims, each active with "
                f"probability {p['p_active']} (mean {metrics['true_l0']:.2f} active per input) at magnitude "
                f"U(0.5, 1.5). The three main SAEs have {int(p['n_latents'])} latents; the dead-latent experiment "
                f"uses a tight dictionary of {int(metrics['tight_latents'])} latents (as many as true features), where a "
                f"dead latent means a missing feature. Unit-norm decoder rows, Adam lr {p['lr']}, "
                f"{int(p['steps'])} steps of batch {int(p['batch'])}; all variants see the same init and data. "
                f"ReLU+L1 lambda={p['l1']}; TopK k={p['k']}; JumpReLU L0 coef {p['jump_l0']}, rectangle-kernel "
                f"width eps={p['jump_eps']}, theta init {p['jump_theta_init']}"
                + (f" ({extra['jumprelu']})" if "jumprelu" in extra else "")
                + f"; AuxK k_aux={p['aux_k']}, coef {p['aux_coef']:.3g}, dead = no activation for {p['dead_window']} "
                f"steps; resampling at steps {list(p['resample_at'])}.")),
            Table(title="SAE variants vs ground truth", columns=[
                "variant", "latents", "L0", "MSE", "FVU", "dead", "gain", "MMCS", f"recovered (cos>={MATCH_COS})"],
                rows=rows,
                caption=(f"L0 = mean active latents per input (true {metrics['true_l0']:.2f}); MSE = mean squared "
                         "error summed over dims; FVU = fraction of variance unexplained; dead = latents never active "
                         f"on {int(p['eval_samples'])} eval inputs; gain = SAE activation along a true feature fed "
                         "alone at magnitude 1 (< 1 = shrinkage); MMCS = mean over true features of the max cosine "
                         "with a decoder row.")),
            LinePlot(title="Reconstruction MSE during training",
                     series=[Series(name=LABELS[v], x=[a for a, _ in curves[v]], y=[b for _, b in curves[v]])
                             for v in variants],
                     xlabel="step", ylabel="MSE (sum over dims)"),
        ]
        return LabResult(blocks=blocks, metrics=metrics, questions=build_questions(metrics), timings=timings)


LAB = SAELab()
