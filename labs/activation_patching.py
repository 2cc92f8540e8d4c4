"""Activation patching on the induction model: clean vs corrupted prompts, normalised logit difference,
patch the residual stream (layer x position) and every head's output, batched into few forwards per
sweep (:mod:`mi_prep.lab.patching`), checked against ``transformer_lens.patching`` (one forward per
patch) for the same numbers.

Task: clean = BOS, P random tokens, then the first j+1 of them again (ends on A, whose earlier copy is
followed by B). Corrupt = the same with that earlier B replaced by a token D not in the prompt.
Clean predicts B, corrupt predicts D; metric = logit(B) - logit(D), normalised so corrupt = 0, clean = 1.
"""

from __future__ import annotations

import time
from typing import Any

from mi_prep.lab.api import (
    Field,
    FreeText,
    Heatmap,
    Lab,
    LabContext,
    LabResult,
    MultipleChoice,
    Numeric,
    PickComponent,
    Table,
    Text,
)
from mi_prep.lab.tasks.induction import PATCHING_SMALL, PatchingSpec


class ActivationPatchingParams(PatchingSpec):
    compare: bool = Field(True, description="also run transformer_lens.patching and compare")


def head_name(layer: int, head: int) -> str:
    return f"L{layer}H{head}"


# --------------------------------------------------------------------------- the lab


class ActivationPatchingLab(Lab):
    name = "activation-patching"
    title = "Activation patching"
    summary = (
        "Clean vs corrupted repeated-token prompts on the induction model: patch the residual stream "
        "and every head (batched), compare with transformer_lens.patching."
    )
    topics = ("patching", "activation-patching", "causal-interventions", "induction-heads", "circuits")
    Params = ActivationPatchingParams
    small = PATCHING_SMALL

    def run(self, ctx: LabContext) -> LabResult:
        from mi_prep.lab.patching import run_patching
        from mi_prep.lab.tasks.induction import induction_model

        p: ActivationPatchingParams = ctx.params
        L, H = p.n_layers, p.n_heads
        t0 = time.perf_counter()
        model, losses, was_cached = induction_model(ctx, p)
        t_train = time.perf_counter() - t0
        ctx.check_cancelled()
        ctx.progress(0, 2, message="patching")
        t1 = time.perf_counter()
        dev = next(model.parameters()).device
        r = run_patching(model, p, ctx.seed, dev, reference=p.compare)
        ctx.progress(1, 2, message="patching")
        info, metric = r["info"], r["metric"]
        resid, heads, by_pos = r["resid"].cpu(), r["heads"].cpu(), r["by_pos"].cpu()
        labels = info["labels"]
        T = len(labels)

        top = max(((l, h) for l in range(L) for h in range(H)), key=lambda lh: float(heads[lh]))
        top_val = float(heads[top])
        top_ok = tuple(head_name(l, h) for l in range(L) for h in range(H) if float(heads[l, h]) >= 0.9 * top_val)
        best_pos_l1 = int(resid[L - 1].argmax())
        best_pos_l0 = int(resid[0].argmax())
        metrics: dict[str, float] = {
            "ld_clean": metric.ld_clean,
            "ld_corrupt": metric.ld_corrupt,
            "top_head_layer": float(top[0]),
            "top_head": float(top[1]),
            "top_head_recovery": top_val,
            "resid_best_pos_last_layer": float(best_pos_l1),
            "resid_best_pos_layer0": float(best_pos_l0),
            "b_pos": float(info["b_pos"]),
            "end_pos": float(info["end"]),
            "resid_end_last_layer": float(resid[L - 1, info["end"]]),
            "resid_bpos_last_layer": float(resid[L - 1, info["b_pos"]]),
            "t_batched": r["t_batched"],
            "was_cached": float(was_cached),
            "n_patches": float(L * T + L * H + L * H * T),
        }
        if "ref" in r:
            metrics.update(
                t_reference=r["t_reference"],
                max_abs_diff=r["max_abs_diff"],
                speedup=r["t_reference"] / max(r["t_batched"], 1e-9),
            )
        for l in range(L):
            for h in range(H):
                metrics[f"head_{head_name(l, h)}"] = float(heads[l, h])

        blocks: list[Any] = [
            Text(
                title="Setup",
                body=(
                    f"Induction model ({L} layers x {H} heads, {'cached' if was_cached else 'trained now'}). "
                    f"{p.n_pairs} prompt pairs of {T} tokens: BOS, {p.period} random tokens, then the first "
                    f"{p.query_index + 1} again. Clean: the earlier A is followed by B; corrupt: by D. "
                    f"Logit diff B-D: clean {metric.ld_clean:.2f}, corrupt {metric.ld_corrupt:.2f}. "
                    "Patched values are normalised: 0 = corrupt, 1 = clean."
                ),
            ),
            Heatmap(
                title="Patch residual stream (resid_pre) by layer and position",
                values=resid.tolist(),
                row_labels=[f"L{l}" for l in range(L)],
                col_labels=labels,
                caption="Clean activation copied into the corrupted run at one (layer, position).",
            ),
            Heatmap(
                title="Patch each head's output (all positions)",
                values=heads.tolist(),
                row_labels=[f"L{l}" for l in range(L)],
                col_labels=[f"H{h}" for h in range(H)],
            ),
            Heatmap(
                title="Patch each head's output at one position",
                values=by_pos.reshape(L * H, T).tolist(),
                row_labels=[head_name(l, h) for l in range(L) for h in range(H)],
                col_labels=labels,
            ),
        ]
        if "ref" in r:
            blocks.append(
                Table(
                    title="Batched patching vs reference",
                    columns=["method", "forwards", "seconds", "max |diff|"],
                    rows=[
                        ["batched (this lab)", "few (no-op patches skipped)", round(r["t_batched"], 4), "-"],
                        [
                            r["ref_name"],
                            int(metrics["n_patches"]),
                            round(r["t_reference"], 4),
                            f"{r['max_abs_diff']:.2e}",
                        ],
                    ],
                    caption=(
                        f"Speed-up {metrics['speedup']:.1f}x for identical results."
                        + (
                            f" transformer_lens.patching failed ({r['ref_error']}); compared with a hook loop."
                            if "ref_error" in r
                            else ""
                        )
                    ),
                )
            )
        ctx.progress(2, 2, message="done")
        return LabResult(
            blocks=blocks,
            metrics=metrics,
            questions=build_questions(metrics, labels, L, H, top_ok),
            timings={"train": t_train, "experiments": time.perf_counter() - t1, "total": time.perf_counter() - t0},
        )


