"""Questions of the activation-patching lab (:mod:`labs.activation_patching`), built from its metrics.

Order: predict the value-side layer-1 heads together; find the corruption that exposes the
previous-token head; predict that head from the layer-0 attention patterns; predict the layer-0 heads
together on the key side; where the key-side signal sits in layer 1's residual stream; why batched
patching is exact; noising vs denoising."""

from __future__ import annotations

from mi_prep.lab.api import FreeText, MultipleChoice, PickComponent


def head_name(layer: int, head: int) -> str:
    return f"L{layer}H{head}"


def _together_key(gap: float, gap_sd: float) -> int:
    """0 = about the sum, 1 = clearly more, 2 = clearly less (outside 2 bootstrap SDs of the gap)."""
    return 0 if abs(gap) <= 2 * gap_sd else (1 if gap > 0 else 2)


def build_questions(m: dict[str, float], labels: list[str], L: int, H: int, prev_ok: tuple[str, ...]) -> list:
    heads = tuple(head_name(l, h) for l in range(L) for h in range(H))
    last = L - 1
    alone_v = [m[f"value_{head_name(last, h)}"] for h in range(H)]
    alone = ", ".join(f"{head_name(last, h)} {x:.2f}" for h, x in enumerate(alone_v))
    a, b, end = int(m["a_pos"]), int(m["b_pos"]), int(m["end_pos"])
    tog, tog_sd, s = m[f"value_L{last}_together"], m[f"value_L{last}_together_sd"], m[f"value_L{last}_sum"]
    gap, gap_sd = m[f"value_L{last}_gap"], m[f"value_L{last}_gap_sd"]
    v_key = _together_key(gap, gap_sd)
    if v_key == 2:  # clearly less than the sum: about the best head alone, or less still
        v_key = 2 if tog >= max(alone_v) - 2 * tog_sd else 3
    g0, g0_sd = m["key_L0_gap"], m["key_L0_gap_sd"]
    k_key = _together_key(g0, g0_sd)
    alone_k = ", ".join(f"{head_name(0, h)} {m[f'key_{head_name(0, h)}']:.2f}" for h in range(H))
    opts = (
        f"{labels[a]} (position {a}, the corrupted token)",
        f"{labels[b]} (position {b}, the token after it)",
        f"{labels[end]} (position {end}, the last token)",
        f"{labels[a - 1]} (position {a - 1}, the token before it)",
    )
    best, best0 = int(m["key_resid_best_pos_last_layer"]), int(m["key_resid_best_pos_layer0"])
    k_res = [m[f"key_resid_last_{w}"] for w in ("a", "b", "end", "before")]
    correct_pos = max(range(4), key=lambda i: k_res[i])  # the best position is one of them in practice
    prev = " or ".join(prev_ok)
    attn_prev = head_name(0, int(m["prev_head_attention"]))
    linear = (
        f"Layer-{last} heads reach the logits through the final LayerNorm and the unembedding only, a "
        "nearly linear path, so their separate patches add up"
        if v_key == 0
        else f"Layer-{last} heads are not additive in this run"
    )
    v0 = max(abs(m[f"value_{head_name(0, h)}"]) for h in range(H))
    more_less = ("about", "more than", "less than")[k_key]
    return [
        MultipleChoice(
            id="l1-together",
            options=(
                f"About the sum of the {H} alone",
                f"Clearly more than the sum of the {H} alone",
                "About the largest single head alone",
                "Clearly less than the largest single head",
            ),
            correct=v_key,
            conceptual=True,
            prompt=(
                f"Value side: patching one layer-{last} head alone restores {alone} (sum {s:.2f}). Predict: "
                f"what does patching all {H} layer-{last} heads together restore?"
            ),
            explanation=(
                f"Together {tog:.3f} (bootstrap SD {tog_sd:.3f}) vs sum {s:.2f}: difference {gap:+.2f} +- "
                f"{gap_sd:.2f}. {linear}. Together they put the whole clean attention output of layer {last} "
                "back at the last position."
            ),
        ),
        MultipleChoice(
            id="which-corruption",
            options=(
                "Replace the earlier A with a new token",
                "Replace the earlier B with a new token",
                "Replace the token before the earlier A",
                "Replace the final A with a new token",
            ),
            correct=0,
            conceptual=True,
            prompt=(
                f"B -> D changes what the induction head copies; no layer-0 head restores more than {v0:.2f} under "
                "it. "
                "Which single-token corruption instead changes where the induction head looks, so that the "
                "previous-token head's output differs between the clean and the corrupted run?"
            ),
            explanation=(
                "Changing the earlier A: the previous-token head now reads A' instead of A, so nothing in the "
                "prompt is marked as following A and the induction head no longer finds B. Changing B changes "
                "what is copied, not where; the final A is the query, which the previous-token head does not "
                "provide; the token before A only changes what is marked as following that token."
            ),
        ),
        PickComponent(
            id="prev-token-head",
            components=tuple(h for h in heads if h.startswith("L0")),
            correct=prev_ok,
            any_of=True,
            prompt=(
                "Key side (A -> A'). From the layer-0 attention patterns above, predict: patching which head's "
                "output (all positions) into the key-corrupted run restores the metric most?"
            ),
            explanation=(
                f"Key-side patching of layer 0: {alone_k}; accepted: {prev} (within 2 bootstrap SDs of the best). "
                "Under B -> D the same heads restore "
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
            id="l0-together",
            options=(
                f"About the sum of the {H} alone",
                f"Clearly more than the sum of the {H} alone",
                f"Clearly less than the sum of the {H} alone",
            ),
            correct=k_key,
            prompt=(
                f"Key side: each layer-0 head alone restores {alone_k} (sum {m['key_L0_sum']:.2f}). Predict: what "
                f"does patching all {H} layer-0 heads together restore?"
            ),
            explanation=(
                f"Together {m['key_L0_together']:.2f} vs sum {m['key_L0_sum']:.2f} ({g0:+.2f} +- {g0_sd:.2f}): "
                f"{more_less} the sum. Layer-0 heads act on the logits through layer {last}'s attention: they "
                "change which position the induction head's query matches, and the softmax turns that match into "
                f"attention nonlinearly. {linear}."
            ),
        ),
        MultipleChoice(
            id="key-side-resid",
            options=opts,
            correct=correct_pos,
            conceptual=True,  # always the token after the corrupted one; only its position changes
            prompt=(
                f"Key side (A -> A' at position {a}): patching layer {last}'s resid_pre (the residual stream "
                "entering the layer) at which position restores the metric?"
            ),
            explanation=(
                f"Position {best} ({labels[best]}); in layer 0 the best position is {best0}. "
                + (
                    "The difference starts at the corrupted token; the previous-token head moves it one position "
                    "on, into B's residual stream, which is where the induction head's keys read it."
                    if (best, best0) == (b, a)
                    else "The previous-token head would move it from A* to B*; this run does not show that cleanly."
                )
            ),
        ),
        MultipleChoice(
            id="agreement",
            options=(
                "Each batch row gets one patch, and rows never interact",
                "The rows share one attention softmax, normalised over the whole batch",
                "Each row's patch is undone before the next row runs",
                "The batch is run in float64 instead of float32",
            ),
            correct=0,
            conceptual=True,
            prompt=(
                "This lab runs many patched copies of the corrupted prompts together in batches (each copy only "
                "from its patched layer and position on, reusing the corrupted run before that) instead of one "
                "full forward per patch. What makes the batched results equal the one-patch-per-forward ones?"
            ),
            explanation=(
                f"Max |difference| from transformer_lens.patching here: {m.get('max_abs_diff', float('nan')):.1e}. "
                "Attention and LayerNorm act within one sequence, so each row computes exactly the "
                "forward with its one patch, whatever the other rows carry; and attention is causal, so nothing "
                "before the patched layer and position can change, which is why reusing the corrupted run there "
                "is exact too."
            ),
        ),
        FreeText(
            id="noising-vs-denoising",
            prompt=(
                "Here we patched clean activations into the corrupted run. What does that show, and what would "
                "patching corrupt into clean show instead?"
            ),
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
                f"{more_less} the {m['key_L0_sum']:.2f} their separate patches add up to."
            ),
        ),
    ]
