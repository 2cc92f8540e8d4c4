"""Every measurement of the induction-heads lab on one trained model, as plain numbers (torch inside).

    m, extra = measure_circuit(model, tokens, period, spec, losses)   # metrics dict, tensors for plots

Metric names (H = heads per layer, L = layers, the induction head is in the last layer):
``prev_need_L0H{h}`` / ``prev_need_sd_L0H{h}`` previous-token score on the positions that matter,
``prev_L{l}H{h}`` / ``ind_L{l}H{h}`` the scores over every position, ``left_{q,k,v,qkv}`` the induction
head's score left when layer 0 leaves its queries / keys / values, ``rep_loss_{q,k,v,qkv}`` the loss on
repeats when layer 0 leaves every last-layer head's input (``rep_over_first_sd_{x}``: bootstrap SD of its
difference from ``loss_first``), ``kleft_L0H{h}`` one layer-0 head out of the
keys, ``heads_needed``, ``ov_copying_L1H{h}``, ``phase_change_step`` (+ ``_sd``), ``loss_*``.
"""

from __future__ import annotations

import itertools
import math

from mi_prep.lab.attention_heads import head_name, head_scores, run_patterns
from mi_prep.lab.curves import steepest_drop
from mi_prep.lab.induction_circuit import (
    INPUTS,
    composition_patterns,
    context_set_loss,
    induction_per_seq,
    near_best,
    ov_copying,
    phase_change_sd,
    prev_token_per_seq,
    ratio_sd,
)
from mi_prep.lab.tasks.induction import InductionSpec, split_losses


def _split_per_seq(logits, tokens, period):
    """``(first[b], repeat[b])``: per-sequence mean loss on the first copy and on the repeats."""
    import torch

    from mi_prep.lab.models import lm_loss

    per = lm_loss(logits, tokens, reduction="none")
    q = torch.arange(per.shape[1], device=tokens.device)[None]
    first = (q < period[:, None]).float()
    return (per * first).sum(1) / first.sum(1), (per * (1 - first)).sum(1) / (1 - first).sum(1)


