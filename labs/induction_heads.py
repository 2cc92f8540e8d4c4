"""Induction heads: train a 2-layer attention-only model on repeated random tokens, find the
previous-token head(s) and the induction head, and check the circuit causally: layer 0's output
is taken out of the induction head's queries, keys or values only (K-composition), one layer-0 head
and every subset at a time out of its keys, and its OV circuit's eigenvalues say whether it copies.

Data: BOS, then a prefix of P distinct random tokens repeated to fill the context, with P random
per sequence, so layer 0 cannot find "the previous copy" from position alone. Previous-token scores
are taken on the first copy, the positions whose tokens later queries must find by their predecessor.
Measurements: mi_prep.lab.induction_measure; blocks: induction_blocks; questions: induction_questions.
"""

from __future__ import annotations

import time

from mi_prep.lab.api import Field, Heatmap, Lab, LabContext, LabResult, model_validator
from mi_prep.lab.attention_heads import head_name, run_patterns
from mi_prep.lab.induction_blocks import lab_blocks, layer0_patterns
from mi_prep.lab.induction_questions import build_questions
from mi_prep.lab.tasks.induction import INDUCTION_SMALL, InductionSpec


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
        "and induction heads, watch the phase change, take layer 0 out of the induction head's keys."
    )
    topics = ("induction-heads", "circuits", "attention", "ablation", "composition")
    Params = InductionHeadsParams
    small = {**INDUCTION_SMALL, "n_eval": 48}

    def run(self, ctx: LabContext) -> LabResult:
        import torch

        from mi_prep.lab.induction_measure import measure_circuit
        from mi_prep.lab.tasks.induction import induction_model, repeated_tokens

        p: InductionHeadsParams = ctx.params
        L, H = p.n_layers, p.n_heads
        t0 = time.perf_counter()
        model, losses, was_cached = induction_model(ctx, p)
        t_train = time.perf_counter() - t0
        ctx.check_cancelled()
        t1 = time.perf_counter()
        ctx.progress(1, 3, message="measuring heads")

        dev = next(model.parameters()).device
        g = torch.Generator().manual_seed(10_000 + ctx.seed)
        tokens, period = repeated_tokens(p.n_eval, g, **p.data())
        m, extra = measure_circuit(model, tokens.to(dev), period.to(dev), p, losses, check=ctx.check_cancelled)
        m["was_cached"] = float(was_cached)
        ctx.progress(2, 3, message="composition")

        gx = torch.Generator().manual_seed(20_000 + ctx.seed)
        P = p.show_period
        ex, _ = repeated_tokens(1, gx, d_vocab=p.d_vocab, n_ctx=min(p.n_ctx, 1 + 3 * P), min_period=P, max_period=P)
        _, expats = run_patterns(model, ex.to(dev), L)
        labels = [("BOS" if i == 0 else str(int(t))) for i, t in enumerate(ex[0])]

        ih = int(m["ind_head"])
        blocks = lab_blocks(m, extra, p, losses, was_cached)
        blocks.insert(2, layer0_patterns(expats[0][0], labels, P))
        blocks.insert(
            5,
            Heatmap(
                title=f"Attention pattern of {head_name(L - 1, ih)} (highest induction score)",
                values=[[round(float(v), 3) for v in row] for row in expats[L - 1][0, ih]],
                row_labels=labels,
                col_labels=labels,
                vmin=0.0,
                vmax=1.0,
                caption=f"Rows: query positions, columns: key positions; one example with period {P}.",
            ),
        )
        ctx.progress(3, 3, message="done")
        return LabResult(
            blocks=blocks,
            metrics=m,
            questions=build_questions(m, L, H),
            timings={"train": t_train, "experiments": time.perf_counter() - t1, "total": time.perf_counter() - t0},
        )


LAB = InductionHeadsLab()
