"""The induction-heads lab's questions, keys computed from the run's metrics (see induction_measure).

questions = build_questions(metrics, n_layers, n_heads)
"""

from __future__ import annotations

import math

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent, Question
from mi_prep.lab.attention_heads import head_name
from mi_prep.lab.induction_circuit import INPUT_NAMES

KQV_OPTIONS = (
    "Stays well below the first-copy loss",
    "Rises to about the first-copy loss",
    "Rises well above the first-copy loss",
)
OV_OPTIONS = (
    "Mostly positive real: it copies the attended token into the logits",
    "Mostly negative real: it suppresses the attended token",
    "Spread around zero: no token-specific effect",
)
PLATEAU_OPTIONS = (
    "The frequencies of single tokens",
    "Which tokens have already appeared in the context",
    "The induction mechanism (previous token + copy)",
)
FALL_OPTIONS = ("The loss on the first copy", "The loss on the repeats", "Both, by similar amounts")


def kqv_key(m: dict[str, float]) -> int:
    """Where the loss on repeats lands when layer 0 leaves the last-layer heads' keys only, against the
    clean first-copy loss: below / about / above, "about" meaning within max(2 bootstrap SDs, 0.2) nats."""
    diff = m["rep_loss_k"] - m["loss_first"]
    tol = max(2 * m["rep_over_first_sd_k"], 0.2)
    return 0 if diff < -tol else 2 if diff > tol else 1


