"""Sparse autoencoders on activations with known ground-truth features.

The activations (:mod:`mi_prep.lab.tasks.sparse_features`) are sparse combinations of more true feature
directions than dims, in families whose frequencies differ (the seed decides which family is rare), so an SAE
can be scored directly: mean max cosine similarity (MMCS) of each true feature to the closest decoder
direction, per family, and a census of what the latents became (:mod:`mi_prep.lab.sae_analysis`). Variants
(:mod:`mi_prep.lab.sparse_autoencoders`): ReLU + L1 (Bricken et al. 2023), TopK (Gao et al. 2024) and
JumpReLU (Rajamanoharan et al. 2024). A control trains ReLU + L1 on orthogonal features, where L1 shrinkage
is lambda/2 at the optimum. A tight TopK dictionary (one latent per true feature) shows which families pay for
missing capacity. Optional dead-latent fixes on it (``fixes``, off by default: at these settings few or no latents stay
silent for the dead window, and neither fix changed the dead count or MMCS measurably): TopK + AuxK and TopK + resampling (Bricken
et al.: re-initialise dead latents towards inputs the SAE reconstructs badly).

Module import does not import torch; question building (:mod:`mi_prep.lab.sae_questions`) is a pure function
of the metrics.
"""

from __future__ import annotations

import time
from typing import Any, Literal

from mi_prep.lab.api import Field, Lab, LabContext, LabParams, LabResult, model_validator
from mi_prep.lab.sae_analysis import best_cosines, latent_census, paired_sd, shrinkage, tied_with_best, worst_groups
from mi_prep.lab.sae_questions import FIX_BASE, LABELS, MAGNITUDES, MAIN_VARIANTS, MATCH_COS, build_questions
from mi_prep.lab.sae_report import sae_blocks
from mi_prep.lab.seeding import seeded
from mi_prep.lab.sparse_autoencoders import describe_thresholds
from mi_prep.lab.tasks.sparse_features import (
    FittedSAE,
    eval_activations,
    feature_directions,
    feature_families,
    fit_sae,
    orthogonal_directions,
)

__all__ = ["LAB", "LABELS", "MAIN_VARIANTS", "MATCH_COS", "SAEParams", "build_questions"]

SPECS = {  # variant id -> (architecture, dictionary, dead-latent fix)
    "relu": ("relu", "main", ""),
    "topk": ("topk", "main", ""),
    "jumprelu": ("jumprelu", "main", ""),
    "topk_tight": ("topk", "tight", ""),
    "topk_tight_auxk": ("topk", "tight", "auxk"),
    "topk_tight_resample": ("topk", "tight", "resample"),
}
TWIN_COS = MATCH_COS
"""Two live latents whose decoder rows have at least this cosine are near-copies (twins)."""
FixVariant = Literal["topk_tight", "topk_tight_auxk", "topk_tight_resample"]