def build_questions(m: dict[str, float], labels: list[str], L: int, H: int, top_ok: tuple[str, ...]) -> list:
    heads = tuple(head_name(l, h) for l in range(L) for h in range(H))
    top = head_name(int(m["top_head_layer"]), int(m["top_head"]))
    head_list = ", ".join(f"{n} {m[f'head_{n}']:.2f}" for n in heads)
    b, end = int(m["b_pos"]), int(m["end_pos"])
    best = int(m["resid_best_pos_last_layer"])
    options = (
        f"{labels[b]} (position {b}, the corrupted token)",
        f"{labels[end]} (position {end}, the last token)",
        f"{labels[b - 1]} (position {b - 1}, the earlier A)",
        "BOS (position 0)",
    )
    pos_for = [b, end, b - 1, 0]
    correct = pos_for.index(best) if best in pos_for else 0
    return [
        PickComponent(
            id="top-head",
            components=heads,
            correct=top_ok,
            any_of=True,
            prompt="Patching which single head's output (all positions) restores the most logit difference?",
            explanation=f"Normalised recovery per head: {head_list}. {top} restores {m['top_head_recovery']:.2f}.",
        ),
        Numeric(
            id="top-head-recovery",
            answer=round(m["top_head_recovery"], 3),
            abs_tol=0.1,
            rel_tol=0.0,
            prompt="What fraction of the clean logit difference does patching that best head alone recover (0 to 1)?",
            explanation=(
                f"{m['top_head_recovery']:.2f} (normalised: corrupt logit diff {m['ld_corrupt']:.2f} -> 0, "
                f"clean {m['ld_clean']:.2f} -> 1)."
            ),
        ),
        MultipleChoice(
            id="resid-position",
            options=options,
            correct=correct,
            prompt=f"Patching resid_pre of layer {L - 1}: which position restores the metric most?",
            explanation=(
                f"In layer {L - 1} the best position is {best} ({labels[best]}): resid there recovers "
                f"{m['resid_bpos_last_layer']:.2f} at the corrupted position vs {m['resid_end_last_layer']:.2f} at "
                f"the last token. B/D still sits at its own position before layer {L - 1}; the induction head moves it "
                "to the end in the last layer."
            ),
        ),
        MultipleChoice(
            id="agreement",
            options=("They agree to about 1e-4 or better", "They differ by about 1%", "They differ a lot"),
            correct=0 if m.get("max_abs_diff", 0.0) <= 1e-4 else (1 if m.get("max_abs_diff", 0.0) < 0.05 else 2),
            prompt="How do the batched patching results compare with one-forward-per-patch patching?",
            explanation=(
                f"Max |difference| {m.get('max_abs_diff', float('nan')):.1e}; batched took {m['t_batched']:.3f} s vs "
                f"{m.get('t_reference', float('nan')):.3f} s ({m.get('speedup', float('nan')):.1f}x). Each copy of the "
                "batch gets exactly one patch, so the forward is the same computation."
            ),
        ),
        FreeText(
            id="noising-vs-denoising",
            prompt="Here we patched clean activations into the corrupted run. What does that show, and what would patching corrupt into clean show instead?",
            model_answer=(
                "Clean-into-corrupt (denoising) shows which activations are sufficient to restore the behaviour. "
                "Corrupt-into-clean (noising) shows which are necessary: breaking them hurts. They differ when a "
                "circuit has redundant parts (backup heads, OR) or needs several parts together (AND)."
            ),
            key_points=(
                "denoising: clean into corrupt finds sufficient components",
                "noising: corrupt into clean finds necessary components",
                "they differ with redundancy/backup (OR) or conjunctions (AND)",
            ),
            terms=(
                ("sufficien", "restor", "denois"),
                ("necessar", "break", "noising", "hurt"),
                ("redundan", "backup", "conjunction", "both needed", "several parts"),
            ),
            explanation=f"In this run patching {top} alone restores {m['top_head_recovery']:.2f} of the logit difference.",
        ),
    ]


LAB = ActivationPatchingLab()
