"""The SAE lab's questions: a pure function of the run's metrics (no torch), keys computed from the run.

Metric names (``v`` a variant id, ``i`` a family index, ``c`` a magnitude in :data:`MAGNITUDES`):
``{v}_{score}`` (:data:`~mi_prep.lab.sparse_autoencoders.SCORE_NAMES`), ``{v}_best_ok`` (1: within the
bootstrap noise of the highest MMCS), ``{v}_gap_sd`` (bootstrap SD of its MMCS gap to the highest),
``{v}_fam{i}`` (mean best cosine of family ``i``), ``{v}_{duplicates,mixtures,twins,features,live}``
(:func:`~mi_prep.lab.sae_analysis.latent_census`), ``{v}_shrink_{c}`` (``c - a(c)``), ``ctrl_shrink_{c}``
(the same for ReLU + L1 without superposition), ``fam{i}_p``, ``missed_fam{i}`` and ``tight_fam{i}`` (1: an
accepted answer to the family questions).
"""

from __future__ import annotations

from collections.abc import Mapping

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent, Question

MAIN_VARIANTS = ("relu", "topk", "jumprelu")
SHORT = {"relu": "ReLU", "topk": "TopK", "jumprelu": "JumpReLU"}
"""How the learner names a main variant when answering (component names)."""
LABELS = {
    "relu": "ReLU + L1",
    "topk": "TopK",
    "jumprelu": "JumpReLU",
    "topk_tight": "TopK, tight dictionary",
    "topk_tight_auxk": "TopK, tight + AuxK (fix)",
    "topk_tight_resample": "TopK, tight + resampling (fix)",
}
FIX_BASE = "topk_tight"
MAGNITUDES = (0.5, 1.0, 1.5)
MATCH_COS = 0.9
"""A true feature counts as recovered when some decoder direction has cosine >= this with it."""


def count(n: int, noun: str) -> str:
    """``"1 duplicate"``, ``"0 duplicates"``, ``"3 duplicates"``."""
    return f"{n} {noun}" + ("" if n == 1 else "s")


def family_name(i: int) -> str:
    return f"F{i + 1}"


def _shrink_line(m: Mapping[str, float], prefix: str) -> str:
    return ", ".join(f"c={c:g}: {m[f'{prefix}_shrink_{c:g}']:.2f}" for c in MAGNITUDES)


def _families(m: Mapping[str, float]) -> list[int]:
    return sorted(int(k[3:-2]) for k in m if k.startswith("fam") and k.endswith("_p"))


