"""The induction-heads lab's questions, keys computed from the run's metrics (see induction_measure).

questions = build_questions(metrics, n_layers, n_heads)
"""

from __future__ import annotations

import math

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent, Question
from mi_prep.lab.attention_heads import head_name
from mi_prep.lab.induction_circuit import INPUT_NAMES

KQV_OPTIONS = (
    "Its queries",
    "Its keys",
    "Its values",
    "None of them: layer 1 finds the copy from the embeddings alone",
)
OV_OPTIONS = (
    "Mostly positive real: it copies the attended token into the logits",
    "Mostly negative real: it suppresses the attended token",
    "Spread around zero: no token-specific effect",
)
PLATEAU_OPTIONS = (
    "Token frequencies only",
    "Which tokens are already in the context (no order): repeats come from them, first-copy tokens do not",
    "Already the induction mechanism (previous token + copy)",
)


def kqv_key(m: dict[str, float]) -> int:
    """The input whose removal (from every last-layer head) hurts the loss on repeats most, if it
    brings that loss back above half the first-copy loss; else "none"."""
    x = max(("q", "k", "v"), key=lambda i: m[f"rep_loss_{i}"])
    return ("q", "k", "v").index(x) if m[f"rep_loss_{x}"] > 0.5 * m["loss_first"] else 3


def plateau_key(m: dict[str, float]) -> int:
    if m["plateau_loss"] >= m["loss_uniform"] - 0.1:
        return 0
    return 1 if m["plateau_loss"] >= m["loss_context_set"] - 0.1 else 2


def ov_key(m: dict[str, float]) -> int:
    c = m["ov_copying"]
    return 0 if c > 0.5 else 1 if c < -0.5 else 2


def heads_needed_ok(m: dict[str, float], n_heads: int) -> list[int]:
    """The accepted head counts: the smallest subset size whose best subset leaves < 1/2, plus a neighbour
    when the count's best subset (or the best one a head smaller) is within 2 bootstrap SDs of 1/2."""
    needed = int(m["heads_needed"])
    ok = {needed}

    def near(k: int) -> bool:
        return 1 <= k <= n_heads and abs(m[f"best_left_{k}"] - 0.5) <= 2 * m[f"best_left_sd_{k}"]

    if near(needed) and needed < n_heads:
        ok.add(needed + 1)
    if near(needed - 1):
        ok.add(needed - 1)
    return sorted(ok)


