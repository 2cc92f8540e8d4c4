"""The steering lab's questions: a pure function of the run's metrics (no torch).

qs = build_questions(metrics)      # metrics from mi_prep.lab.steering_experiment.measure

The seed picks the focus point L1..Ln the questions are about (and the held-out nouns); its 50% crossing
is graded with a tolerance of two bootstrap SDs over the evaluation prompts. The conceptual questions (why L0 is zero, the random control, the last point as a
logit edit, what ablation leaves) are predictions whose keys are computed from the run as well; so is overshoot, whose key
(does the sampled text break, does the next-token sentiment mass fall) depends on the focus point.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

from mi_prep.lab.api import FreeText, MultipleChoice, Numeric, Question

OFF_GRAMMAR_STEP = 0.1
"""A rise in the share of off-grammar sampled bigrams larger than this counts as broken text."""
MASS_STEP = 0.1
"""A fall in next-token sentiment-word probability larger than this counts as a fall."""


def alphas_of(m: Mapping[str, float]) -> list[float]:
    return [float(m[f"alpha_{j}"]) for j in range(int(m["n_alphas"]))]


def curve(m: Mapping[str, float], key: str, point: int) -> list[float]:
    return [float(m[f"{key}_L{point}_a{j}"]) for j in range(int(m["n_alphas"]))]


def crossing(m: Mapping[str, float], point: int) -> float | None:
    x = float(m[f"cross_L{point}"])
    return None if math.isnan(x) else x


def zero_point_question(m: Mapping[str, float]) -> Question:
    n = int(m["n_layers"])
    norms = [float(m[f"norm_L{l}"]) for l in range(n + 1)]
    top, low = max(norms[1:]), min(norms[1:])
    if norms[0] <= 1e-6 * max(1.0, top):
        correct = 0
    else:
        correct = 1 if norms[0] < 0.5 * low else (3 if norms[0] > top else 2)
    return MultipleChoice(
        id="steering-zero-point",
        prompt=(
            "Each v is mean(negative) - mean(positive) of the residual stream at the last prompt position (e.g. 'and' "
            "in 'the movie was great and'), over pairs that differ only in the sentiment word. Before seeing the "
            "curves and norms: what is v at L0, the input of block 0 (token + position embedding)?"
        ),
        options=(
            "exactly zero",
            "nonzero, but well below the later points",
            "about as large as at the later points",
            "the largest of all the points",
        ),
        correct=correct,
        explanation=(
            f"||v|| at L0 = {norms[0]:.2g}; "
            + ", ".join(f"L{l} {norms[l]:.2f}" for l in range(1, n + 1))
            + (
                ". At L0 the read position holds only its own token and position embedding, and both prompts of a "
                "pair have the same token at the same position there (only the earlier sentiment word differs); "
                "sentiment reaches that position through attention from block 0 on. So L0 is no steering point: "
                "the dose-response curves start at L1."
                if correct == 0
                else ". L0 is not zero here, so some pair differs at the read position itself."
            )
        ),
        conceptual=True,
    )


def flip_alpha_question(m: Mapping[str, float]) -> Question:
    f = int(m["focus"])
    alphas = alphas_of(m)
    flips = curve(m, "flip", f)
    x, sd = crossing(m, f), float(m[f"cross_sd_L{f}"])
    pts = ", ".join(f"alpha {a:g}: {v:.2f}" for a, v in zip(alphas, flips, strict=True))
    if x is None:
        answer, tol = alphas[-1], alphas[-1] - alphas[-2] if len(alphas) > 1 else 1.0
        why = f"The L{f} curve never reaches 0.5 on this grid ({pts}); the key is the largest alpha."
    else:
        answer, tol = round(x, 2), max(2 * sd, 0.05)
        gap = x - 0.5
        where = (
            "within noise of 0.5"
            if abs(gap) <= 2 * sd
            else f"{abs(gap):.2f} {'above' if gap > 0 else 'below'} 0.5 ({abs(gap) / max(sd, 1e-9):.0f} bootstrap SDs)"
        )
        why = (
            f"The L{f} curve: {pts}. It crosses 0.5 at alpha = {x:.2f} (bootstrap SD over the "
            f"{int(m['n_eval_prompts'])} evaluation prompts {sd:.2f}; tolerance two SDs, at least 0.05). "
            "First-order expectation: alpha * v moves the positive mean a fraction alpha of the way to the negative "
            "mean, so a linear read-out is undecided at the midpoint, alpha = 0.5 (alpha = 1 lands on the negative "
            f"mean, well past the flip). Here the crossing is {where}"
            + (
                "."
                if abs(gap) <= 2 * sd
                else f": the read-out from L{f} is not one linear map ("
                + ("later blocks are nonlinear and each " if f < int(m["n_layers"]) else "the final ")
                + "LayerNorm divides by a norm the added vector changes)."
            )
        )
    return Numeric(
        id="steering-flip-alpha",
        prompt=(
            f"Dose-response at L{f}: at what alpha (in multiples of that point's v) does the share of sentiment "
            "probability on negative words first reach 0.5?"
        ),
        answer=answer,
        abs_tol=tol,
        rel_tol=0.0,
        explanation=why,
    )


def random_control_question(m: Mapping[str, float]) -> Question:
    f = int(m["focus"])
    x = crossing(m, f)
    a_c = x if x is not None else alphas_of(m)[-1]
    base, base_sd = float(m["base_flip"]), float(m["base_flip_sd"])
    rnd, rnd_sd, rnd_max = (float(m[f"{k}_L{f}"]) for k in ("rand_at_cross", "rand_at_cross_sd", "rand_at_cross_max"))
    v_at = 0.5 if x is not None else curve(m, "flip", f)[-1]
    ratio = (rnd - base) / max(1e-9, v_at - base)
    correct = 0 if ratio < 0.25 else (1 if rnd < v_at else 2)
    n, last = int(m["n_layers"]), int(m["n_alphas"]) - 1
    worst = max(float(m[f"rand_flip_max_L{l}_a{last}"]) for l in range(1, n + 1))
    return MultipleChoice(
        id="steering-random-control",
        prompt=(
            f"Control: at L{f}, add alpha * ||v|| * r for random unit directions r (the same norm as v) at the alpha "
            "where v flips half the sentiment. Predict: how much do the random vectors move the share of negative "
            "sentiment, compared with v's move from the unsteered value to 0.5?"
        ),
        options=(
            "far less (under a quarter of v's move): the flip is specific to v's direction, not to its size",
            "a sizeable part (a quarter or more) but less than v: much of the flip is perturbation size alone",
            "as much as v or more",
        ),
        correct=correct,
        explanation=(
            f"At L{f}, alpha {a_c:.2f}: unsteered {base:.3f} (bootstrap SD {base_sd:.3f}), v {v_at:.2f}, "
            f"{int(m['n_random'])} random directions {rnd:.3f} on average (SD {rnd_sd:.3f}, the most {rnd_max:.3f}): "
            f"{ratio:.0%} of v's move. The control matters at large alpha: at alpha {alphas_of(m)[-1]:g} a random "
            f"vector of v's norm flips up to {worst:.2f} at some point; a big enough push in any direction can move "
            "the read-out, so a steering effect counts only against a norm-matched control."
        ),
        conceptual=True,
    )


def logit_edit_question(m: Mapping[str, float]) -> Question:
    n = int(m["n_layers"])
    cos = [float(m[f"cos_L{l}"]) for l in range(1, n + 1)]
    c = cos[-1]
    return MultipleChoice(
        id="steering-logit-edit",
        prompt=(
            "Compare each v with the residual direction the model reads 'negative minus positive' logits from "
            "(final LayerNorm weight times mean W_U[:, negative words] - mean W_U[:, positive words], centred). "
            f"At the final point L{n}, their cosine is..."
        ),
        options=(
            "near 0 (below 0.3): v lives in directions the unembedding ignores",
            "in between (0.3 to 0.8)",
            f"near 1 (above 0.8): adding v at L{n} is nearly a direct edit of the logit difference",
        ),
        correct=0 if abs(c) < 0.3 else (1 if abs(c) <= 0.8 else 2),
        explanation=(
            "Cosine with the read-out direction: "
            + ", ".join(f"L{l} {cos[l - 1]:.2f}" for l in range(1, n + 1))
            + f". At L{n} only the final LayerNorm lies between v and the logits, so with cosine {c:.2f} steering "
            "there is close to adding to the logits themselves; earlier points go through the remaining blocks, "
            "which is where steering tests how the model represents sentiment."
        ),
        conceptual=True,
    )


def ablation_question(m: Mapping[str, float]) -> Question:
    f = int(m["focus"])
    base, abl, surv, sd = (
        float(m[k]) for k in ("consistency_base", "consistency_ablated", "surviving", "surviving_sd")
    )
    rnd, rnd_min = float(m["consistency_random"]), float(m["consistency_random_min"])
    correct = 0 if surv <= 2 * sd else (2 if surv >= 1 - 2 * sd - 0.1 else 1)
    says = (
        "nothing beyond noise survives: the model's use of sentiment runs through this one direction",
        "part survives: the direction carries much of what the model uses, other directions the rest",
        "nearly all survives: the model reads sentiment from other directions",
    )[correct]
    return MultipleChoice(
        id="steering-ablation",
        prompt=(
            f"Directional ablation: project the unit direction of v at L{f} out of the residual stream at every "
            "layer and position (x <- x - r r^T x). Unablated, the model's next sentiment word agrees with the "
            "sentence's sentiment far above chance (0.5). Predict: after the ablation, the agreement..."
        ),
        options=(
            "falls to chance, within noise",
            "falls, but stays clearly above chance",
            "hardly moves, as for a random direction",
        ),
        correct=correct,
        explanation=(
            f"Agreement {base:.3f} unablated, {abl:.3f} ablated: ({abl:.3f} - 0.5) / ({base:.3f} - 0.5) = {surv:.2f} "
            f"of the above-chance agreement survives (bootstrap SD {sd:.3f}): {says}. Ablating random directions "
            f"leaves {rnd:.3f} on average (lowest {rnd_min:.3f}): "
            + (
                "their drop is under a quarter of v's, so the effect is specific to v's direction. "
                if base - rnd < 0.25 * (base - abl)
                else "random directions hurt comparably, so the drop is not specific to v's direction. "
            )
            + "Ablation tests necessity, adding v sufficiency; Arditi et al. use both for the refusal direction."
        ),
        conceptual=True,
    )


def overshoot_question(m: Mapping[str, float]) -> Question:
    f, last = int(m["focus"]), int(m["n_alphas"]) - 1
    a_max = alphas_of(m)[-1]
    m0, m1 = float(m[f"mass_L{f}_a0"]), float(m[f"mass_L{f}_a{last}"])
    off0, off1 = float(m["sample_offgrammar_base"]), float(m["sample_offgrammar_steered_max"])
    broken, falls = off1 - off0 > OFF_GRAMMAR_STEP, m0 - m1 > MASS_STEP
    correct = {(False, False): 0, (True, False): 1, (True, True): 2, (False, True): 3}[broken, falls]
    n = int(m["n_layers"])
    a_show, x = float(m["alpha_shown"]), crossing(m, f)
    shown = (
        f"alpha {a_show:.2f} = twice L{f}'s 50% alpha ({x:.2f})"
        if x is not None and abs(a_show - 2 * x) < 1e-6
        else f"alpha {a_show:.2f}, the largest"
    )
    return MultipleChoice(
        id="steering-overshoot",
        prompt=(
            f"Predict, then see the samples: steer at L{f} with the largest alpha ({a_max:g}) at every position while "
            "sampling continuations of positive prompts. Compared with the unsteered model..."
        ),
        options=(
            f"the text stays grammatical (off-grammar bigrams up by at most {OFF_GRAMMAR_STEP:g}) and the next-token "
            "probability of sentiment words stays (falls by at most 0.1)",
            f"the text breaks (off-grammar bigrams up by more than {OFF_GRAMMAR_STEP:g}), yet the next-token "
            "probability of sentiment words does not fall by more than 0.1",
            f"the text breaks (off-grammar bigrams up by more than {OFF_GRAMMAR_STEP:g}) and the next-token "
            "probability of sentiment words falls by more than 0.1",
            f"the text stays grammatical (off-grammar bigrams up by at most {OFF_GRAMMAR_STEP:g}) but the next-token "
            "probability of sentiment words falls by more than 0.1",
        ),
        correct=correct,
        explanation=(
            f"Share of sampled bigrams the training grammar never produces: {off0:.2f} unsteered, {off1:.2f} at alpha "
            f"{a_max:g} ({float(m['sample_offgrammar_steered']):.2f} at {shown}). "
            + (
                "The vector is added at every position, generated tokens included, so every later word is predicted "
                "from a pushed residual, not only the first sentiment word: the grammar breaks. "
                if broken
                else "Although the vector is added at every position, generated tokens included, the grammar holds. "
            )
            + f"Next-token probability of sentiment words at L{f}: {m0:.2f} at alpha 0, {m1:.2f} at alpha {a_max:g}; "
            "at the largest alpha, per point: "
            + ", ".join(f"L{l} {float(m[f'mass_L{l}_a{last}']):.2f}" for l in range(1, n + 1))
            + (
                f". At L{f}, {m0 - m1:.2f} of the probability moves off the sentiment words onto other words: "
                f"alpha {a_max:g} is far past alpha 1 (the negative mean), a residual unlike any seen in training, "
                "and what reads it no longer predicts a sentiment word as strongly."
                if falls
                else f". At L{f} the push still ends on a sentiment word (negative share "
                f"{float(m[f'flip_L{f}_a{last}']):.2f}); the damage shows in the sampled text, not in this one-token "
                "measure."
            )
            + " CAA papers report behaviour together with a capability / fluency check."
        ),
    )


def caa_question(m: Mapping[str, float]) -> Question:
    f, pairs = int(m["focus"]), int(m["n_pairs"])
    c_mean, c_min = float(m["pair_cos_mean"]), float(m["pair_cos_min"])
    return FreeText(
        id="steering-caa-vs-actadd",
        prompt=(
            f"This lab built v CAA-style: the mean difference over {pairs} contrastive pairs, added at every "
            "position. ActAdd would build it from a single pair. Compare ActAdd and Contrastive Activation Addition "
            "(CAA): how is each vector built and applied, and what does averaging over pairs buy?"
        ),
        model_answer=(
            "ActAdd (Turner et al. 2023) takes the difference of activations for a single prompt pair (e.g. 'Love' "
            "minus 'Hate') at one layer and adds it, scaled by a coefficient, at the start of the prompt during the "
            "forward pass. CAA (Rimsky/Panickssery et al. 2023) averages the difference over many contrastive pairs "
            "(multiple-choice answers exhibiting vs not exhibiting the behaviour) at the answer position, which "
            "averages out noise specific to one pair, and adds the mean-difference vector at every token position "
            "after the prompt, with a positive or negative multiplier, on Llama 2 Chat. Both pick a layer (middle "
            "layers work best) and a coefficient; too large a coefficient breaks fluency."
        ),
        key_points=(
            "ActAdd: one prompt pair, difference of activations",
            "CAA: mean difference over many contrastive pairs (less noise)",
            "CAA adds at all positions after the prompt; ActAdd at the prompt's positions at one layer",
            "layer and coefficient are chosen; too large breaks the model",
        ),
        terms=(
            ("actadd", "single", "one pair", "one prompt"),
            ("caa", "mean", "average", "many"),
            ("position", "token", "after the prompt", "every"),
            ("layer", "coefficient", "multiplier", "alpha", "scale"),
        ),
        explanation=(
            f"In this run, at L{f}, a single pair's difference (an ActAdd-style vector) has cosine {c_mean:.2f} with "
            f"the mean over the {pairs} pairs on average, {c_min:.2f} for the least typical pair: "
            + (
                "one pair already points close to the mean here (the pairs are templated and differ in one word), "
                "so averaging buys little in this toy; with free-form pairs the pair-specific part is larger."
                if c_min >= 0.9
                else f"a typical pair's difference is {math.degrees(math.acos(max(-1.0, min(1.0, c_mean)))):.0f} "
                "degrees off the mean: that pair-specific part (the words, the template) is what the average cancels."
                if c_mean < 0.9
                else f"pairs point close to the mean (the least typical {math.degrees(math.acos(c_min)):.0f} degrees "
                "off); the smaller pair-specific part that remains is what the average cancels."
            )
        ),
    )


def build_questions(metrics: Mapping[str, float]) -> list[Question]:
    """Questions whose answer keys are computed from this run's metrics (same ids at every seed)."""
    return [
        zero_point_question(metrics),
        flip_alpha_question(metrics),
        random_control_question(metrics),
        logit_edit_question(metrics),
        ablation_question(metrics),
        overshoot_question(metrics),
        caa_question(metrics),
    ]
