"""Sparse autoencoders on activations with known ground-truth features.

The activations (:mod:`mi_prep.lab.tasks.sparse_features`) are sparse combinations of more true feature
directions than dims, so an SAE can be scored directly: mean max cosine similarity (MMCS) of each true
feature to the closest decoder direction. Variants (:mod:`mi_prep.lab.sparse_autoencoders`): ReLU + L1
(Bricken et al. 2023), TopK (Gao et al. 2024) and JumpReLU (Rajamanoharan et al. 2024). Dead-latent fixes
shown as extra rows: TopK + AuxK and TopK + resampling (Bricken et al.: re-initialise dead latents towards
inputs the SAE reconstructs badly).

Module import does not import torch; question building is a pure function of the metrics.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any, Literal

from mi_prep.lab.api import (
    Field,
    FreeText,
    Lab,
    LabContext,
    LabParams,
    LabResult,
    MultipleChoice,
    Numeric,
    Question,
    Text,
    model_validator,
)
from mi_prep.lab.figures import xy_plot
from mi_prep.lab.seeding import seeded
from mi_prep.lab.sparse_autoencoders import describe_thresholds, score_table
from mi_prep.lab.tasks.sparse_features import FittedSAE, eval_activations, feature_directions, fit_sae

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
FixVariant = Literal["topk_tight", "topk_tight_auxk", "topk_tight_resample"]


class SAEParams(LabParams):
    d: int = Field(32, gt=0, description="activation dimensions")
    n_true: int = Field(64, gt=0, description="true features")
    n_latents: int = Field(128, gt=0, description="latents of the three main SAEs")
    p_active: float = Field(0.03, gt=0, le=1, description="probability a true feature is on")
    steps: int = Field(2000, gt=0)
    batch: int = Field(512, gt=0)
    lr: float = Field(3e-3, gt=0)
    l1: float = Field(0.3, ge=0, description="ReLU SAE: L1 coefficient")
    k: int = Field(3, ge=1, description="TopK: active latents")
    jump_l0: float = Field(0.05, ge=0, description="JumpReLU: L0 coefficient")
    jump_eps: float = Field(0.05, gt=0, description="JumpReLU: rectangle-kernel width")
    jump_theta_init: float = Field(0.1, gt=0, description="JumpReLU: initial threshold")
    aux_k: int = Field(16, ge=0, description="AuxK: dead latents used")
    aux_coef: float = Field(1 / 32, ge=0, description="AuxK: loss coefficient")
    dead_window: int = Field(100, ge=1, description="steps without firing before a latent counts as dead")
    resample_at: tuple[int, ...] = Field((500, 1000), description="steps at which dead latents are resampled")
    tight_latents: int = Field(64, ge=0, description="latents of the tight dictionary (0: n_true)")
    fixes: tuple[FixVariant, ...] = Field(("topk_tight", "topk_tight_auxk"), description="dead-latent experiment rows")
    eval_samples: int = Field(8192, gt=0)
    log_every: int = Field(25, ge=1)

    @model_validator(mode="after")
    def _k_fits(self) -> SAEParams:
        if self.k > min(self.n_latents, self.tight_latents or self.n_true):
            raise ValueError(f"k ({self.k}) must not exceed the number of latents")
        return self


# --------------------------------------------------------------------------- pure question building


def build_questions(metrics: Mapping[str, float]) -> list[Question]:
    """Questions whose answer keys are computed from this run's metrics."""
    qs: list[Question] = []
    main = [v for v in MAIN_VARIANTS if f"{v}_mmcs" in metrics]
    mm = {v: float(metrics[f"{v}_mmcs"]) for v in main}
    n_true = int(metrics.get("n_true", 0))
    mm_line = ", ".join(
        f"{LABELS[v]} {mm[v]:.3f} ({int(metrics[f'{v}_recovered'])}/{n_true} features at cos >= {MATCH_COS})"
        for v in main
    )

    # 1. which variant recovers the true features best
    ranked = sorted(main, key=lambda v: -mm[v])
    tie_opt = f"a tie between the best two (MMCS within {TIE})"
    options = tuple(LABELS[v] for v in main) + (tie_opt,)
    tied = len(ranked) > 1 and mm[ranked[0]] - mm[ranked[1]] < TIE
    qs.append(
        MultipleChoice(
            id="sae-best-mmcs",
            prompt=(
                "Which SAE variant recovers the ground-truth features best, by mean max cosine similarity (MMCS) "
                "between each true feature and its closest decoder direction?"
            ),
            options=options,
            correct=len(main) if tied else main.index(ranked[0]),
            explanation=(
                f"MMCS: {mm_line}. "
                + (
                    f"{LABELS[ranked[0]]} and {LABELS[ranked[1]]} are within {TIE}: a tie at this resolution. "
                    if tied
                    else f"{LABELS[ranked[0]]} is highest by {mm[ranked[0]] - mm[ranked[1]]:.3f}. "
                )
                + "MMCS only needs one good latent per true feature, so extra or dead latents do not lower it."
            ),
        )
    )

    # 2. which variant shrinks activations
    gain = {v: float(metrics[f"{v}_gain"]) for v in main}
    shr = min(main, key=lambda v: gain[v])
    gain_line = ", ".join(f"{LABELS[v]} {gain[v]:.2f}" for v in main)
    qs.append(
        MultipleChoice(
            id="sae-shrinkage",
            prompt=(
                "Feed each true feature alone at magnitude 1 and read the SAE's activation along it. "
                "Which variant shrinks activations the most (lowest gain)?"
            ),
            options=tuple(LABELS[v] for v in main),
            correct=main.index(shr),
            explanation=(
                f"Gain (SAE activation / true magnitude, isolated features): {gain_line}. "
                f"{LABELS[shr]} shrinks most. "
                + (
                    "The L1 penalty charges for activation magnitude, so the optimum trades reconstruction for "
                    "smaller activations (f is pulled below the true value by roughly lambda over the decoder "
                    "norm). TopK and JumpReLU do not penalise magnitude (TopK fixes the count, JumpReLU "
                    "penalises L0), so what is left of their shrinkage comes from the encoder hedging against "
                    "interference between non-orthogonal features."
                    if shr == "relu"
                    else "Unusually, it is not the L1 variant here: check the L1 coefficient and training length."
                )
            ),
        )
    )

    # 3. dead latents: the big dictionary vs the tight one
    n_lat = int(metrics.get("n_latents", 0))
    n_tight = int(metrics.get("tight_latents", 0))
    dead_line = ", ".join(f"{LABELS[v]} {int(metrics[f'{v}_dead'])}" for v in LABELS if f"{v}_mmcs" in metrics)
    if "topk_dead" in metrics:
        qs.append(
            Numeric(
                id="sae-dead-topk",
                prompt=(
                    f"How many of the {n_lat} TopK latents never fire on the "
                    f"{int(metrics.get('eval_samples', 0))}-input eval batch? Does that mean features are missing?"
                ),
                answer=float(metrics["topk_dead"]),
                abs_tol=2.0,
                rel_tol=0.0,
                explanation=(
                    f"Dead latents: {dead_line}. The main dictionary has {n_lat} latents for {n_true} true features, "
                    f"so up to {max(0, n_lat - n_true)} latents have nothing of their own to learn; TopK still "
                    f"recovers {int(metrics['topk_recovered'])}/{n_true} features (MMCS {metrics['topk_mmcs']:.3f}). "
                    "Dead latents alone do not mean missing features: they are wasted capacity, and they do "
                    "cost features when the dictionary is tight"
                    + (
                        f" (TopK with {n_tight} latents: {int(metrics[f'{FIX_BASE}_dead'])} dead, "
                        f"{int(metrics[f'{FIX_BASE}_recovered'])}/{n_true} recovered)."
                        if f"{FIX_BASE}_dead" in metrics
                        else "."
                    )
                ),
            )
        )

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
        qs.append(
            MultipleChoice(
                id=f"sae-fix-{fix}",
                prompt=(
                    f"Both SAEs are TopK with a tight dictionary ({n_tight} latents for {n_true} true features); "
                    f"one adds {'AuxK' if fix.endswith('auxk') else 'resampling of dead latents'}. "
                    "What did the fix do on this data?"
                ),
                options=opts,
                correct=correct,
                explanation=(
                    f"Dead latents {int(d0)} -> {int(d1)}; MMCS {m0:.3f} -> {m1:.3f}; recovered "
                    f"{int(metrics[f'{FIX_BASE}_recovered'])} -> {int(metrics[f'{fix}_recovered'])} of {n_true}; "
                    f"FVU {metrics[f'{FIX_BASE}_fvu']:.3f} -> {metrics[f'{fix}_fvu']:.3f}. "
                    + (
                        "AuxK gives dead latents a gradient by asking the top k_aux of them to reconstruct the "
                        "main SAE's residual error; it can only help when a dead latent has positive "
                        "pre-activations and there is residual structure left to explain."
                        if fix.endswith("auxk")
                        else "Resampling re-initialises dead latents to point at inputs the SAE reconstructs badly "
                        "(probability proportional to squared loss), with a small encoder norm and reset optimiser "
                        "state."
                    )
                    + (
                        " With a tight dictionary every dead latent is a true feature left without its own "
                        "latent, so reviving latents can raise MMCS; with a roomy dictionary the revived latents "
                        "would only split or duplicate features."
                    )
                ),
            )
        )

    # 5. L0
    if "true_l0" in metrics:
        l0 = {v: float(metrics[f"{v}_l0"]) for v in main}
        far = max(main, key=lambda v: abs(l0[v] - float(metrics["true_l0"])))
        qs.append(
            MultipleChoice(
                id="sae-l0",
                prompt=(
                    f"The data has on average {metrics['true_l0']:.2f} active true features per input. "
                    "Which variant's L0 (mean active latents per input) is furthest from it?"
                ),
                options=tuple(LABELS[v] for v in main),
                correct=main.index(far),
                explanation=(
                    ", ".join(f"{LABELS[v]} L0 {l0[v]:.2f}" for v in main) + f" vs true {metrics['true_l0']:.2f}. "
                    "L1 only penalises the sum of magnitudes, so many small activations are cheap and L0 is "
                    "loosely controlled; TopK sets L0 = k by construction (at most k); JumpReLU trains L0 "
                    "directly with the threshold."
                ),
            )
        )

    qs.append(
        FreeText(
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
                f"{gain_line}."
            ),
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
            explanation=f"Gains in this run: {gain_line}.",
        )
    )
    return qs


