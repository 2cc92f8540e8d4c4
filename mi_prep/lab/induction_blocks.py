"""The induction-heads lab's blocks, from its metrics (see induction_measure): data first, each
interpretation revealed by the question it would give away (``after=``).

    blocks = lab_blocks(metrics, extra, params, losses, was_cached)
"""

from __future__ import annotations

from typing import Any

from mi_prep.lab.api import Heatmap, LinePlot, Scatter, Series, Table, Text
from mi_prep.lab.attention_heads import head_name
from mi_prep.lab.figures import loss_plot
from mi_prep.lab.induction_circuit import INPUT_NAMES


def _pct(v: float) -> str:
    return f"{100 * v:.0f}%"


def layer0_patterns(pats: Any, labels: list[str], period: int) -> Heatmap:
    """Every layer-0 head's attention on one example, stacked (one band of rows per head), over BOS,
    the first copy and the second: the data the previous-token question is answered from."""
    n = min(len(labels), 1 + 2 * period)
    H = pats.shape[0]
    return Heatmap(
        title="Attention patterns of layer 0's heads (one example)",
        values=[[round(float(v), 3) for v in pats[h, q, :n]] for h in range(H) for q in range(n)],
        row_labels=[f"{head_name(0, h)} {labels[q]}" for h in range(H) for q in range(n)],
        col_labels=labels[:n],
        vmin=0.0,
        vmax=1.0,
        caption=(
            f"Heads stacked top to bottom; rows: query positions, columns: key positions. Period {period}: BOS, "
            "the first copy, then its first repeat."
        ),
    )


