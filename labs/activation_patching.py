"""Activation patching on the induction model: clean vs corrupted prompts, normalised logit difference,
patch the residual stream (layer x position), every head's output, and every head of a layer together,
batched into few forwards per sweep (:mod:`mi_prep.lab.patching`), checked against
``transformer_lens.patching`` (one forward per patch) for the same numbers.

Task (:mod:`mi_prep.lab.tasks.induction_patching`): clean = BOS, P random tokens, then the first j+1 of
them again (ends on A, whose earlier copy is followed by B; the seed picks j). Two corruptions of the
earlier copy: value side (B -> D: what the induction head copies) and key side (A -> A': where it looks,
which is what the previous-token head provides). Metric = logit(B) - logit(D), normalised so corrupt = 0,
clean = 1. Uncertainties are bootstrap SDs over the prompt pairs (:mod:`mi_prep.lab.patching_stats`).
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
from mi_prep.lab.tasks.induction import PATCHING_SMALL
from mi_prep.lab.tasks.induction_patching import TwoCorruptionSpec


class ActivationPatchingParams(TwoCorruptionSpec):
    compare: bool = Field(True, description="also run transformer_lens.patching and compare")


def head_name(layer: int, head: int) -> str:
    return f"L{layer}H{head}"


def _r(x: float) -> float:
    return round(float(x), 3)


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
        from mi_prep.lab import patching_stats as ps
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
        info, val, key = r["info"], r["value"], r["key"]
        labels, a, b, end = info["labels"], info["a_pos"], info["b_pos"], info["end"]
        T, n = len(labels), p.n_pairs
        idx = ps.boot_indices(n, seed=ctx.seed)
        heads = [head_name(l, h) for l in range(L) for h in range(H)]
        v_heads, k_heads = val["heads"].cpu(), key["heads"].cpu()
        v_sd, k_sd = ps.boot_sd(val["heads_ex"].cpu(), idx), ps.boot_sd(key["heads_ex"].cpu(), idx)
        prev_ok = [head_name(0, h) for h in ps.near_best(key["heads_ex"][0].cpu(), idx)]
        prev_score = ps.prev_token_scores(val["cache"], 0)
        scores = {
            head_name(l, h): float(s) for l in range(L) for h, s in enumerate(ps.prev_token_scores(val["cache"], l))
        }
        add = {
            (c, l): ps.additivity(s["heads_ex"][l].cpu(), s["layers_ex"][l].cpu(), idx)
            for c, s in (("value", val), ("key", key))
            for l in range(L)
        }
        top = max(((l, h) for l in range(L) for h in range(H)), key=lambda lh: float(v_heads[lh]))
        k_resid, v_resid = key["resid"].cpu(), val["resid"].cpu()
        m: dict[str, float] = {
            "ld_clean": val["metric"].ld_clean,
            "ld_corrupt": val["metric"].ld_corrupt,
            "ld_corrupt_key": key["metric"].ld_corrupt,
            "query_index": float(info["query_index"]),
            "a_pos": float(a),
            "b_pos": float(b),
            "end_pos": float(end),
            "top_head_layer": float(top[0]),
            "top_head": float(top[1]),
            "top_head_recovery": float(v_heads[top]),
            "prev_head_patching": float(int(k_heads[0].argmax())),
            "prev_head_attention": float(int(prev_score.argmax())),
            "resid_bpos_last_layer": float(v_resid[L - 1, b]),
            "resid_end_last_layer": float(v_resid[L - 1, end]),
            "key_resid_best_pos_last_layer": float(int(k_resid[L - 1].argmax())),
            "key_resid_best_pos_layer0": float(int(k_resid[0].argmax())),
            **{
                f"key_resid_last_{w}": float(k_resid[L - 1, q])
                for w, q in (("a", a), ("b", b), ("end", end), ("before", a - 1))
            },
            "t_batched": val["t_batched"] + key["t_batched"],
            "was_cached": float(was_cached),
        }
        for (c, l), d in add.items():
            m.update({f"{c}_L{l}_sum": d["sum"], f"{c}_L{l}_together": d["together"], f"{c}_L{l}_gap": d["gap"]})
            m.update({f"{c}_L{l}_gap_sd": d["gap_sd"], f"{c}_L{l}_together_sd": d["together_sd"]})
        for i, hn in enumerate(heads):
            l, h = divmod(i, H)
            m.update({f"value_{hn}": float(v_heads[l, h]), f"key_{hn}": float(k_heads[l, h])})
            m.update({f"value_sd_{hn}": float(v_sd[l, h]), f"key_sd_{hn}": float(k_sd[l, h]), f"prev_{hn}": scores[hn]})
        if "ref" in r:
            m.update(t_reference=r["t_reference"], max_abs_diff=r["max_abs_diff"])
            m["speedup"] = r["t_reference"] / max(val["t_batched"], 1e-9)

        def heat(title, values, rows, cols, after="", caption=""):
            return Heatmap(title=title, values=values, row_labels=rows, col_labels=cols, after=after, caption=caption)

        lrows = [f"L{l}" for l in range(L)]
        hcols = [f"H{h}" for h in range(H)]
        blocks: list[Any] = [
            Text(
                title="Setup",
                body=(
                    f"Induction model ({L} layers x {H} heads, {'cached' if was_cached else 'trained now'}). "
                    f"{n} prompt pairs of {T} tokens: BOS, {p.period} random tokens, then the first "
                    f"{info['query_index'] + 1} again (this seed ends the prompt on prefix token "
                    f"{info['query_index'] + 1}). The earlier A sits at position {a}, followed by B at {b}; the prompt "
                    f"ends on A at {end}, so the clean run predicts B. Value-side corruption: B -> D at {b}. Key-side "
                    f"corruption: A -> A' at {a}. Metric: logit(B) - logit(D); clean {m['ld_clean']:.2f}, value-side "
                    f"corrupt {m['ld_corrupt']:.2f}, key-side corrupt {m['ld_corrupt_key']:.2f}. Patched values are "
                    "normalised per corruption: 0 = corrupt, 1 = clean."
                ),
            ),
            heat("Value side (B -> D): patch each head's output (all positions)", v_heads.tolist(), lrows, hcols),
            heat(
                "Value side (B -> D): patch each head's output at one position",
                val["by_pos"].cpu().reshape(L * H, T).tolist(),
                heads,
                labels,
            ),
            heat(
                "Value side (B -> D): patch the residual stream (resid_pre) by layer and position",
                v_resid.tolist(),
                lrows,
                labels,
                after="l1-together",
                caption="Clean activation copied into the corrupted run at one (layer, position).",
            ),
            Table(
                title="Heads alone vs all heads of a layer together",
                columns=["corruption", "layer", "each head alone", "sum", "together", "together - sum (+- SD)"],
                rows=[
                    [
                        c,
                        f"L{l}",
                        " ".join(f"{x:.2f}" for x in d["alone"]),
                        _r(d["sum"]),
                        _r(d["together"]),
                        f"{d['gap']:+.2f} +- {d['gap_sd']:.2f}",
                    ]
                    for (c, l), d in add.items()
                ],
                caption="SD: bootstrap over prompt pairs.",
                after="l1-together",
            ),
            heat(
                "Key side (A -> A'): patch each head's output (all positions)",
                k_heads.tolist(),
                lrows,
                hcols,
                after="which-corruption",
            ),
            heat(
                "Key side (A -> A'): patch each head's output at one position",
                key["by_pos"].cpu().reshape(L * H, T).tolist(),
                heads,
                labels,
                after="which-corruption",
            ),
            Table(
                title="Each head: attention to the previous token vs patching effect",
                columns=[
                    "head",
                    "attention to previous token",
                    "key-side patching (+- SD)",
                    "value-side patching (+- SD)",
                ],
                rows=[
                    [
                        hn,
                        _r(scores[hn]),
                        f"{m[f'key_{hn}']:.2f} +- {m[f'key_sd_{hn}']:.2f}",
                        f"{m[f'value_{hn}']:.2f} +- {m[f'value_sd_{hn}']:.2f}",
                    ]
                    for hn in heads
                ],
                caption="Attention to the previous token: mean over the clean prompts' positions.",
                after="prev-token-head",
            ),
            heat(
                "Key side (A -> A'): patch the residual stream (resid_pre)",
                k_resid.tolist(),
                lrows,
                labels,
                after="key-side-resid",
            ),
        ]
        if "ref" in r:
            note = (
                f" transformer_lens.patching failed ({r['ref_error']}); compared with a hook loop."
                if "ref_error" in r
                else ""
            )
            blocks.append(
                Table(
                    title="Batched patching vs reference (value side)",
                    columns=["method", "forwards", "seconds", "max |diff|"],
                    rows=[
                        ["batched (this lab)", "few (no-op patches skipped)", round(val["t_batched"], 4), "-"],
                        [
                            r["ref_name"],
                            L * T + L * H + L * H * T,
                            round(r["t_reference"], 4),
                            f"{r['max_abs_diff']:.2e}",
                        ],
                    ],
                    caption=f"Speed-up {m['speedup']:.1f}x here for identical results (timings vary run to run).{note}",
                    after="agreement",
                )
            )
        ctx.progress(2, 2, message="done")
        return LabResult(
            blocks=blocks,
            metrics=m,
            questions=build_questions(m, labels, L, H, tuple(prev_ok)),
            timings={"train": t_train, "experiments": time.perf_counter() - t1, "total": time.perf_counter() - t0},
        )


def build_questions(m: dict[str, float], labels: list[str], L: int, H: int, prev_ok: tuple[str, ...]) -> list:
    heads = tuple(head_name(l, h) for l in range(L) for h in range(H))
    last = L - 1
    alone = ", ".join(f"{head_name(last, h)} {m[f'value_{head_name(last, h)}']:.2f}" for h in range(H))
    a, b, end = int(m["a_pos"]), int(m["b_pos"]), int(m["end_pos"])
    tog, tog_sd, s = m[f"value_L{last}_together"], m[f"value_L{last}_together_sd"], m[f"value_L{last}_sum"]
    gap, gap_sd = m[f"value_L{last}_gap"], m[f"value_L{last}_gap_sd"]
    add_key = 0 if abs(gap) <= 2 * gap_sd else (1 if gap > 0 else 2)  # additive / AND / OR
    g0, g0_sd = m["key_L0_gap"], m["key_L0_gap_sd"]
    l0_word = "more than" if g0 > 2 * g0_sd else "less than" if g0 < -2 * g0_sd else "about"
    opts = (
        f"{labels[a]} (position {a}, the corrupted token)",
        f"{labels[b]} (position {b}, the token after it)",
        f"{labels[end]} (position {end}, the last token)",
        f"{labels[a - 1]} (position {a - 1}, the token before it)",
    )
    best = int(m["key_resid_best_pos_last_layer"])
    k_res = [m[f"key_resid_last_{w}"] for w in ("a", "b", "end", "before")]
    correct_pos = max(range(4), key=lambda i: k_res[i])  # the best position is one of them in practice
    prev = " or ".join(prev_ok)
    attn_prev = head_name(0, int(m["prev_head_attention"]))
    return [
        Numeric(
            id="l1-together",
            answer=round(tog, 3),
            abs_tol=max(0.1, 2 * tog_sd),
            rel_tol=0.0,
            conceptual=True,
            prompt=(
                f"Value side: patching one layer-{last} head alone restores {alone}. Predict: what does patching "
                f"all {H} layer-{last} heads together restore (0 = corrupt, 1 = clean)?"
            ),
            explanation=(
                f"{tog:.3f} (bootstrap SD {tog_sd:.3f}); the sum of the heads alone is {s:.2f}. A patch of every "
                f"layer-{last} head puts the whole clean attention output back at the last position."
            ),
        ),
        MultipleChoice(
            id="l1-additive",
            options=(
                "They split the job: each writes part of the B-vs-D logit difference straight into the output, so the effects add (together ~ sum)",
                "They need each other (AND): together is far more than the sum of each alone",
                "They are redundant backups (OR): each alone would restore almost everything",
            ),
            correct=add_key,
            conceptual=True,
            prompt=f"Compare 'together' with the sum of 'each alone' for layer {last} under the value-side corruption. What does it say about those heads?",
            explanation=(
                f"Together {tog:.2f} vs sum {s:.2f} (difference {gap:+.2f} +- {gap_sd:.2f}). Layer-{last} heads feed the "
                f"unembedding directly (through the final LayerNorm only), a nearly linear path. Contrast layer 0 under "
                f"the key-side corruption: together {m['key_L0_together']:.2f} is {l0_word} the sum {m['key_L0_sum']:.2f} "
                f"({g0:+.2f} +- {g0_sd:.2f}); layer-0 heads act through layer {last}'s attention softmax, not linearly."
            ),
        ),
        MultipleChoice(
            id="which-corruption",
            options=(
                "Replace the earlier A (the token just before B) with another token",
                "Replace B with yet another token",
                "Replace the final A (the query) with another token",
                "Replace BOS with another token",
            ),
            correct=0,
            conceptual=True,
            prompt=(
                "Which single-token corruption of the clean prompt makes the previous-token head's output differ "
                "between the clean and the corrupted run, so that patching it can restore the metric?"
            ),
            explanation=(
                f"Changing A at position {a}: the previous-token head at {b} then copies A' instead of A, and the "
                "induction head no longer finds B. Changing B or the final A leaves what it moves into B's position "
                "unchanged."
            ),
        ),
        PickComponent(
            id="prev-token-head",
            components=heads,
            correct=prev_ok,
            any_of=True,
            prompt="Which head is the previous-token head (the layer-0 head whose output carries the key-side corruption)?",
            explanation=(
                "Key-side patching of layer 0: "
                + ", ".join(f"{head_name(0, h)} {m[f'key_{head_name(0, h)}']:.2f}" for h in range(H))
                + f"; accepted: {prev} (within 2 bootstrap SDs of the best). Under B -> D the same heads restore "
                + ", ".join(f"{m[f'value_{head_name(0, h)}']:.2f}" for h in range(H))
                + f". Attention to the previous token is highest for {attn_prev}"
                + (
                    ", one of the accepted heads."
                    if attn_prev in prev_ok
                    else ", which the patching does not single out."
                )
            ),
        ),
        MultipleChoice(
            id="key-side-resid",
            options=opts,
            correct=correct_pos,
            prompt=f"Key side (A -> A' at position {a}): patching layer {last}'s resid_pre at which position restores the metric?",
            explanation=(
                f"Position {best} ({labels[best]}); in layer 0 the best position is {int(m['key_resid_best_pos_layer0'])}. "
                + (
                    "The difference starts at the corrupted token; the previous-token head moves it one position on, "
                    "into B's residual stream, which is where the induction head's keys read it."
                    if (best, int(m["key_resid_best_pos_layer0"])) == (b, a)
                    else "The previous-token head would move it from A* to B; this run does not show that cleanly."
                )
            ),
        ),
        MultipleChoice(
            id="agreement",
            options=("They agree to about 1e-4 or better", "They differ by about 1%", "They differ a lot"),
            correct=0 if m.get("max_abs_diff", 0.0) <= 1e-4 else (1 if m.get("max_abs_diff", 0.0) < 0.05 else 2),
            conceptual=True,
            prompt="How do the batched patching results compare with one-forward-per-patch patching?",
            explanation=(
                f"Max |difference| {m.get('max_abs_diff', float('nan')):.1e}. Each copy of the batch gets exactly one "
                "patch, so the forward is the same computation."
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
            explanation=(
                f"In this run all layer-0 heads together restore {m['key_L0_together']:.2f} of the key-side metric, "
                f"{l0_word} the {m['key_L0_sum']:.2f} their separate patches add up to."
            ),
        ),
    ]


LAB = ActivationPatchingLab()