# --------------------------------------------------------------------------- the lab


class SAELab(Lab):
    name = "sae"
    title = "Sparse autoencoders: ReLU+L1 vs TopK vs JumpReLU"
    summary = (
        "Train three SAE variants on synthetic activations with known ground-truth features; compare L0, "
        "reconstruction, dead latents, shrinkage and feature recovery (MMCS), plus a dead-latent fix."
    )
    topics = ("sparse-autoencoders", "sae", "dictionary-learning", "superposition")
    Params = SAEParams
    small = {"steps": 600, "eval_samples": 4096, "resample_at": (200,), "fixes": ("topk_tight", "topk_tight_resample")}

    def _train(self, vid: str, ctx: LabContext, p: SAEParams, T, x_eval, stage: int, n_stages: int) -> FittedSAE:
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
        return fit_sae(ctx, base, T, p.p_active, n_latents, x_eval, MATCH_COS, progress=progress, **train, **kwargs)

    # ------------------------------------------------------------------ run

    def run(self, ctx: LabContext) -> LabResult:
        p: SAEParams = ctx.params
        variants = list(MAIN_VARIANTS) + [v for v in p.fixes if v not in MAIN_VARIANTS]
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        metrics: dict[str, float] = {k: float(getattr(p, k)) for k in ("d", "n_true", "n_latents", "p_active", "k")}
        metrics["tight_latents"] = float(p.tight_latents or p.n_true)
        fits: dict[str, FittedSAE] = {}
        with seeded(ctx.seed):
            T = feature_directions(p.n_true, p.d, ctx.seed)
            metrics["eval_samples"] = float(p.eval_samples)
            x_eval, metrics["true_l0"] = eval_activations(T, p.eval_samples, p.p_active, seed=ctx.seed)
            for stage, vid in enumerate(variants):
                fits[vid] = fit = self._train(vid, ctx, p, T, x_eval, stage, len(variants))
                timings[f"train_{vid}"] = fit.seconds
                metrics.update({f"{vid}_{key}": val for key, val in fit.scores.items()})
                if SPECS[vid][2] == "resample":
                    metrics[f"{vid}_resampled"] = float(fit.resampled)
                if vid == "jumprelu":
                    metrics["jumprelu_theta_mean"] = float(fit.sae.theta.detach().mean())
        timings["total"] = time.perf_counter() - t0

        blocks = [
            Text(
                title="Setup",
                body=(
                    f"{p.n_true} unit-norm random true features in {p.d} dims, each active with "
                    f"probability {p.p_active} (mean {metrics['true_l0']:.2f} active per input) at magnitude "
                    f"U(0.5, 1.5). The three main SAEs have {p.n_latents} latents; the dead-latent experiment "
                    f"uses a tight dictionary of {int(metrics['tight_latents'])} latents (as many as true features), where a "
                    f"dead latent means a missing feature. Unit-norm decoder rows, Adam lr {p.lr}, "
                    f"{p.steps} steps of batch {p.batch}; all variants see the same init and data. "
                    f"ReLU+L1 lambda={p.l1}; TopK k={p.k}; JumpReLU L0 coef {p.jump_l0}, rectangle-kernel "
                    f"width eps={p.jump_eps}, theta init {p.jump_theta_init}"
                    + f" ({describe_thresholds(fits['jumprelu'].sae.theta)})"  # JumpReLU is always trained
                    + f"; AuxK k_aux={p.aux_k}, coef {p.aux_coef:.3g}, dead = no activation for {p.dead_window} "
                    f"steps; resampling at steps {list(p.resample_at)}."
                ),
            ),
            score_table(
                "SAE variants vs ground truth",
                [(LABELS[v], fits[v].n_latents, fits[v].scores) for v in variants],
                match_cos=MATCH_COS,
                true_l0=metrics["true_l0"],
                eval_samples=p.eval_samples,
            ),
            xy_plot(
                "Reconstruction MSE during training",
                {LABELS[v]: fits[v].curve for v in variants},
                xlabel="step",
                ylabel="MSE (sum over dims)",
            ),
        ]
        return LabResult(blocks=blocks, metrics=metrics, questions=build_questions(metrics), timings=timings)


LAB = SAELab()