def build_questions(m: dict[str, float], n_layers: int, n_heads: int) -> list[Question]:
    L, H = n_layers, n_heads
    heads = tuple(head_name(l, h) for l in range(L) for h in range(H))
    l0 = tuple(head_name(0, h) for h in range(H))
    ind_name = head_name(L - 1, int(m["ind_head"]))
    prev_ok = tuple(n for n in l0 if m[f"prev_ok_{n}"])
    keys_ok = tuple(n for n in l0 if m[f"keys_ok_{n}"])
    prev_list = ", ".join(f"{n} {m[f'prev_need_{n}']:.2f} (all positions {m[f'prev_{n}']:.2f})" for n in l0)
    k_list = ", ".join(f"{n} {m[f'kleft_{n}']:.0%}" for n in l0)
    needed = int(m["heads_needed"])
    need_ok = heads_needed_ok(m, H)
    pc_tol = max(2 * m["phase_change_sd"], 20.0)
    drop_tol = max(2 * m["loss_drop_sd"], 0.1)
    kq = kqv_key(m)
    rep = ", ".join(f"{INPUT_NAMES[x]} {m[f'rep_loss_{x}']:.2f}" for x in ("q", "k", "v"))
    left = ", ".join(f"{INPUT_NAMES[x]} {m[f'left_{x}']:.0%}" for x in ("q", "k", "v"))
    n_tok = round(math.exp(m["loss_uniform"]))
    others = [m[f"ov_copying_{head_name(L - 1, h)}"] for h in range(H)]
    return [
        PickComponent(
            id="prev-token-head",
            components=heads,
            correct=prev_ok,
            any_of=True,
            prompt=(
                "Scored on the positions where it is needed (the first copy, whose tokens later queries must find), "
                "which head is the previous-token head?"
            ),
            explanation=(
                f"Previous-token scores on the first copy: {prev_list}. "
                + (
                    f"{prev_ok[0]} attends to the position before most."
                    if len(prev_ok) == 1
                    else f"{', '.join(prev_ok)} are within bootstrap noise (2 SDs) of each other: any counts."
                )
                + " Over all positions the scores are lower: from the second copy on, the induction head can find "
                "its target in the first copy, so layer 0 need not mark the previous token there. Attention is only "
                "correlational. Causal check: later, on the induction head's keys."
            ),
        ),
        Numeric(
            id="loss-drop",
            answer=round(m["loss_drop"], 3),
            abs_tol=round(drop_tol, 3),
            rel_tol=0.0,
            unit="nats",
            conceptual=True,
            prompt=(
                "Predict before you look: how much lower (in nats) is the trained model's loss on the repeats than on "
                f"the first copy? Tokens are uniform over the {n_tok} non-BOS tokens."
            ),
            explanation=(
                f"First copy {m['loss_first']:.2f} nats (log {n_tok} = {m['loss_uniform']:.2f}: unpredictable), repeats "
                f"{m['loss_repeat']:.2f}: a drop of {m['loss_drop']:.2f} (accepted ± {drop_tol:.2f}, 2 bootstrap SDs "
                "over sequences). Once the period has been seen, induction predicts the repeats almost perfectly."
            ),
        ),
        MultipleChoice(
            id="plateau",
            options=PLATEAU_OPTIONS,
            correct=plateau_key(m),
            conceptual=True,
            prompt=(
                f"Before its steep drop the training loss already sits below the uniform guess (log {n_tok}; tokens are "
                "uniform, so frequencies alone cannot beat it). What can the model be using then?"
            ),
            explanation=(
                f"Level before the drop {m['plateau_loss']:.2f} nats; frequencies only: {m['loss_uniform']:.2f}; the best "
                f"predictor that knows which tokens appeared but not their order: {m['loss_context_set']:.2f}. "
                + (
                    "The plateau sits between the two: the set of tokens in the context is enough to explain it, no induction needed."
                    if plateau_key(m) == 1
                    else "The plateau is not explained by the context's token set alone."
                    if plateau_key(m) == 2
                    else "The plateau is at the uniform level: nothing beyond frequencies yet."
                )
            ),
        ),
        Numeric(
            id="phase-change",
            answer=m["phase_change_step"],
            abs_tol=round(pc_tol),
            rel_tol=0.0,
            unit="steps",
            prompt="Around which training step does the loss fall fastest (the induction phase change)?",
            explanation=(
                f"The 3-point-smoothed curve falls fastest at step {m['phase_change_step']:.0f}; resampling the batch "
                f"noise moves it by {m['phase_change_sd']:.0f} steps (SD), so answers within ± {pc_tol:.0f} count."
            ),
        ),
        MultipleChoice(
            id="kqv",
            options=KQV_OPTIONS,
            correct=kq,
            conceptual=True,
            prompt=(
                "Predict: you take layer 0's output out of the layer-1 heads' input in ONE place only (the rest of the "
                "model clean). Which removal breaks the predictions on the repeats?"
            ),
            explanation=(
                f"Loss on repeats (clean {m['loss_repeat']:.2f}) with layer 0 removed from the layer-1 heads' {rep}; "
                f"{ind_name}'s induction attention left: {left}. "
                + (
                    "K-composition: the key at the copy's next token must say 'my previous token was A'; only layer 0 "
                    "can put that there. Queries (the current token A) and values (the token to copy) need only the "
                    "embeddings."
                    if kq == 1
                    else f"Here the {KQV_OPTIONS[kq].lower()} matter most."
                )
            ),
        ),
        PickComponent(
            id="keys-head",
            components=l0,
            correct=keys_ok,
            any_of=True,
            prompt=f"Now remove ONE layer-0 head at a time from {ind_name}'s keys only. Which removal hurts its induction most?",
            explanation=(
                f"{ind_name}'s induction score left: {k_list}. "
                + (
                    f"{', '.join(keys_ok)} are within 2 bootstrap SDs of each other: any counts. "
                    if len(keys_ok) > 1
                    else ""
                )
                + (
                    "The previous-token head is the one the keys read."
                    if set(keys_ok) & set(prev_ok)
                    else "Not the head with the highest previous-token score: attention is not the whole story."
                )
            ),
        ),
        PickComponent(
            id="heads-needed",
            components=tuple(str(k) for k in range(1, H + 1)),
            correct=tuple(str(k) for k in need_ok),
            any_of=True,
            prompt=(
                f"How many layer-0 heads (at least) must you remove from {ind_name}'s keys to bring its induction "
                f"score below half of its clean value? Answer with a number from 1 to {H}."
            ),
            explanation=(
                "Best subsets: "
                + ", ".join(
                    f"{k} head(s) leave {m[f'best_left_{k}']:.0%} ± {m[f'best_left_sd_{k}']:.0%}"
                    for k in range(1, H + 1)
                )
                + ". "
                + (
                    f"Answer {needed}"
                    + (
                        f" ({', '.join(str(k) for k in need_ok)} count: within 2 bootstrap SDs of one half)"
                        if len(need_ok) > 1
                        else ""
                    )
                    + ("." if m["heads_needed_reached"] else f": even all {H} leave more than half.")
                )
            ),
        ),
        MultipleChoice(
            id="ov-sign",
            options=OV_OPTIONS,
            correct=ov_key(m),
            conceptual=True,
            prompt=(
                f"{ind_name}'s OV circuit on tokens, W_E W_V W_O W_U ({n_tok} x {n_tok} without BOS): what do you expect of its eigenvalues?"
            ),
            explanation=(
                f"Copying score (sum of eigenvalues' real parts / sum of their sizes) {m['ov_copying']:.2f}; the attended "
                f"token is its own top logit for {m['ov_top1']:.0%} of tokens. Layer-1 heads' copying scores: "
                + ", ".join(f"{v:.2f}" for v in others)
                + "."
            ),
        ),
        FreeText(
            id="why-k-composition",
            prompt="Explain how the two layers compose to predict a repeated token, and why a 1-layer model cannot.",
            model_answer=(
                "A previous-token head in layer 0 writes each token's predecessor into its residual stream. "
                "The induction head in layer 1 reads that in its keys (K-composition): the query 'current token A' "
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
                f"In this run: layer 0 out of {ind_name}'s keys leaves {m['left_k']:.0%} of its induction, out of its "
                f"queries {m['left_q']:.0%}; its OV copying score is {m['ov_copying']:.2f}."
            ),
        ),
    ]
