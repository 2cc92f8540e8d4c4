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


def _fix_setup(p: Any) -> str:
    """The dead-latent fixes' settings, only when the run trains them."""
    parts = []
    if any(f.endswith("auxk") for f in p.fixes):
        parts.append(f"AuxK k_aux = {p.aux_k}, coef {p.aux_coef:.3g}")
    if any(f.endswith("resample") for f in p.fixes):
        parts.append(f"resampling at steps {list(p.resample_at)}")
    if not parts:
        return ""
    return f" Dead-latent fixes on the tight TopK: {'; '.join(parts)} (dead = no activation for {p.dead_window} steps)."


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
            f"a fourth, TopK with a tight dictionary, has {int(m['tight_latents'])}. Unit-norm decoder rows, Adam lr "
            f"{p.lr}, {p.steps} steps of batch {p.batch}; all variants see the same init and data. Loss: squared "
            f"error summed over dims + penalty. ReLU + L1 lambda = {p.l1} (penalty lambda * sum f); TopK k = {p.k}; "
            f"JumpReLU L0 coef {p.jump_l0}, rectangle-kernel width eps = {p.jump_eps}, theta init "
            f"{p.jump_theta_init} ({thresholds}).{_fix_setup(p)} A control trains ReLU + L1 on "
            f"{int(m['ctrl_features'])} orthogonal features (no interference), each on with probability {p.ctrl_p}."
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


def tight_table(m: Mapping[str, float], after: str) -> Table:
    """Per family: TopK's recovery with the main and the tight dictionary, and the paired drop between them."""
    fams = _families(m)
    return Table(
        title="Halving the TopK dictionary, by family",
        columns=["family", "P(on)", f"TopK, {int(m['n_latents'])} latents", f"TopK, {int(m['tight_latents'])} latents",
                 "drop ± bootstrap SD"],
        rows=[
            [family_name(i), round(m[f"fam{i}_p"], 4), round(m[f"topk_fam{i}"], 3), round(m[f"{FIX_BASE}_fam{i}"], 3),
             f"{m[f'tight_loss{i}']:.3f} ± {m[f'tight_loss{i}_sd']:.3f}"]
            for i in fams
        ],
        caption=(
            "Mean over the family's true features of the max decoder cosine; the drop is paired per feature, its SD "
            "from a bootstrap over the family's features."
        ),
        after=after,
    )  # fmt: skip


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
    lam, bdec = m["l1"], m["ctrl_bdec"]
    ctrl = [m[f"ctrl_shrink_{c:g}"] for c in MAGNITUDES]
    lo, hi = min(ctrl), max(ctrl)
    return Table(
        title="Shrinkage: c - a(c)",
        columns=["SAE"] + [f"c = {c:g}" for c in MAGNITUDES],
        rows=rows,
        caption=(
            "A true feature fed alone at magnitude c, minus the SAE's activation a(c) along it (through the latents "
            "pointing along it), averaged over recovered features. With no interference the loss optimum is "
            f"a(c) = c - lambda/2 - b_dec.t: L1 takes lambda/2 = {lam / 2:g} off, and the decoder bias b_dec already "
            f"puts b_dec.t = {bdec:.3f} (control, mean over features) along the feature, so the control should fall "
            f"short by {lam / 2 + bdec:.3f} at every c; it measures {lo:.3f} to {hi:.3f}. In superposition the "
            "encoders also cut activations to keep other features' interference out (and JumpReLU zeroes an input "
            "below its latent's threshold)."
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
    return Text(title="What the dead-latent fixes did", body=" ".join(lines), after=after)


def _mse_plot(p: Any, curves: Mapping[str, Sequence[tuple[float, float]]]) -> Block:
    """The MSE curves from a tenth of training on: the first steps (ReLU starts near the inputs' full
    variance) would stretch the axis so far that every later difference looks flat."""
    start = p.steps // 10
    plot = xy_plot(
        f"Reconstruction MSE during training (from step {start})",
        {name: [(s, y) for s, y in pts if s >= start] for name, pts in curves.items()},
        xlabel="step",
        ylabel="MSE (sum over dims)",
    )
    first = {name: pts[0][1] for name, pts in curves.items() if pts}
    plot.caption = "At step 0: " + ", ".join(f"{n} {y:.2f}" for n, y in first.items()) + "."
    return plot


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
        _mse_plot(p, {LABELS[v]: fits[v][2] for v in variants}),
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
        blocks.append(tight_table(m, "sae-tight-family"))
        fixes = [v for v in variants if v.startswith(FIX_BASE + "_")]
        rows = [(LABELS[v], fits[v][0], fits[v][1]) for v in ("topk", FIX_BASE, *fixes)]
        title = "Dead-latent fixes on the tight dictionary" if fixes else "TopK: main vs tight dictionary"
        blocks.append(
            score_table(title, rows, names=("dead", "fvu", "mmcs", "recovered"), after="sae-tight-family", **sc)
        )
        if fixes:
            blocks.append(fix_text(m, fixes, "sae-tight-family"))
    return blocks
