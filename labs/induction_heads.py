"""Induction heads: train a 2-layer attention-only model on repeated random tokens, find the
previous-token head and the induction head, and check the circuit causally (K-composition).

Data: BOS, then a prefix of P distinct random tokens repeated to fill the context, with P random
per sequence, so layer 0 cannot find "the previous copy" from position alone.
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
    model_validator,
)
from mi_prep.lab.attention_heads import head_name, head_scores, run_patterns
from mi_prep.lab.curves import steepest_drop
from mi_prep.lab.figures import grid_table, loss_plot
from mi_prep.lab.tasks.induction import INDUCTION_SMALL, InductionSpec, split_losses


class InductionHeadsParams(InductionSpec):
    n_eval: int = Field(64, gt=0, description="evaluation sequences")
    show_period: int = Field(7, ge=1, description="period of the example whose attention patterns are shown")

    @model_validator(mode="after")
    def _show_period_fits(self) -> InductionHeadsParams:
        if self.show_period > self.d_vocab - 1:
            raise ValueError(f"show_period ({self.show_period}) must be at most d_vocab - 1 ({self.d_vocab - 1})")
        return self


# --------------------------------------------------------------------------- the lab


class InductionHeadsLab(Lab):
    name = "induction-heads"
    title = "Induction heads"
    summary = (
        "Train a 2-layer attention-only model on repeated random tokens; find the previous-token "
        "and induction heads, watch the phase change, ablate layer 0 to test K-composition."
    )
    topics = ("induction-heads", "circuits", "attention", "ablation", "composition")
    Params = InductionHeadsParams
    small = {**INDUCTION_SMALL, "n_eval": 48}

    def run(self, ctx: LabContext) -> LabResult:
        import torch

        from mi_prep.lab.tasks.induction import induction_model, repeated_tokens

        p: InductionHeadsParams = ctx.params
        L, H = p.n_layers, p.n_heads
        t0 = time.perf_counter()
        model, losses, was_cached = induction_model(ctx, p)
        t_train = time.perf_counter() - t0
        ctx.check_cancelled()
        t1 = time.perf_counter()

        dev = next(model.parameters()).device
        g = torch.Generator().manual_seed(10_000 + ctx.seed)
        tokens, period = repeated_tokens(p.n_eval, g, **p.data())
        tokens, period = tokens.to(dev), period.to(dev)

        logits, pats = run_patterns(model, tokens, L)
        prev, ind = head_scores(pats, tokens)
        loss_first, loss_repeat = split_losses(logits, tokens, period)
        ctx.progress(1, 3, message="measuring heads")

        prev_head = max(range(H), key=lambda h: prev[0][h])
        ind_head = max(range(H), key=lambda h: ind[L - 1][h])
        ind_best = ind[L - 1][ind_head]

        # causal check: ablate each layer-0 head (and all of layer 0), re-measure the induction head
        ablation_rows = []
        after: dict[str, float] = {}
        for label, ablated in [
            *[(head_name(0, h), [(0, h)]) for h in range(H)],
            ("all of layer 0", [(0, h) for h in range(H)]),
        ]:
            ctx.check_cancelled()
            lg, pa = run_patterns(model, tokens, L, ablate=ablated)
            _, ind_ab = head_scores(pa, tokens)
            _, rep_ab = split_losses(lg, tokens, period)
            after[label] = ind_ab[L - 1][ind_head]
            ablation_rows.append(
                [
                    label,
                    round(ind_ab[L - 1][ind_head], 3),
                    f"{100 * (1 - ind_ab[L - 1][ind_head] / max(ind_best, 1e-9)):.0f}%",
                    round(rep_ab, 3),
                ]
            )
        ctx.progress(2, 3, message="ablations")

        prev_name, ind_name = head_name(0, prev_head), head_name(L - 1, ind_head)
        score_after_prev = after[prev_name]
        others = [after[head_name(0, h)] for h in range(H) if h != prev_head]
        drop_prev = 1 - score_after_prev / max(ind_best, 1e-9)
        drop_other = max((1 - a / max(ind_best, 1e-9) for a in others), default=0.0)
        step_pc, _ = steepest_drop(losses)

        metrics: dict[str, float] = {
            "prev_head": float(prev_head),
            "ind_head": float(ind_head),
            "prev_score": prev[0][prev_head],
            "ind_score": ind_best,
            "ind_score_after_prev_ablation": score_after_prev,
            "ind_score_after_layer0_ablation": after["all of layer 0"],
            "drop_prev_ablation": drop_prev,
            "max_drop_other_ablation": drop_other,
            "causal_check": float(drop_prev > drop_other and drop_prev >= 0.3),
            "loss_first": loss_first,
            "loss_repeat": loss_repeat,
            "loss_drop": loss_first - loss_repeat,
            "phase_change_step": float(step_pc),
            "final_loss": losses[-1] if losses else float("nan"),
            "was_cached": float(was_cached),
        }
        for l in range(L):
            for h in range(H):
                metrics[f"prev_{head_name(l, h)}"] = prev[l][h]
                metrics[f"ind_{head_name(l, h)}"] = ind[l][h]

        # ---------------------------------------------------------------- blocks
        heads = [head_name(l, h) for l in range(L) for h in range(H)]
        blocks: list[Any] = [
            Text(
                title="Setup",
                body=(
                    f"{L}-layer attention-only transformer, {H} heads/layer, d_model={p.d_model}, vocab {p.d_vocab}, "
                    f"context {p.n_ctx}. Each sequence: BOS, then {p.min_period}-{p.max_period} distinct random "
                    f"tokens repeated (random period per sequence). "
                    + ("Loaded from cache." if was_cached else f"Trained {p.steps} steps.")
                ),
            ),
            loss_plot(
                "Training loss", losses, caption=f"Steepest drop around step {step_pc}: the induction phase change."
            ),
            Heatmap(
                title="Previous-token score (layer x head)",
                values=prev,
                vmin=0.0,
                vmax=1.0,
                row_labels=[f"L{l}" for l in range(L)],
                col_labels=[f"H{h}" for h in range(H)],
                caption="Mean attention from each position to the one before it.",
            ),
            Heatmap(
                title="Induction score (layer x head)",
                values=ind,
                vmin=0.0,
                vmax=1.0,
                row_labels=[f"L{l}" for l in range(L)],
                col_labels=[f"H{h}" for h in range(H)],
                caption="Mean attention to the token after an earlier copy of the current token.",
            ),
            grid_table(
                "Per-head scores",
                "head",
                heads,
                ["previous-token", "induction"],
                [[prev[l][h], ind[l][h]] for l in range(L) for h in range(H)],
            ),
        ]
        # attention patterns on one short example with a visible period
        gx = torch.Generator().manual_seed(20_000 + ctx.seed)
        P = p.show_period
        ex, _ = repeated_tokens(1, gx, d_vocab=p.d_vocab, n_ctx=min(p.n_ctx, 1 + 3 * P), min_period=P, max_period=P)
        _, expats = run_patterns(model, ex.to(dev), L)
        labels = [("BOS" if i == 0 else str(int(t))) for i, t in enumerate(ex[0])]
        for layer, head, what in [(0, prev_head, "previous-token head"), (L - 1, ind_head, "induction head")]:
            blocks.append(
                Heatmap(
                    title=f"Attention pattern of {head_name(layer, head)} ({what})",
                    values=[[round(float(v), 3) for v in row] for row in expats[layer][0, head]],
                    row_labels=labels,
                    col_labels=labels,
                    vmin=0.0,
                    vmax=1.0,
                    caption=f"Rows: query positions, columns: key positions; period {P}.",
                )
            )
        blocks += [
            Table(
                title="Loss on first copy vs repeats",
                columns=["part", "loss (nats)"],
                rows=[
                    ["first copy (unpredictable)", round(loss_first, 3)],
                    ["repeats", round(loss_repeat, 3)],
                    ["drop", round(loss_first - loss_repeat, 3)],
                ],
                caption=f"Uniform guessing over {p.d_vocab - 1} tokens costs {torch.log(torch.tensor(float(p.d_vocab - 1))).item():.2f} nats.",
            ),
            Table(
                title=f"Causal check: ablate layer-0 heads, re-measure {ind_name}",
                columns=["ablated", f"{ind_name} induction score", "drop", "loss on repeats"],
                rows=[["nothing", round(ind_best, 3), "0%", round(loss_repeat, 3)], *ablation_rows],
                caption=(
                    "Zero-ablating a head's output (hook_z = 0). K-composition: the induction head's keys "
                    "need 'which token came before me', written by the previous-token head."
                ),
            ),
            Text(
                title="Verdict",
                body=(
                    f"{prev_name} has the highest previous-token score ({prev[0][prev_head]:.2f}); {ind_name} the highest "
                    f"induction score ({ind_best:.2f}). Ablating {prev_name} cuts {ind_name}'s induction score by "
                    f"{100 * drop_prev:.0f}% (other layer-0 heads: at most {100 * drop_other:.0f}%); ablating all of layer 0 "
                    f"leaves {after['all of layer 0']:.2f}. Causal check {'passed' if metrics['causal_check'] else 'NOT passed'}."
                ),
            ),
        ]
        ctx.progress(3, 3, message="done")
        questions = build_questions(metrics, L, H)
        t_exp = time.perf_counter() - t1
        return LabResult(
            blocks=blocks,
            metrics=metrics,
            questions=questions,
            timings={"train": t_train, "experiments": t_exp, "total": time.perf_counter() - t0},
        )


def build_questions(m: dict[str, float], n_layers: int, n_heads: int) -> list:
    heads = tuple(head_name(l, h) for l in range(n_layers) for h in range(n_heads))
    prev_name = head_name(0, int(m["prev_head"]))
    ind_best = m["ind_score"]
    ind_ok = tuple(
        head_name(n_layers - 1, h) for h in range(n_heads) if m[f"ind_{head_name(n_layers - 1, h)}"] >= 0.9 * ind_best
    )
    ind_name = head_name(n_layers - 1, int(m["ind_head"]))
    prev_list = ", ".join(f"{head_name(0, h)} {m[f'prev_{head_name(0, h)}']:.2f}" for h in range(n_heads))
    ind_list = ", ".join(
        f"{head_name(n_layers - 1, h)} {m[f'ind_{head_name(n_layers - 1, h)}']:.2f}" for h in range(n_heads)
    )
    drop = m["drop_prev_ablation"]
    options = ("It stays within 10% of its value", "It drops by 10-50%", "It drops by more than 50%", "It goes up")
    if drop < -0.1:
        correct = 3
    elif drop < 0.1:
        correct = 0
    elif drop <= 0.5:
        correct = 1
    else:
        correct = 2
    return [
        PickComponent(
            id="prev-token-head",
            components=heads,
            correct=(prev_name,),
            prompt="Which head is the previous-token head?",
            explanation=f"Previous-token scores in layer 0: {prev_list}. {prev_name} attends most to the position before.",
        ),
        PickComponent(
            id="induction-head",
            components=heads,
            correct=ind_ok,
            any_of=True,
            prompt="Which head is the (strongest) induction head?",
            explanation=(
                f"Induction scores in layer {n_layers - 1}: {ind_list}. Heads within 10% of the best "
                f"({', '.join(ind_ok)}) count. It must sit in layer {n_layers - 1}: it needs layer 0's output in its keys."
            ),
        ),
        Numeric(
            id="loss-drop",
            answer=round(m["loss_drop"], 3),
            rel_tol=0.15,
            abs_tol=0.1,
            unit="nats",
            prompt="How much lower (in nats) is the loss on repeated tokens than on the first copy?",
            explanation=(
                f"First copy {m['loss_first']:.2f} nats (random tokens, close to uniform), repeats "
                f"{m['loss_repeat']:.2f}: a drop of {m['loss_drop']:.2f}. The induction circuit predicts repeats."
            ),
        ),
        Numeric(
            id="phase-change",
            answer=m["phase_change_step"],
            abs_tol=60,
            rel_tol=0.0,
            unit="steps",
            prompt="Around which training step does the loss curve fall fastest (the induction phase change)?",
            explanation=(
                f"The smoothed loss curve drops fastest around step {m['phase_change_step']:.0f} "
                f"(accepted ±60 steps); before it the model only learns token frequencies."
            ),
        ),
        MultipleChoice(
            id="ablate-prev",
            options=options,
            correct=correct,
            prompt="You zero-ablate the previous-token head. What happens to the induction head's induction score?",
            explanation=(
                f"Measured: {ind_best:.2f} -> {m['ind_score_after_prev_ablation']:.2f} ({100 * drop:.0f}% drop); "
                f"ablating another layer-0 head drops it by at most {100 * m['max_drop_other_ablation']:.0f}%, "
                f"all of layer 0: {m['ind_score_after_layer0_ablation']:.2f}. The induction head finds its target "
                f"through keys that carry the previous token (K-composition)."
            ),
        ),
        FreeText(
            id="why-k-composition",
            prompt="Explain how the two heads compose to predict a repeated token, and why a 1-layer model cannot.",
            model_answer=(
                "The previous-token head in layer 0 copies each token's predecessor into its residual stream. "
                "The induction head in layer 1 uses that in its keys (K-composition): the query 'current token A' "
                "matches the key 'my previous token was A', so it attends to the token after the earlier A and "
                "its OV circuit copies that token into the logits. One layer has no earlier head output to "
                "compose with, so it cannot form the shifted match."
            ),
            key_points=(
                "layer-0 head writes the previous token into each position",
                "layer-1 head's keys read it: K-composition",
                "attends to the token after the earlier copy and copies it (OV)",
                "needs two layers: composition across layers",
            ),
            terms=(
                ("previous", "prev", "before", "predecessor"),
                ("key", "k-composition", "composition", "composes"),
                ("copy", "copies", "ov", "after"),
                ("two layer", "2 layer", "one layer", "1-layer", "second layer", "layer 1"),
            ),
            explanation=(
                f"In this run {prev_name} (prev-token score {m['prev_score']:.2f}) feeds {ind_name} "
                f"(induction score {ind_best:.2f}); ablating {prev_name} leaves {m['ind_score_after_prev_ablation']:.2f}."
            ),
        ),
    ]


LAB = InductionHeadsLab()