def build_questions(m: Mapping[str, float]) -> list[Question]:
    """Questions whose answer keys are computed from this run's metrics ``m``."""
    qs: list[Question] = []
    main = [v for v in MAIN_VARIANTS if f"{v}_mmcs" in m]
    n_true, n_lat = int(m["n_true"]), int(m["n_latents"])
    fams = _families(m)
    fam_names = tuple(family_name(i) for i in fams)

    # 1. L0: a prediction (the sparsity table is revealed after it)
    l0 = {v: float(m[f"{v}_l0"]) for v in main}
    far = max(main, key=lambda v: abs(l0[v] - float(m["true_l0"])))
    qs.append(
        MultipleChoice(
            id="sae-l0",
            prompt=(
                f"The data has on average {m['true_l0']:.2f} active true features per input. Predict: which "
                "variant's L0 (mean active latents per input) ends up furthest from it?"
            ),
            options=tuple(LABELS[v] for v in main),
            correct=main.index(far),
            conceptual=True,
            explanation=(
                ", ".join(f"{LABELS[v]} L0 {l0[v]:.2f}" for v in main) + f" vs true {m['true_l0']:.2f}; "
                f"{LABELS[far]} is furthest. L1 penalises the sum of magnitudes, so many small activations are "
                f"cheap and L0 is only loosely controlled; TopK has at most k = {int(m['k'])} active latents by "
                "construction; JumpReLU penalises L0 itself through its learned thresholds."
            ),
        )
    )

    # 2. shrinkage: derive the L1 optimum, then compare with the measured activations
    lam = float(m["l1"])
    c_line = _shrink_line(m, "ctrl")
    qs.append(
        Numeric(
            id="sae-shrinkage",
            prompt=(
                f"The ReLU SAE's loss per input is ||x - x_hat||^2 (squared error summed over dims) + lambda * sum_i f_i "
                f"with unit-norm decoder rows and lambda = {lam:g}. A lone true feature at magnitude 1 has its "
                "own latent whose decoder row is exactly that feature; ignore the decoder bias. Which activation f "
                "minimises the loss?"
            ),
            answer=1.0 - lam / 2,
            abs_tol=0.02,
            rel_tol=0.0,
            conceptual=True,
            explanation=(
                f"Loss (c - f)^2 + lambda f; setting the derivative -2(c - f) + lambda to 0 gives f = c - lambda/2 "
                f"= 1 - {lam / 2:g} = {1 - lam / 2:g} (for c > lambda/2; else 0): L1 subtracts a constant lambda/2 = "
                f"{lam / 2:g} whatever the magnitude, not a fixed fraction. (With mean instead of summed squared "
                "error over d dims, or a 1/2 in front of it, the constant changes to d lambda/2 or lambda.) Measured "
                f"shortfall c - a(c) of a ReLU + L1 SAE trained on {int(m['ctrl_features'])} orthogonal features "
                f"(no interference): {c_line}, against lambda/2 + b_dec.t = {lam / 2 + m['ctrl_bdec']:.3f} predicted "
                "once its decoder bias (which already reconstructs b_dec.t along the feature) is counted. In the main run, with superposition, the shortfall is "
                + "; ".join(f"{LABELS[v]} {_shrink_line(m, v)}" for v in main)
                + ": the encoders also lower activations to keep interference from other features out, "
                "which is why TopK, with no magnitude penalty, is not at zero either."
            ),
        )
    )

    # 3. which variant recovers the true features best (ties within the bootstrap noise all accepted)
    mm = {v: float(m[f"{v}_mmcs"]) for v in main}
    ok = [SHORT[v] for v in main if m.get(f"{v}_best_ok", 0.0) > 0.5]
    top = max(main, key=lambda v: mm[v])
    qs.append(
        PickComponent(
            id="sae-best-mmcs",
            prompt=(
                "Which variant recovers the ground-truth features best, by mean max cosine similarity (MMCS) "
                "between each true feature and its closest decoder direction? Answer ReLU, TopK or JumpReLU "
                "(if two are within the noise, either is right)."
            ),
            components=tuple(SHORT[v] for v in main),
            correct=tuple(ok) or (SHORT[top],),
            any_of=True,
            conceptual=True,
            explanation=(
                "MMCS: "
                + ", ".join(
                    f"{LABELS[v]} {mm[v]:.3f}"
                    + (f" (gap {mm[top] - mm[v]:.3f} ± {m[f'{v}_gap_sd']:.3f})" if v != top else "")
                    for v in main
                )
                + f"; gaps within 2 bootstrap SDs (over the {n_true} true features) count as ties. "
                + f"Recovered at cos >= {MATCH_COS}: "
                + ", ".join(f"{LABELS[v]} {int(m[f'{v}_recovered'])}/{n_true}" for v in main)
                + ". MMCS only needs one good latent per true feature, so spare or dead latents do not lower it."
            ),
        )
    )

    # 4. which family is hardest to recover (the seed decides which family is rare)
    if fams:
        fam_line = "; ".join(
            f"{family_name(i)} (p {m[f'fam{i}_p']:.3f}): "
            + ", ".join(f"{SHORT[v]} {m[f'{v}_fam{i}']:.3f}" for v in main)
            for i in fams
        )
        missed = [family_name(i) for i in fams if m.get(f"missed_fam{i}", 0.0) > 0.5]
        qs.append(
            PickComponent(
                id="sae-missed-family",
                prompt=(
                    f"The {n_true} true features form families {', '.join(fam_names)} whose frequencies differ "
                    f"(table above). Averaged over the three SAEs, which family's features are recovered worst "
                    "(lowest mean max cosine)? Families within the noise of the worst are accepted too."
                ),
                components=fam_names,
                correct=tuple(missed) or fam_names[:1],
                any_of=True,
                explanation=(
                    f"Mean max cosine per family: {fam_line}. Worst: {' or '.join(missed)}. A feature that is rarely "
                    "on contributes little to the loss and to the gradient, so few latents move towards it; the "
                    "sparsity pressure (L1, L0 or k) makes it cheaper to leave it unexplained or fold it into a "
                    "latent that also covers other features. SAEs systematically miss rare features."
                ),
            )
        )

    # 5. where the spare latents went (the census is revealed after it)
    if "relu_mixtures" in m:
        dup, mix, feats = int(m["relu_duplicates"]), int(m["relu_mixtures"]), int(m["relu_features"])
        options = (
            f"mostly duplicates: several latents at cos >= {MATCH_COS} with the same true feature",
            f"mostly mixtures: latents with no true feature at cos >= {MATCH_COS}",
            "about one latent per true feature, the rest rarely fire but are not dead",
        )
        pick = 2 if feats >= 0.8 * int(m["relu_live"]) else 0 if dup > mix else 1
        qs.append(
            MultipleChoice(
                id="sae-spare-latents",
                prompt=(
                    f"ReLU + L1 has {count(int(m['relu_dead']), 'dead latent')} out of {n_lat} (for {n_true} true "
                    "features). What are its live latents mostly?"
                ),
                options=options,
                correct=pick,
                conceptual=True,
                explanation=(
                    f"ReLU + L1: {count(int(m['relu_live']), 'live latent')} = {count(feats, 'latent')} matching "
                    f"distinct true features + {count(dup, 'duplicate')} + {count(mix, 'mixture')} "
                    f"({count(int(m['relu_twins']), 'live latent')} with a near-copy, decoder cos >= {MATCH_COS}, "
                    "among the live ones). "
                    + "; ".join(
                        f"{LABELS[v]}: {int(m[f'{v}_dead'])} dead, {count(int(m[f'{v}_features']), 'feature')}, "
                        f"{count(int(m[f'{v}_duplicates']), 'duplicate')}, {count(int(m[f'{v}_mixtures']), 'mixture')}"
                        for v in main[1:]
                    )
                    + ". A low dead count is not a healthy dictionary: the L1 SAE keeps every latent alive with "
                    "small, mixed activations (high L0) instead of committing latents to single features."
                ),
            )
        )

    # 6. tight dictionary: which family keeps its recovery when the dictionary is halved
    if fams and f"{FIX_BASE}_fam0" in m and "tight_loss0" in m:
        kept = [family_name(i) for i in fams if m.get(f"tight_fam{i}", 0.0) > 0.5]
        n_tight, dead, mix = int(m["tight_latents"]), int(m[f"{FIX_BASE}_dead"]), int(m[f"{FIX_BASE}_mixtures"])
        where = "more mixtures than dead latents" if mix > dead else "at least as many dead latents as mixtures"
        qs.append(
            PickComponent(
                id="sae-tight-family",
                prompt=(
                    f"Predict: the same TopK SAE is retrained with {n_tight} latents instead of {n_lat}, i.e. one per "
                    "true feature and none to spare. Which family's recovery (mean max cosine) drops least? "
                    "Families within the noise of the smallest drop are accepted too."
                ),
                components=fam_names,
                correct=tuple(kept) or fam_names[:1],
                any_of=True,
                explanation=(
                    f"Drop in mean max cosine from {n_lat} to {n_tight} latents, per family (frequency): "
                    + ", ".join(
                        f"{family_name(i)} ({m[f'fam{i}_p']:.3f}) {m[f'tight_loss{i}']:.3f} ± "
                        f"{m[f'tight_loss{i}_sd']:.3f}"
                        for i in fams
                    )
                    + f". Least: {' or '.join(kept)}. Without spare latents the features compete for them, and a "
                    "feature's claim grows with how often its reconstruction error is paid: the frequent families "
                    "keep dedicated latents and the rare ones lose theirs. The tight SAE recovers "
                    f"{int(m[f'{FIX_BASE}_recovered'])}/{n_true} at cos >= {MATCH_COS}; of its {n_tight} latents "
                    f"{dead} {'is' if dead == 1 else 'are'} dead and {mix} {'is a mixture' if mix == 1 else 'are mixtures'}"
                    f" (live, matching no feature): {where}."
                ),
            )
        )

    gain_line = ", ".join(f"{LABELS[v]} {m[f'{v}_shrink_1']:.2f}" for v in main)
    qs.append(
        FreeText(
            id="sae-why-shrinkage",
            prompt="Why do L1-trained SAEs shrink feature activations, and how do TopK and JumpReLU SAEs avoid it?",
            model_answer=(
                "The L1 penalty is a proxy for L0 that also charges for magnitude: for a fixed set of active latents "
                "the loss is lower if each activation is smaller than the reconstruction wants (by lambda/2 for "
                "summed squared error and a unit decoder row), so activations are systematically underestimated "
                "(shrinkage), which also costs reconstruction. TopK replaces the penalty with a hard limit on the "
                "number of active latents, and JumpReLU uses a learned per-latent threshold with an L0 penalty "
                "trained by straight-through estimators; neither penalises the size of an active latent, so the "
                "encoder can output the full magnitude. Gated SAEs similarly separate the gate (penalised) from the "
                f"magnitude. In this run the shortfall at magnitude 1 was {gain_line}."
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
            explanation=f"Shortfall c - a(c) at c = 1 in this run: {gain_line}; L1 alone predicts {lam / 2:g}.",
        )
    )
    return qs