class SAEParams(LabParams):
    d: int = Field(32, gt=0, description="activation dimensions")
    n_true: int = Field(128, gt=0, description="true features")
    n_latents: int = Field(256, gt=0, description="latents of the three main SAEs")
    p_active: float = Field(0.03, gt=0, le=1, description="mean probability a true feature is on")
    freq_multipliers: tuple[float, ...] = Field(
        (0.25, 0.5, 1.0, 2.0), min_length=1, description="relative frequency of each feature family (seed-shuffled)"
    )
    steps: int = Field(1200, gt=0)
    batch: int = Field(256, gt=0)
    lr: float = Field(5e-3, gt=0)
    l1: float = Field(0.5, ge=0, description="ReLU SAE: L1 coefficient")
    k: int = Field(3, ge=1, description="TopK: active latents")
    jump_l0: float = Field(0.2, ge=0, description="JumpReLU: L0 coefficient")
    jump_eps: float = Field(0.05, gt=0, description="JumpReLU: rectangle-kernel width")
    jump_theta_init: float = Field(0.1, gt=0, description="JumpReLU: initial threshold")
    aux_k: int = Field(16, ge=0, description="AuxK: dead latents used")
    aux_coef: float = Field(1 / 32, ge=0, description="AuxK: loss coefficient")
    dead_window: int = Field(100, ge=1, description="steps without firing before a latent counts as dead")
    resample_at: tuple[int, ...] = Field((400, 800), description="steps at which dead latents are resampled")
    tight_latents: int = Field(0, ge=0, description="latents of the tight dictionary (0: n_true)")
    fixes: tuple[FixVariant, ...] = Field((), description="optional dead-latent fixes on the tight dictionary")
    ctrl_features: int = Field(0, ge=0, description="shrinkage control: orthogonal features (0: d // 2)")
    ctrl_p: float = Field(0.1, gt=0, le=1, description="shrinkage control: probability a feature is on")
    ctrl_steps: int = Field(1500, ge=1, description="shrinkage control: training steps (enough to converge)")
    eval_samples: int = Field(8192, gt=0)
    n_boot: int = Field(1000, ge=100, description="bootstrap resamples for the noise of MMCS and family scores")
    log_every: int = Field(25, ge=1)

    @model_validator(mode="after")
    def _k_fits(self) -> SAEParams:
        if self.k > min(self.n_latents, self.tight_latents or self.n_true):
            raise ValueError(f"k ({self.k}) must not exceed the number of latents")
        if len(self.freq_multipliers) > self.n_true or self.n_true % len(self.freq_multipliers):
            raise ValueError("n_true must be a multiple of the number of feature families")
        if (self.ctrl_features or self.d // 2) > self.d:
            raise ValueError("the shrinkage control needs ctrl_features <= d (orthogonal features)")
        return self


# --------------------------------------------------------------------------- the lab


class SAELab(Lab):
    name = "sae"
    title = "Sparse autoencoders: ReLU+L1 vs TopK vs JumpReLU"
    summary = (
        "Train three SAE variants on synthetic activations with known ground-truth features in families of "
        "different frequency; compare L0, reconstruction, dead and duplicate latents, shrinkage and recovery."
    )
    topics = ("sparse-autoencoders", "sae", "dictionary-learning", "superposition")
    Params = SAEParams
    small = {
        "d": 16,
        "n_true": 64,
        "n_latents": 128,
        "steps": 600,
        "eval_samples": 4096,
        "resample_at": (200,),
        "n_boot": 500,
    }

    def _train(self, vid: str, ctx: LabContext, p: SAEParams, T, probs, x_eval, stage: int, n_stages: int) -> FittedSAE:
        base, dictionary, fix = SPECS[vid]
        kwargs: dict[str, Any] = {  # make_sae arguments per architecture
            "relu": {"l1": p.l1},
            "topk": {"k": p.k, "aux_k": p.aux_k if fix == "auxk" else 0, "aux_coef": p.aux_coef},
            "jumprelu": {"l0": p.jump_l0, "eps": p.jump_eps, "theta_init": p.jump_theta_init},
        }[base]
        n_latents = p.n_latents if dictionary == "main" else (p.tight_latents or p.n_true)
        train = p.model_dump(include={"steps", "batch", "lr", "dead_window", "log_every"})
        train["resample_at"] = p.resample_at if fix == "resample" else ()
        progress = (stage, n_stages, f"training {LABELS[vid]}")
        return fit_sae(ctx, base, T, probs, n_latents, x_eval, MATCH_COS, progress=progress, **train, **kwargs)

    def _control(self, ctx: LabContext, p: SAEParams, stage: int, n_stages: int) -> dict[str, float]:
        """ReLU + L1 on orthogonal features (no interference): the measured shortfall c - a(c), and the decoder
        bias's mean component along a feature (the optimum's shortfall is lambda/2 plus it)."""
        n = p.ctrl_features or p.d // 2
        T = orthogonal_directions(n, p.d, ctx.seed)
        x, _ = eval_activations(T, 2048, p.ctrl_p, seed=ctx.seed)
        fit = fit_sae(
            ctx, "relu", T, p.ctrl_p, n, x, MATCH_COS, steps=p.ctrl_steps, batch=p.batch, lr=p.lr,
            dead_window=p.dead_window, log_every=p.log_every, l1=p.l1,
            progress=(stage, n_stages, "training the shrinkage control"),
        )  # fmt: skip
        best = best_cosines(fit.sae, T)
        out = {f"ctrl_shrink_{c:g}": v for c, v in shrinkage(fit.sae, T, best >= MATCH_COS, MAGNITUDES).items()}
        bdec = float((T @ fit.sae.b_dec.detach()).mean())  # what the decoder bias already puts along a feature
        return {**out, "ctrl_features": float(n), "ctrl_recovered": float((best >= MATCH_COS).sum()), "ctrl_bdec": bdec}

    # ------------------------------------------------------------------ run

    def run(self, ctx: LabContext) -> LabResult:
        p: SAEParams = ctx.params
        variants = [*MAIN_VARIANTS, FIX_BASE] + [v for v in p.fixes if v != FIX_BASE]
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        metrics: dict[str, float] = {
            k: float(getattr(p, k)) for k in ("d", "n_true", "n_latents", "p_active", "k", "l1")
        }
        metrics["tight_latents"] = float(p.tight_latents or p.n_true)
        fits: dict[str, FittedSAE] = {}
        n_fam = len(p.freq_multipliers)
        with seeded(ctx.seed):
            T = feature_directions(p.n_true, p.d, ctx.seed)
            fam = feature_families(p.n_true, p.freq_multipliers, p.p_active, ctx.seed)
            metrics.update({f"fam{i}_p": q for i, q in enumerate(fam.prob_of_family)})
            metrics["eval_samples"] = float(p.eval_samples)
            x_eval, metrics["true_l0"] = eval_activations(T, p.eval_samples, fam.probs, seed=ctx.seed)
            for stage, vid in enumerate(variants):
                fits[vid] = fit = self._train(vid, ctx, p, T, fam.probs, x_eval, stage, len(variants) + 1)
                timings[f"train_{vid}"] = fit.seconds
                metrics.update({f"{vid}_{key}": val for key, val in fit.scores.items()})
                if SPECS[vid][2] == "resample":
                    metrics[f"{vid}_resampled"] = float(fit.resampled)
            t1 = time.perf_counter()
            metrics.update(self._control(ctx, p, len(variants), len(variants) + 1))
            timings["control"] = time.perf_counter() - t1
        t1 = time.perf_counter()
        best = {v: best_cosines(fits[v].sae, T) for v in variants}
        census = {}
        for v in variants:
            census[v] = latent_census(fits[v].sae, T, x_eval, fam.family, n_fam, match_cos=MATCH_COS, twin_cos=TWIN_COS)
            metrics.update({f"{v}_{k}": float(c) for k, c in census[v].items() if isinstance(c, int)})
            _, means, sds = worst_groups(best[v], fam.family, n_fam, n_boot=p.n_boot, seed=ctx.seed)
            metrics.update({f"{v}_fam{i}": x for i, x in enumerate(means)})
            metrics.update({f"{v}_fam{i}_sd": x for i, x in enumerate(sds)})
        for v in MAIN_VARIANTS:
            sh = shrinkage(fits[v].sae, T, best[v] >= MATCH_COS, MAGNITUDES)
            metrics.update({f"{v}_shrink_{c:g}": x for c, x in sh.items()})
        ok, _, gap_sd = tied_with_best({v: best[v] for v in MAIN_VARIANTS}, n_boot=p.n_boot, seed=ctx.seed)
        metrics.update({f"{v}_best_ok": float(v in ok) for v in MAIN_VARIANTS})
        metrics.update({f"{v}_gap_sd": gap_sd[v] for v in MAIN_VARIANTS})
        mean_best = sum(best[v] for v in MAIN_VARIANTS) / len(MAIN_VARIANTS)
        missed, _, _ = worst_groups(mean_best, fam.family, n_fam, n_boot=p.n_boot, seed=ctx.seed)
        metrics.update({f"missed_fam{i}": float(i in missed) for i in range(n_fam)})
        for fix in (v for v in variants if v.startswith(FIX_BASE + "_")):
            metrics[f"{fix}_gap_sd"] = paired_sd(best[fix], best[FIX_BASE], n_boot=p.n_boot, seed=ctx.seed)
        # halving the dictionary: per family, the drop of the max cosine from TopK to tight TopK (paired per
        # feature); the family losing least and those within the noise of it are the accepted answers
        loss = best["topk"] - best[FIX_BASE]
        kept, lost, lost_sd = worst_groups(loss, fam.family, n_fam, n_boot=p.n_boot, seed=ctx.seed)
        metrics.update({f"tight_fam{i}": float(i in kept) for i in range(n_fam)})
        metrics.update({f"tight_loss{i}": x for i, x in enumerate(lost)})
        metrics.update({f"tight_loss{i}_sd": x for i, x in enumerate(lost_sd)})
        timings["analysis"] = time.perf_counter() - t1
        timings["total"] = time.perf_counter() - t0
        questions = build_questions(metrics)
        blocks = sae_blocks(
            p, metrics, {v: (fits[v].n_latents, fits[v].scores, fits[v].curve) for v in variants},
            describe_thresholds(fits["jumprelu"].sae.theta), [q.id for q in questions],
        )  # fmt: skip
        return LabResult(blocks=blocks, metrics=metrics, questions=questions, timings=timings)


LAB = SAELab()
