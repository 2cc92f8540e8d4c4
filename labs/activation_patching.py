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

from mi_prep.lab.activation_questions import build_questions, head_name
from mi_prep.lab.api import Field, Heatmap, Lab, LabContext, LabResult, Table, Text
from mi_prep.lab.tasks.induction import PATCHING_SMALL
from mi_prep.lab.tasks.induction_patching import TwoCorruptionSpec


class ActivationPatchingParams(TwoCorruptionSpec):
    compare: bool = Field(True, description="also run transformer_lens.patching and compare")


def _r(x: float) -> float:
    return round(float(x), 3)


class ActivationPatchingLab(Lab):
    name = "activation-patching"
    title = "Activation patching"
    summary = (
        "Clean vs corrupted repeated-token prompts on the induction model: patch the residual stream "
        "and every head (batched) under two corruptions, one for each half of the circuit."
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

        def add_table(c, after):
            return Table(
                title=f"{'Value' if c == 'value' else 'Key'} side: heads alone vs all heads of a layer together",
                columns=["layer", "each head alone", "sum", "together", "together - sum (+- SD)"],
                rows=[
                    [
                        f"L{l}",
                        " ".join(f"{x:.2f}" for x in d["alone"]),
                        _r(d["sum"]),
                        _r(d["together"]),
                        f"{d['gap']:+.2f} +- {d['gap_sd']:.2f}",
                    ]
                    for (c2, l), d in add.items()
                    if c2 == c
                ],
                caption="SD: bootstrap over prompt pairs.",
                after=after,
            )

        pat0, pat0_rows = ps.pattern_rows(val["cache"], 0, labels)
        lrows = [f"L{l}" for l in range(L)]
        hcols = [f"H{h}" for h in range(H)]
        blocks: list[Any] = [
            Text(
                title="Setup",
                body=(
                    f"Induction model ({L} layers x {H} heads, {'cached' if was_cached else 'trained now'}). "
                    f"{n} prompt pairs of {T} tokens: BOS, {p.period} random tokens, then the first "
                    f"{info['query_index'] + 1} again (this seed ends the prompt on prefix token "
                    f"{info['query_index'] + 1}). The earlier A sits at position {a} (labelled A*), followed by B at "
                    f"{b} (B*); the prompt ends on A at {end} ('A (end)'), so the clean run predicts B. Value-side "
                    f"corruption: B -> D at {b}. Metric: logit(B) - logit(D); clean {m['ld_clean']:.2f}, corrupt "
                    f"{m['ld_corrupt']:.2f}. Patched values are normalised: 0 = corrupt, 1 = clean. resid_pre = the "
                    "residual stream entering a layer (before its attention)."
                ),
            ),
            Heatmap(
                title="Layer-0 heads: mean attention pattern on the clean prompts",
                values=pat0,
                row_labels=pat0_rows,
                col_labels=labels,
                caption="Rows: head, then the attending (query) position; columns: the position attended to (key).",
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
            add_table("value", "l1-together"),
            Text(
                title="Key-side corruption",
                body=(
                    f"A -> A' at position {a}: the earlier A becomes a token not in the prompt, so nothing is marked "
                    f"as following A any more. Metric: clean {m['ld_clean']:.2f}, key-side corrupt "
                    f"{m['ld_corrupt_key']:.2f}; normalised the same way (0 = corrupt, 1 = clean)."
                ),
                after="which-corruption",
            ),
            heat(
                "Key side (A -> A'): patch each head's output (all positions)",
                k_heads.tolist(),
                lrows,
                hcols,
                after="prev-token-head",
            ),
            heat(
                "Key side (A -> A'): patch each head's output at one position",
                key["by_pos"].cpu().reshape(L * H, T).tolist(),
                heads,
                labels,
                after="key-side-resid",
            ),
            add_table("key", "l0-together"),
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
                        [
                            "batched (this lab)",
                            "batched, each from its layer on; no-op patches skipped",
                            round(val["t_batched"], 4),
                            "-",
                        ],
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


LAB = ActivationPatchingLab()