def plateau(losses: list[float], step: int, log_every: int = 10) -> float:
    """Mean logged loss over the 60 steps that end 40 steps before ``step`` (the level the curve sits
    at before the phase change; the first logged points if the change comes early)."""
    hi = max(1, (step - 40) // log_every)
    lo = max(0, hi - 6)
    part = losses[lo:hi] or losses[:1]
    return sum(part) / len(part)


def measure_circuit(model, tokens, period, spec: InductionSpec, losses: list[float], check=lambda: None):
    """The lab's numbers (see the module docstring) and ``extra``: the induction head's OV eigenvalues,
    the subsets of layer-0 heads removed from its keys with what they leave."""
    import torch

    L, H = spec.n_layers, spec.n_heads
    last = L - 1
    logits, pats = run_patterns(model, tokens, L)
    prev, ind = head_scores(pats, tokens)
    m: dict[str, float] = {}
    for l in range(L):
        for h in range(H):
            m[f"prev_{head_name(l, h)}"] = prev[l][h]
            m[f"ind_{head_name(l, h)}"] = ind[l][h]

    # previous-token scores where they matter, with bootstrap SDs and the heads within noise of the best
    pv = prev_token_per_seq(pats[0], tokens, period)  # [b, H]
    g = torch.Generator().manual_seed(0)
    idx = torch.randint(0, pv.shape[0], (200, pv.shape[0]), generator=g).to(pv.device)
    pv_draws = pv[idx].mean(1)  # [200, H]
    pv_mean = pv.mean(0).tolist()
    for h in range(H):
        m[f"prev_need_{head_name(0, h)}"] = pv_mean[h]
        m[f"prev_need_sd_{head_name(0, h)}"] = float(pv_draws[:, h].std())
    prev_ok = near_best(pv_mean, pv_draws)
    m["prev_head"] = float(max(range(H), key=pv_mean.__getitem__))
    m["n_prev_ok"] = float(len(prev_ok))
    for h in range(H):
        m[f"prev_ok_{head_name(0, h)}"] = float(h in prev_ok)

    iv = induction_per_seq(pats[last], tokens)  # [b, H]
    ih = int(iv.mean(0).argmax())
    base = iv[:, ih]
    m["ind_head"] = float(ih)
    m["ind_score"] = float(base.mean())
    m["n_induction_heads"] = float(sum(1 for h in range(H) if ind[last][h] > 0.5))

    # losses: first copy vs repeats, and the two baselines without induction
    f_seq, r_seq = _split_per_seq(logits, tokens, period)
    loss_first, loss_repeat = split_losses(logits, tokens, period)
    drop_seq = f_seq - r_seq
    m.update(loss_first=loss_first, loss_repeat=loss_repeat, loss_drop=loss_first - loss_repeat)
    m["loss_drop_sd"] = float(drop_seq[idx].mean(1).std())
    m["loss_uniform"] = math.log(spec.d_vocab - 1)
    m["loss_context_set"] = float(
        context_set_loss(
            tokens.cpu(), period.cpu(), d_vocab=spec.d_vocab, min_period=spec.min_period, max_period=spec.max_period
        ).mean()
    )
    step, _ = steepest_drop(losses)
    m["phase_change_step"] = float(step)
    m["phase_change_sd"] = phase_change_sd(losses)
    m["plateau_loss"] = plateau(losses, step)
    m["final_loss"] = losses[-1] if losses else float("nan")
    check()

    # composition: layer 0 taken out of the induction head's queries / keys / values only
    layer0 = [(0, h) for h in range(H)]
    for x in (*INPUTS, "qkv"):
        p, _ = composition_patterns(model, tokens, layer=last, inputs=x, removed=layer0, heads=[ih])
        m[f"left_{x}"], m[f"left_sd_{x}"] = ratio_sd(induction_per_seq(p, tokens)[:, ih], base)
        _, lg = composition_patterns(model, tokens, layer=last, inputs=x, removed=layer0)
        m[f"rep_loss_{x}"] = split_losses(lg, tokens, period)[1]
        # its distance from the clean first-copy loss, with a bootstrap SD over sequences
        m[f"rep_over_first_sd_{x}"] = float((_split_per_seq(lg, tokens, period)[1] - f_seq)[idx].mean(1).std())
    check()

    # one layer-0 head at a time out of the keys, then every subset (how many heads carry the job)
    subsets: list[tuple[tuple[int, ...], float, float]] = []
    k_draws = []
    g2 = torch.Generator().manual_seed(1)
    idx2 = torch.randint(0, base.shape[0], (200, base.shape[0]), generator=g2).to(base.device)
    for size in range(1, H + 1):
        for sub in itertools.combinations(range(H), size):
            p, _ = composition_patterns(
                model, tokens, layer=last, inputs="k", removed=[(0, h) for h in sub], heads=[ih]
            )
            s = induction_per_seq(p, tokens)[:, ih]
            left, sd = ratio_sd(s, base)
            subsets.append((sub, left, sd))
            if size == 1:
                k_draws.append(s[idx2].mean(1) / base[idx2].mean(1))
                m[f"kleft_{head_name(0, sub[0])}"] = left
                m[f"kleft_sd_{head_name(0, sub[0])}"] = sd
                _, pa = run_patterns(model, tokens, L, ablate=[(0, sub[0])])
                m[f"zleft_{head_name(0, sub[0])}"] = float(
                    induction_per_seq(pa[last], tokens)[:, ih].mean() / base.mean()
                )
        check()
    kleft = [m[f"kleft_{head_name(0, h)}"] for h in range(H)]
    k_ok = near_best(kleft, torch.stack(k_draws, 1), lowest=True)
    m["keys_head"] = float(min(range(H), key=kleft.__getitem__))
    for h in range(H):
        m[f"keys_ok_{head_name(0, h)}"] = float(h in k_ok)
    best_by_size = {k: min((s for s in subsets if len(s[0]) == k), key=lambda s: s[1]) for k in range(1, H + 1)}
    needed = next((k for k in range(1, H + 1) if best_by_size[k][1] < 0.5), H)
    m["heads_needed"] = float(needed)
    m["heads_needed_reached"] = float(best_by_size[needed][1] < 0.5)
    # whole-output zero-ablation of the previous-token head vs the others (the names bench/labs.py prints)
    prev_name = head_name(0, int(m["prev_head"]))
    m["prev_score"] = m[f"prev_need_{prev_name}"]
    m["drop_prev_ablation"] = 1 - m[f"zleft_{prev_name}"]
    m["max_drop_other_ablation"] = max(
        (1 - m[f"zleft_{n}"] for n in map(lambda h: head_name(0, h), range(H)) if n != prev_name), default=0.0
    )
    for k in range(1, H + 1):
        m[f"best_left_{k}"] = best_by_size[k][1]
        m[f"best_left_sd_{k}"] = best_by_size[k][2]

    # the OV circuit of every last-layer head
    eigs = None
    for h in range(H):
        ov = ov_copying(model, last, h)
        m[f"ov_copying_{head_name(last, h)}"] = ov["copying"]
        m[f"ov_top1_{head_name(last, h)}"] = ov["top1"]
        if h == ih:
            eigs = ov["eigs"]
    m["ov_copying"] = m[f"ov_copying_{head_name(last, ih)}"]
    m["ov_top1"] = m[f"ov_top1_{head_name(last, ih)}"]
    return m, {"eigs": eigs, "subsets": subsets}
