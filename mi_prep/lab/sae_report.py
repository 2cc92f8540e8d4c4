"""The SAE lab's blocks: the data shown with the results, and the tables each question reveals once answered.

Pure Python (no torch): built from the run's metrics and the fitted SAEs' scores and curves.

    blocks = sae_blocks(params, metrics, {vid: (n_latents, scores, curve)}, thresholds_text, question_ids)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from mi_prep.lab.api import Block, Table, Text
from mi_prep.lab.figures import xy_plot
from mi_prep.lab.sae_analysis import NOISE_SDS
from mi_prep.lab.sae_questions import FIX_BASE, LABELS, MAGNITUDES, MAIN_VARIANTS, MATCH_COS, family_name
from mi_prep.lab.sparse_autoencoders import score_table

Fit = tuple[int, Mapping[str, float], Sequence[tuple[float, float]]]
"""``(n_latents, scores, mse curve)`` of one trained SAE."""


def _families(m: Mapping[str, float]) -> list[int]:
    return sorted(int(k[3:-2]) for k in m if k.startswith("fam") and k.endswith("_p"))


def setup_text(p: Any, m: Mapping[str, float], thresholds: str) -> Text:
    fams = _families(m)
    names = ", ".join(family_name(i) for i in fams)
    return Text(
        title="Setup",
        body=(
            f"{p.n_true} unit-norm random true features in {p.d} dims (superposition: more features than dims), in "
            f"{len(fams)} families of {p.n_true // max(1, len(fams))} ({names}) that differ only in how often their "
            f"features are on (table below; mean {m['true_l0']:.2f} active features per input), each active one at "
            f"magnitude U(0.5, 1.5). The three main SAEs (ReLU + L1, TopK, JumpReLU) have {p.n_latents} latents; "
            f"the dead-latent experiment uses a tight TopK dictionary of {int(m['tight_latents'])} latents. "
            f"Unit-norm decoder rows, Adam lr {p.lr}, {p.steps} steps of batch {p.batch}; all variants see the same "
            f"init and data. Loss: squared error summed over dims + penalty. ReLU + L1 lambda = {p.l1} (penalty "
            f"lambda * sum f); TopK k = {p.k}; JumpReLU L0 coef {p.jump_l0}, rectangle-kernel width eps = "
            f"{p.jump_eps}, theta init {p.jump_theta_init} ({thresholds}); AuxK k_aux = {p.aux_k}, coef "
            f"{p.aux_coef:.3g}, dead = no activation for {p.dead_window} steps; resampling at steps "
            f"{list(p.resample_at)}. A control trains ReLU + L1 on {int(m['ctrl_features'])} orthogonal features "
            f"(no interference), each on with probability {p.ctrl_p}."
        ),
    )


def family_table(m: Mapping[str, float]) -> Table:
    fams = _families(m)
    per = int(m["n_true"]) // max(1, len(fams))
    return Table(
        title="Feature families",
        columns=["family", "features", "P(feature on)", "active per input from the family"],
        rows=[[family_name(i), per, round(m[f"fam{i}_p"], 4), round(per * m[f"fam{i}_p"], 3)] for i in fams],
        caption="The seed decides which family gets which frequency.",
    )


def recovery_table(m: Mapping[str, float], fits: Mapping[str, Fit], after: str) -> Table:
    top = max(MAIN_VARIANTS, key=lambda v: m[f"{v}_mmcs"])
    rows: list[list[Any]] = []
    for v in MAIN_VARIANTS:
        gap = "-" if v == top else f"{m[f'{top}_mmcs'] - m[f'{v}_mmcs']:.3f} ± {m[f'{v}_gap_sd']:.3f}"
        rows.append([LABELS[v], fits[v][0], round(m[f"{v}_mmcs"], 3), gap, int(m[f"{v}_recovered"])])
    return Table(
        title="Feature recovery",
        columns=["variant", "latents", "MMCS", "gap to best ± bootstrap SD", f"recovered (cos>={MATCH_COS})"],
        rows=rows,
        caption=(
            "MMCS = mean over true features of the max cosine with a decoder row; the SD of each gap comes from a "
            f"paired bootstrap over the {int(m['n_true'])} true features (gaps under 2 SDs count as ties)."
        ),
        after=after,
    )


def by_family_table(m: Mapping[str, float], variants: Sequence[str], title: str, after: str) -> Table:
    fams = _families(m)
    return Table(
        title=title,
        columns=["family", "P(on)"] + [LABELS[v] for v in variants],
        rows=[
            [family_name(i), round(m[f"fam{i}_p"], 4)]
            + [f"{m[f'{v}_fam{i}']:.3f} ± {m[f'{v}_fam{i}_sd']:.3f}" for v in variants]
            for i in fams
        ],
        caption="Mean over the family's true features of the max decoder cosine ± bootstrap SD over its features.",
        after=after,
    )


def census_table(m: Mapping[str, float], fits: Mapping[str, Fit], variants: Sequence[str], after: str) -> Table:
    keys = ("dead", "live", "features", "duplicates", "mixtures", "twins")
    return Table(
        title="Latent census",
        columns=["variant", "latents", "dead", "live", "true features matched", "duplicates", "mixtures", "twins"],
        rows=[[LABELS[v], fits[v][0]] + [int(m[f"{v}_{k}"]) for k in keys] for v in variants],
        caption=(
            f"live = fires on at least one of {int(m['eval_samples'])} eval inputs; a live latent matches its nearest "
            f"true feature if their cosine is >= {MATCH_COS}; duplicates = extra latents matching a feature another "
            "latent already matches; mixtures = live latents matching no feature; twins = live latents with a "
            f"decoder cosine >= {MATCH_COS} to another live latent."
        ),
        after=after,
    )


def shrinkage_table(m: Mapping[str, float], after: str) -> Table:
    rows: list[list[Any]] = [
        [f"ReLU + L1, {int(m['ctrl_features'])} orthogonal features (control)"]
        + [round(m[f"ctrl_shrink_{c:g}"], 3) for c in MAGNITUDES]
    ]
    rows += [[LABELS[v]] + [round(m[f"{v}_shrink_{c:g}"], 3) for c in MAGNITUDES] for v in MAIN_VARIANTS]
    lam = m["l1"]
    return Table(
        title="Shrinkage: c - a(c)",
        columns=["SAE"] + [f"c = {c:g}" for c in MAGNITUDES],
        rows=rows,
        caption=(
            "A true feature fed alone at magnitude c, minus the SAE's activation a(c) along it (through the latents "
            "pointing along it), averaged over recovered features. The L1 optimum predicts lambda/2 = "
            f"{lam / 2:g} at every c with no interference; in superposition the encoders also cut activations "
            "to keep other features' interference out (and JumpReLU zeroes an input below its latent's threshold)."
        ),
        after=after,
    )


def fix_text(m: Mapping[str, float], fixes: Sequence[str], after: str) -> Text:
    """What each dead-latent fix changed against the tight TopK SAE without it, with the MMCS noise."""
    lines = []
    for fix in fixes:
        d0, d1 = int(m[f"{FIX_BASE}_dead"]), int(m[f"{fix}_dead"])
        gap, sd = m[f"{fix}_mmcs"] - m[f"{FIX_BASE}_mmcs"], m[f"{fix}_gap_sd"]
        verdict = "within the noise" if abs(gap) <= NOISE_SDS * sd else "higher" if gap > 0 else "lower"
        how = (
            f"resampled {int(m[f'{fix}_resampled'])} latents (a latent must be silent for the dead window first)"
            if fix.endswith("resample")
            else "AuxK gave dead latents a gradient (reconstructing the residual with the top k_aux dead latents)"
        )
        lines.append(
            f"{LABELS[fix]}: {how}; dead {d0} -> {d1}, MMCS {m[f'{FIX_BASE}_mmcs']:.3f} -> {m[f'{fix}_mmcs']:.3f} "
            f"(change {gap:+.3f} ± {sd:.3f}, {verdict}), recovered {int(m[f'{FIX_BASE}_recovered'])} -> "
            f"{int(m[f'{fix}_recovered'])}."
        )
    lines.append(
        f"The tight SAE has {int(m[f'{FIX_BASE}_dead'])} dead latents but {int(m[f'{FIX_BASE}_mixtures'])} mixture "
        "latents: a fix that revives dead latents cannot help a feature whose would-be latent is alive but mixed."
    )
    return Text(title="What the dead-latent fixes did", body=" ".join(lines), after=after)


def sae_blocks(
    p: Any, m: Mapping[str, float], fits: Mapping[str, Fit], thresholds: str, question_ids: Sequence[str]
) -> list[Block]:
    """Setup, families and training curves first; every other table once the question it would answer is."""
    ids = set(question_ids)
    variants = list(fits)
    sc: dict[str, Any] = {"match_cos": MATCH_COS, "true_l0": m["true_l0"], "eval_samples": int(m["eval_samples"])}
    blocks: list[Block] = [
        setup_text(p, m, thresholds),
        family_table(m),
        xy_plot("Reconstruction MSE during training", {LABELS[v]: fits[v][2] for v in variants}, xlabel="step",
                ylabel="MSE (sum over dims)"),
        score_table("Sparsity and reconstruction", [(LABELS[v], fits[v][0], fits[v][1]) for v in MAIN_VARIANTS],
                    names=("l0", "mse", "fvu"), after="sae-l0", **sc),
        shrinkage_table(m, "sae-shrinkage"),
        recovery_table(m, fits, "sae-best-mmcs"),
    ]  # fmt: skip
    if "sae-missed-family" in ids:
        blocks.append(by_family_table(m, MAIN_VARIANTS, "Recovery by family", "sae-missed-family"))
    if "sae-spare-latents" in ids:
        blocks.append(census_table(m, fits, MAIN_VARIANTS, "sae-spare-latents"))
    if "sae-tight-family" in ids:
        blocks.append(by_family_table(m, [FIX_BASE], "Tight dictionary by family", "sae-tight-family"))
    fixes = [v for v in variants if v.startswith(FIX_BASE + "_")]
    if FIX_BASE in fits and "sae-tight-family" in ids:
        rows = [(LABELS[v], fits[v][0], fits[v][1]) for v in (FIX_BASE, *fixes)]
        blocks.append(
            score_table("Dead-latent fixes on the tight dictionary", rows, names=("dead", "fvu", "mmcs", "recovered"),
                        after="sae-tight-family", **sc)
        )  # fmt: skip
        if fixes:
            blocks.append(fix_text(m, fixes, "sae-tight-family"))
    return blocks
