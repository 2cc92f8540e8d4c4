"""Questions of the attribution-patching lab (:mod:`labs.attribution_patching`), built from its metrics:
predict the value-side error and its cause (final LayerNorm), predict the key-side previous-token head
from attention patterns and why attribution misses it (attention softmax), the cost of exact patching."""

from __future__ import annotations

from mi_prep.lab.api import FreeText, MultipleChoice, Numeric, PickComponent
from mi_prep.lab.attribution import scale_story


def build_questions(m: dict[str, float], L: int, H: int, T: int, top: str, prev_ok: tuple[str, ...]) -> list:
    heads = tuple(f"L{l}H{h}" for l in range(L) for h in range(H))
    n_runs = L * H * T + L * T
    s, sd = m["slope_value"], m["slope_value_sd"]
    under = 3 if s < 0 else 0 if s + 2 * sd < 0.95 else 2 if s - 2 * sd > 1.05 else 1
    last = L - 1
    pat_v = max(abs(m[f"pattern_exact_value_L{l}"]) for l in range(L))
    fz, ex, at = m["top_frozen"], m["top_exact"], m["top_attr"]
    ln_explains = abs(fz - ex) < 0.5 * abs(at - ex)
    pat_k = m[f"pattern_exact_key_L{last}"]
    p_ex = ", ".join(f"{h} {m[f'exact_key_{h}']:.2f}" for h in heads if h.startswith("L0"))
    p_at = ", ".join(f"{h} {m[f'attr_key_{h}']:.2f}" for h in heads if h.startswith("L0"))
    return [
        MultipleChoice(
            id="predict-value",
            options=(
                "Attribution underestimates them (slope well below 1)",
                "About right (slope near 1)",
                "Attribution overestimates them (slope above 1)",
                "Attribution gets the sign wrong",
            ),
            correct=under,
            conceptual=True,
            prompt=(
                f"Value side (B -> D): the layer-{last} heads write straight into the logits (through the final "
                f"LayerNorm). Predict: compared with exact patching, what does attribution do for the layer-{last} "
                "heads?"
            ),
            explanation=(
                f"Attribution's least-squares slope on exact patching is "
                f"{('well below 1', 'near 1', 'above 1', 'negative')[under]} (judged against 2 bootstrap SDs), "
                f"Pearson r {m['pearson_heads']:.3f}"
                + (": the ranking is right, the size is not." if m["pearson_heads"] > 0.95 and under != 1 else ".")
            ),
        ),
        Numeric(
            id="value-slope",
            answer=round(s, 3),
            abs_tol=max(0.05, 2 * sd),
            rel_tol=0.0,
            conceptual=True,
            prompt="Value side: what is the slope of attribution on exact patching (least squares through the origin, heads x positions)?",
            explanation=f"{s:.3f} (bootstrap SD {sd:.3f}): attribution gives {top} {at:.3f} where exact patching gives {ex:.3f}.",
        ),
        MultipleChoice(
            id="why-value",
            options=(
                "The final LayerNorm's scale changes as the patch grows",
                f"The layer-{last} attention patterns shift as the patch grows",
                "The logit difference saturates as the patch grows",
            ),
            correct=0 if ln_explains else 1,
            conceptual=True,
            prompt=f"Why does the linear estimate {'undershoot' if under == 0 else 'miss'} the layer-{last} heads on the value side?",
            explanation=(
                f"Attention patterns barely matter here (patching every layer's pattern restores at most {pat_v:.3f}); "
                "the logit difference is linear in the logits and does not saturate. The final LayerNorm's "
                f"scale goes from {m['scale_corrupt']:.3f} to {m['scale_mid']:.3f} half-way and {m['scale_patched']:.3f} "
                f"with {top} fully patched. " + scale_story(m)
            ),
        ),
        Numeric(
            id="ln-frozen",
            answer=round(fz, 3),
            abs_tol=max(0.03, 2 * m["top_frozen_sd"], 1.5 * abs(fz - ex)),
            rel_tol=0.0,
            prompt=(
                f"Recompute the attribution of {top} (all positions) with the final LayerNorm's scale treated as a "
                f"constant (the corrupted run's). Plain attribution gave {at:.3f}. Predict the new estimate."
            ),
            explanation=(
                f"{fz:.3f} (bootstrap SD {m['top_frozen_sd']:.3f}), vs exact patching {ex:.3f}. With the scale frozen, "
                f"everything after a layer-{last} head is linear, so attribution is exact for the frozen network; the "
                f"full patch moves the real scale from {m['scale_corrupt']:.3f} to {m['scale_patched']:.3f}"
                + (", which matters far less than the gradient's extrapolation." if ln_explains else ".")
            ),
        ),
        PickComponent(
            id="key-prev-head",
            components=tuple(h for h in heads if h.startswith("L0")),
            correct=prev_ok,
            any_of=True,
            prompt=(
                "Key side (A -> A': the earlier A becomes a token not in the prompt). From the layer-0 attention "
                "patterns, predict: which layer-0 head will exact activation patching show restoring the most?"
            ),
            explanation=(
                f"Exact: {p_ex}; attribution: {p_at}. Accepted: {' or '.join(prev_ok)} (within 2 bootstrap SDs of the "
                f"best). The previous-token head (highest attention to the previous token: "
                f"L0H{int(m['prev_head_attention'])}) writes A into B's position, which the induction head's keys need."
            ),
        ),
        MultipleChoice(
            id="why-key",
            options=(
                f"Its effect goes through layer {last}'s attention softmax, which the gradient linearises",
                "Its effect goes through the final LayerNorm, whose scale the gradient linearises",
                f"Its effect goes through the values layer {last} copies, which the gradient linearises",
            ),
            correct=0 if pat_k > 0.5 else 1,
            conceptual=True,
            prompt=f"Why is attribution's estimate for the previous-token head off on the key side (exact {p_ex}; attribution {p_at})?",
            explanation=(
                f"Patching layer {last}'s attention pattern alone restores {pat_k:.2f} (estimate "
                f"{m[f'pattern_attr_key_L{last}']:.2f}); attention to B from the last position goes from "
                f"{m['attn_to_b_corrupt_key']:.2f} to {m['attn_to_b_clean_key']:.2f}: a large move through a softmax. The values copied from B are "
                "the same in both runs (B is not corrupted). AtP* (Kramar et al. 2024, an improved attribution "
                "patching) recomputes the attention softmax for query/key changes instead of linearising it."
            ),
        ),
        Numeric(
            id="cost",
            answer=float(n_runs),
            abs_tol=0.5,
            rel_tol=0.0,
            prompt=(
                "Exact activation patching does one patched run per component. Patching every head at every "
                "position plus the residual stream at every (layer, position), how many patched runs is that for "
                "these prompts?"
            ),
            explanation=(
                f"{L} x {H} x {T} + {L} x {T} = {n_runs}: it grows with layers x heads x positions, while attribution "
                "gets every estimate from one clean forward, one corrupted forward and one backward. Here: "
                f"{m['t_attribution'] * 1000:.1f} ms vs {m['t_activation'] * 1000:.1f} ms; batching packs many "
                "patched copies into one forward but still computes each."
            ),
        ),
        FreeText(
            id="how-to-use",
            prompt="How would you use attribution patching on a large model, given where it fails?",
            model_answer=(
                "Use it as a cheap screen over all components, then verify the top candidates with real activation "
                "patching. Distrust its magnitudes (LayerNorm and other nonlinearities bend the metric) and anything "
                "whose effect goes through attention patterns. AtP* (an improved attribution patching) recomputes the "
                "attention softmax exactly and uses GradDrop (repeating the backward with one layer's gradient path "
                "dropped at a time) to catch effects that cancel."
            ),
            key_points=(
                "cheap first pass over all components",
                "verify top candidates with activation patching",
                "magnitudes off through LayerNorm; effects through attention patterns missed; AtP* fixes",
            ),
            terms=(
                ("cheap", "screen", "fast", "all components", "first pass"),
                ("verify", "activation patching", "confirm", "check"),
                ("layernorm", "layer norm", "softmax", "attention pattern", "saturat", "atp", "nonlinear"),
            ),
            explanation=(
                f"Here the value-side ranking is right (r = {m['pearson_heads']:.3f}) with sizes scaled by {s:.2f}; "
                f"on the key side r = {m['pearson_heads_key']:.2f}."
            ),
        ),
    ]