def lab_blocks(m: dict[str, float], extra: dict[str, Any], p: Any, losses: list[float], was_cached: bool) -> list[Any]:
    L, H = p.n_layers, p.n_heads
    last = L - 1
    ih = int(m["ind_head"])
    ind_name = head_name(last, ih)
    l0 = [head_name(0, h) for h in range(H)]
    heads = [head_name(l, h) for l in range(L) for h in range(H)]
    steps = [10.0 * i for i in range(len(losses))]
    prev_ok = [n for n in l0 if m[f"prev_ok_{n}"]]
    keys_ok = [n for n in l0 if m[f"keys_ok_{n}"]]
    needed = int(m["heads_needed"])
    best1 = m["best_left_1"]
    if best1 < 0.5:
        story = (
            f"One head carries the previous token into the keys: removing {head_name(0, int(m['keys_head']))} alone leaves {_pct(best1)} of "
            f"{ind_name}'s induction."
        )
    elif m["heads_needed_reached"]:
        story = (
            f"The job is shared: no single layer-0 head's removal leaves less than {_pct(best1)}, it takes {needed} "
            f"heads to go below half (best {needed}: {_pct(m[f'best_left_{needed}'])} left)."
        )
    else:
        story = f"Even removing all {H} layer-0 heads from the keys leaves {_pct(m[f'best_left_{H}'])}: not a K-composition story."
    eigs = extra["eigs"]
    subsets = extra["subsets"]
    return [
        Text(
            title="Setup",
            body=(
                f"{L}-layer attention-only transformer, {H} heads/layer, d_model={p.d_model}, vocab {p.d_vocab} "
                f"(token 0 = BOS), context {p.n_ctx}. Each sequence: BOS, then {p.min_period}-{p.max_period} distinct "
                "random tokens (uniform) repeated to fill the context, the period random per sequence. "
                + ("Loaded from cache." if was_cached else f"Trained {p.steps} steps.")
                + f" Evaluated on {p.n_eval} fresh sequences; ± are bootstrap SDs over them."
            ),
        ),
        loss_plot("Training loss", losses, caption="One batch per logged point (every 10 steps)."),
        Table(
            title="Per-head attention scores",
            columns=["head", "previous-token (first copy)", "± SD", "previous-token (all positions)", "induction"],
            rows=[
                [
                    n,
                    round(m[f"prev_need_{n}"], 3) if n in l0 else "-",
                    f"{m[f'prev_need_sd_{n}']:.3f}" if n in l0 else "-",
                    round(m[f"prev_{n}"], 3),
                    round(m[f"ind_{n}"], 3),
                ]
                for n in heads
            ],
            after="prev-token-head",
            caption=(
                "Previous-token: attention from a position to the one before it, on the first copy (where later "
                "queries must find each token by its predecessor) and over all positions. Induction: attention "
                "to the token after an earlier copy of the current token, over queries that have one."
            ),
        ),
        Heatmap(
            title="Induction score (layer x head)",
            values=[[m[f"ind_{head_name(l, h)}"] for h in range(H)] for l in range(L)],
            vmin=0.0,
            vmax=1.0,
            row_labels=[f"L{l}" for l in range(L)],
            col_labels=[f"H{h}" for h in range(H)],
            caption=f"{int(m['n_induction_heads'])} of layer {last}'s {H} heads score above 0.5; the lab studies the highest.",
        ),
        # [2] layer 0's patterns, [5] the induction head's pattern: inserted by the lab
        Table(
            title="Loss on first copy vs repeats",
            columns=["part", "loss (nats)"],
            rows=[
                ["first copy (unpredictable)", round(m["loss_first"], 3)],
                ["repeats", round(m["loss_repeat"], 3)],
                ["drop", round(m["loss_drop"], 3)],
                [f"uniform guess over the {p.d_vocab - 1} tokens", round(m["loss_uniform"], 3)],
            ],
            after="loss-drop",
        ),
        LinePlot(
            title="Training loss against two baselines without induction",
            series=[
                Series("loss", steps, [float(v) for v in losses]),
                Series("frequencies only", [steps[0], steps[-1]], [m["loss_uniform"]] * 2),
                Series(
                    "knows which tokens appeared, not their order", [steps[0], steps[-1]], [m["loss_context_set"]] * 2
                ),
            ],
            xlabel="step",
            ylabel="cross-entropy",
            caption=(
                f"Before the drop the loss sits at {m['plateau_loss']:.2f} nats: below frequencies only "
                f"({m['loss_uniform']:.2f}), above the best bag-of-context-tokens predictor ({m['loss_context_set']:.2f}) "
                "(both baselines on the evaluation sequences, all positions)."
            ),
            after="plateau",
        ),
        Text(
            title="Phase change",
            body=(
                f"Steepest drop of the smoothed loss at step {m['phase_change_step']:.0f} (bootstrap SD over the batch "
                f"noise {m['phase_change_sd']:.0f} steps), from {m['plateau_loss']:.2f} towards {m['final_loss']:.2f} "
                "nats: the induction circuit forms and the repeats become predictable."
            ),
            after="phase-change",
        ),
        Table(
            title="Causal check: layer 0 taken out of the layer-1 heads' queries, keys or values",
            columns=["layer 0 removed from", f"{ind_name} induction left", "± SD", "loss on repeats (nats)"],
            rows=[
                ["nothing", "100%", "-", round(m["loss_repeat"], 3)],
                *[
                    [
                        INPUT_NAMES.get(x, "queries, keys and values"),
                        _pct(m[f"left_{x}"]),
                        _pct(m[f"left_sd_{x}"]),
                        round(m[f"rep_loss_{x}"], 3),
                    ]
                    for x in ("q", "k", "v", "qkv")
                ],
            ],
            caption=(
                "Layer 0's head outputs are zeroed in a second run; that run's q, k or v of layer 1 is patched into the "
                f"clean run. Induction left: {ind_name} only (removal in its input); loss: removal in every layer-1 head. "
                f"First copy for comparison: {m['loss_first']:.2f} nats."
            ),
            after="kqv",
        ),
        Table(
            title=f"One layer-0 head out of {ind_name}'s keys",
            columns=["head", "induction left (keys only)", "± SD", "induction left (output zeroed everywhere)"],
            rows=[[n, _pct(m[f"kleft_{n}"]), _pct(m[f"kleft_sd_{n}"]), _pct(m[f"zleft_{n}"])] for n in l0],
            caption="Zeroing a head's whole output also changes the queries and values; the keys-only removal isolates K-composition.",
            after="heads-needed",
        ),
        Table(
            title=f"Subsets of layer-0 heads out of {ind_name}'s keys",
            columns=["removed", "induction left", "± SD"],
            rows=[["+".join(head_name(0, h) for h in sub), _pct(left), _pct(sd)] for sub, left, sd in subsets],
            after="heads-needed",
        ),
        Text(
            title="The circuit in this run",
            body=(
                f"Previous-token head(s) by attention on the first copy: {', '.join(prev_ok)}; by keys-only removal: "
                f"{', '.join(keys_ok)}. {story} Layer 0 out of the keys leaves {_pct(m['left_k'])}, out of the queries "
                f"{_pct(m['left_q'])}: K-composition."
            ),
            after="heads-needed",
        ),
        Scatter(
            title=f"Eigenvalues of {ind_name}'s OV circuit on tokens",
            x=[round(float(z.real), 4) for z in eigs],
            y=[round(float(z.imag), 4) for z in eigs],
            labels=[""] * len(eigs),
            xlabel="real part",
            ylabel="imaginary part",
            caption=f"W_E W_V W_O W_U without BOS; copying score {m['ov_copying']:.2f} (+1: all eigenvalues positive real).",
            after="ov-sign",
        ),
        Table(
            title=f"OV copying of layer {last}'s heads",
            columns=["head", "copying score", "own token is top logit"],
            rows=[
                [
                    head_name(last, h),
                    round(m[f"ov_copying_{head_name(last, h)}"], 3),
                    _pct(m[f"ov_top1_{head_name(last, h)}"]),
                ]
                for h in range(H)
            ],
            after="ov-sign",
        ),
    ]