def fall_key(m: dict[str, float]) -> int:
    """Which part's loss fell in training: the first copy only if it ends more than 0.1 nats below the
    uniform guess (its floor without induction), the repeats if they end more than 0.5 nats below the plateau."""
    first = m["loss_first"] < m["loss_uniform"] - 0.1
    rep = m["loss_repeat"] < m["plateau_loss"] - 0.5
    return 2 if first and rep else 0 if first else 1


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
    l0 = tuple(head_name(0, h) for h in range(H))
    ind_name = head_name(L - 1, int(m["ind_head"]))
    prev_ok = tuple(n for n in l0 if m[f"prev_ok_{n}"])
    keys_ok = tuple(n for n in l0 if m[f"keys_ok_{n}"])
    prev_list = ", ".join(f"{n} {m[f'prev_need_{n}']:.2f} (all positions {m[f'prev_{n}']:.2f})" for n in l0)
    k_list = ", ".join(f"{n} {m[f'kleft_{n}']:.0%}" for n in l0)
    needed = int(m["heads_needed"])
    need_ok = heads_needed_ok(m, H)
    drop_tol = max(2 * m["loss_drop_sd"], 0.1)
    kq = kqv_key(m)
    fall = fall_key(m)
    rep = ", ".join(f"{INPUT_NAMES[x]} {m[f'rep_loss_{x}']:.2f}" for x in ("q", "k", "v"))
    left = ", ".join(f"{INPUT_NAMES[x]} {m[f'left_{x}']:.0%}" for x in ("q", "k", "v"))
    n_tok = round(math.exp(m["loss_uniform"]))
    others = [m[f"ov_copying_{head_name(L - 1, h)}"] for h in range(H)]
    same = set(keys_ok) & set(prev_ok)
    return [
        PickComponent(
            id="prev-token-head",
            components=l0,
            correct=prev_ok,
            any_of=True,
            prompt=(
                "Look at layer 0's attention patterns on the example. Which layer-0 head is the previous-token "
                "head (judge it on the first copy, whose tokens later queries must find by their predecessor)?"
            ),
            explanation=(
                f"Previous-token scores on the first copy, over the evaluation sequences: {prev_list}. "
                + (
                    f"{prev_ok[0]} attends to the position before most."
                    if len(prev_ok) == 1
                    else f"{', '.join(prev_ok)} are within bootstrap noise (2 SDs) of each other: any counts."
                )
                + " Over all positions the scores are lower: from the second copy on, the induction head can find "
                "its target in the first copy, so layer 0 need not mark the previous token there. Attention is only "
                "correlational; the causal check on the induction head's keys comes later."
            ),
        ),
        MultipleChoice(
            id="phase-change",
            options=FALL_OPTIONS,
            correct=fall,
            conceptual=True,
            prompt=(
                "The training loss falls steeply after a plateau. The sequence has two parts: the first copy of "
                "the random prefix and its repeats. Which part's loss falls there?"
            ),
            explanation=(
                f"After training the first copy's loss is {m['loss_first']:.2f} nats, "
                + (
                    f"not more than 0.1 nats below a uniform guess over the {n_tok} tokens (log {n_tok}): its tokens "
                    "are unpredictable, so there is nothing to learn there. "
                    if fall == 1
                    else f"more than 0.1 nats below log {n_tok}: the model learnt something about the first copy too. "
                )
                + f"The smoothed training loss falls fastest at step {m['phase_change_step']:.0f} (bootstrap SD "
                f"{m['phase_change_sd']:.0f} steps), from {m['plateau_loss']:.2f} to {m['final_loss']:.2f}"
                + (
                    ": the fall is on the repeats, which the induction circuit predicts once it forms."
                    if fall == 1
                    else "."
                )
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
                f"Before its steep drop the training loss sits below log {n_tok}, the loss of a uniform guess over "
                "the tokens. What can the model be using on the plateau?"
            ),
            explanation=(
                f"Level before the drop {m['plateau_loss']:.2f} nats. Single-token frequencies are uniform here, so "
                f"they give log {n_tok} = {m['loss_uniform']:.2f}; the best predictor that knows which tokens "
                f"appeared but not their order: {m['loss_context_set']:.2f}. "
                + (
                    "The plateau sits between the two: the set of tokens in the context is enough to explain it, "
                    "no induction needed (repeats come from that set, first-copy tokens do not)."
                    if plateau_key(m) == 1
                    else "The plateau is below the context-set baseline: more than the token set is used."
                    if plateau_key(m) == 2
                    else "The plateau is at the uniform level: nothing beyond frequencies yet."
                )
            ),
        ),
        MultipleChoice(
            id="kqv",
            options=KQV_OPTIONS,
            correct=kq,
            conceptual=True,
            prompt=(
                "Predict: layer 0's output is taken out of the layer-1 heads' KEYS only (their queries and values "
                f"still see it). The loss on the repeats (clean: {m['loss_repeat']:.2f} nats) compared with the "
                "first-copy loss?"
            ),
            explanation=(
                f"Loss on repeats with layer 0 removed from the layer-1 heads' {rep}; first copy "
                f"{m['loss_first']:.2f} (a difference within {max(2 * m['rep_over_first_sd_k'], 0.2):.2f} nats counts "
                f"as 'about'). {ind_name}'s induction attention left: {left}. "
                + (
                    "K-composition: the key at the copy's next token must say 'my previous token was A', and only "
                    "layer 0 can put that there. Without it the heads still attend sharply and copy, but to the wrong "
                    "positions: confident wrong guesses, worse than the first copy's guessing."
                    if kq == 2
                    else "Without layer 0 in the keys, the induction head loses its target."
                    if kq == 1
                    else "The keys do not need layer 0 here."
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
                f"score below half of its clean value? Answer with a number of heads, from 1 to {H}."
            ),
            explanation=(
                f"One layer-0 head at a time out of the keys leaves: {k_list}; "
                + (
                    (
                        f"{keys_ok[0]} hurts most"
                        if len(keys_ok) == 1
                        else f"{', '.join(keys_ok)} hurt most (within 2 bootstrap SDs)"
                    )
                    + (
                        ": the keys read the previous-token head. "
                        if same
                        else ", not the head with the highest previous-token attention. "
                    )
                )
                + "Best subsets: "
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
                "one layer has no earlier head output to compose with",
            ),
            terms=(
                (
                    "previous token",
                    "previous-token",
                    "predecessor",
                    "preceding token",
                    "token before it",
                    "prior token",
                ),
                (
                    "k-composition",
                    "key composition",
                    "in its keys",
                    "keys read",
                    "keys hold",
                    "keys that hold",
                    "keys carry",
                    "key vectors",
                ),
                ("token after", "token that followed", "next token after", "copies", "ov circuit"),
                (
                    "no earlier head",
                    "no earlier layer",
                    "no previous layer",
                    "nothing to compose",
                    "earlier head output",
                ),
            ),
            explanation=(
                f"In this run: layer 0 out of {ind_name}'s keys leaves {m['left_k']:.0%} of its induction, out of its "
                f"queries {m['left_q']:.0%}; its OV copying score is {m['ov_copying']:.2f}."
            ),
        ),
    ]
