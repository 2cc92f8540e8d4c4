"""Activation steering and directional ablation on a tiny language model.

A small transformer (TransformerBridge, TL-native) is trained on the one-sentiment sentences of
:mod:`mi_prep.lab.tasks.sentiment`, so it has to carry a sentence's sentiment along the residual stream.

* Steering vector (CAA style, Rimsky/Panickssery et al. 2023): difference of means of the residual
  stream at the adjective position over many contrastive prompt pairs (negative minus positive), at
  each layer. Adding ``alpha * v`` at every position of a positive prompt pushes the next sentiment
  word towards negative: a dose-response curve per layer.
* Directional ablation (Arditi et al. 2024): project the unit direction ``r`` out of the residual
  stream at every layer and position (``x <- x - r r^T x``) and measure how often the model's next
  sentiment word still agrees with the sentence; a random direction is the control.

Module import does not import torch; question building is a pure function of the metrics.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

from mi_prep.lab.api import (
    Field,
    FreeText,
    Lab,
    LabContext,
    LabResult,
    MultipleChoice,
    Numeric,
    PickComponent,
    Question,
    Table,
    Text,
)
from mi_prep.lab.curves import earliest_crossing
from mi_prep.lab.figures import curves_plot, grid_table, loss_plot
from mi_prep.lab.interventions import point_labels
from mi_prep.lab.tasks.sentiment import NOUNS, SENTIMENT_SMALL, VOCAB, SentimentLMSpec


class SteeringParams(SentimentLMSpec):
    alphas: tuple[float, ...] = Field(
        tuple(round(0.2 * i, 1) for i in range(16)),
        min_length=1,
        description="steering strengths, in multiples of the difference of means",
    )
    sample_tokens: int = Field(10, ge=0, description="tokens per sampled continuation")
    n_samples: int = Field(4, ge=1, description="samples per prompt and condition")


# --------------------------------------------------------------------------- pure question building


def _curves(metrics: Mapping[str, float]) -> tuple[list[float], list[list[float]], list[list[float]]]:
    n_a, n_l = int(metrics["n_alphas"]), int(metrics["n_points"])
    alphas = [float(metrics[f"alpha_{j}"]) for j in range(n_a)]
    flips = [[float(metrics[f"flip_L{l}_a{j}"]) for j in range(n_a)] for l in range(n_l)]
    mass = [[float(metrics[f"mass_L{l}_a{j}"]) for j in range(n_a)] for l in range(n_l)]
    return alphas, flips, mass


def best_layer(metrics: Mapping[str, float]) -> tuple[int, list[float | None], str]:
    """Layer whose curve reaches a 50% flip at the smallest alpha; ties/none -> largest flip at the top alpha."""
    alphas, flips, _ = _curves(metrics)
    b, fa = earliest_crossing(alphas, flips)
    why = (
        f"reaches a 50% flip at the smallest alpha ({fa[b]:.2f})"
        if fa[b] is not None
        else f"no layer reaches 50%; it has the largest flip at alpha={alphas[-1]:g} ({flips[b][-1]:.2f})"
    )
    return b, fa, why


def build_questions(metrics: Mapping[str, float]) -> list[Question]:
    """Questions whose answer keys are computed from this run's metrics."""
    qs: list[Question] = []
    alphas, flips, mass = _curves(metrics)
    names = point_labels(len(flips))
    b, fa, why = best_layer(metrics)
    step = alphas[1] - alphas[0] if len(alphas) > 1 else 1.0
    desc = "; ".join(
        f"{names[l]}: "
        + (f"50% at alpha {fa[l]:.2f}" if fa[l] is not None else f"max {flips[l][-1]:.2f} at alpha {alphas[-1]:g}")
        for l in range(len(flips))
    )
    n_layers = int(metrics["n_layers"])
    qs.append(
        PickComponent(
            id="steering-best-layer",
            prompt=(
                f"The steering vector v (negative minus positive mean activation) is added as alpha * v at one residual "
                f"point: L0..L{n_layers - 1} = the input of block 0..{n_layers - 1}, L{n_layers} = the final residual "
                "stream. Which point steers best (50% of the next sentiment word's probability flipped to negative "
                "at the smallest alpha)?"
            ),
            components=names,
            correct=(names[b],),
            explanation=f"{names[b]} {why}. Per point: {desc}. alpha is in units of that layer's own difference of means.",
        )
    )

    if fa[b] is not None:
        qs.append(
            Numeric(
                id="steering-flip-alpha",
                prompt=(
                    "At the point that steers best, what alpha (in units of the difference-of-means vector) first "
                    "moves half of the sentiment probability to negative words?"
                ),
                answer=round(fa[b], 3),
                abs_tol=step,
                rel_tol=0.0,
                explanation=(
                    f"The {names[b]} curve: "
                    + ", ".join(f"alpha {a:g}: {f:.2f}" for a, f in zip(alphas, flips[b]))
                    + f". It crosses 0.5 at alpha = {fa[b]:.2f} (interpolated; the grid step is {step:g}, "
                    "which sets the tolerance). Near alpha = 1 is natural: adding one full difference of "
                    "means moves a positive activation to where negative ones sit."
                ),
            )
        )

    # overshoot: sentiment mass at the largest alpha
    m0, m_hi = mass[b][0], mass[b][-1]
    qs.append(
        MultipleChoice(
            id="steering-overshoot",
            prompt=(
                f"At the point that steers best, compare alpha = 0 with the largest alpha ({alphas[-1]:g}). What "
                "happens to the total probability the model puts on sentiment words at the steered position?"
            ),
            options=(
                "it stays about the same (within 0.1): steering only swaps positive for negative",
                "it drops by more than 0.1: large alphas push activations off-distribution and break the model",
                "it rises by more than 0.1",
            ),
            correct=0 if abs(m_hi - m0) <= 0.1 else (1 if m_hi < m0 else 2),
            explanation=(
                f"Sentiment-word mass at {names[b]}: {m0:.2f} at alpha 0, {m_hi:.2f} at alpha {alphas[-1]:g}. "
                "Steering strength is a trade-off: too large a multiple of v degrades fluency, which is why "
                "CAA papers report behaviour together with a capability / perplexity check."
            ),
        )
    )

    base, abl, rnd = (
        float(metrics["consistency_base"]),
        float(metrics["consistency_ablated"]),
        float(metrics["consistency_random"]),
    )
    if abl <= 0.6:
        c = 0
    elif base - abl >= 0.1:
        c = 1
    else:
        c = 2
    qs.append(
        MultipleChoice(
            id="steering-ablation",
            prompt=(
                "Directional ablation: project the unit steering direction r out of the residual stream at every layer "
                "and position (x <- x - r r^T x), then ask the model to continue sentences whose sentiment is already "
                "set. How often does its next sentiment word still agree with the sentence? What does that say?"
            ),
            options=(
                "it falls to about chance (<= 0.6): the model's use of sentiment runs through this one direction",
                "it drops clearly (>= 0.1) but stays above 0.6: the direction carries much, not all, of the information",
                "it barely changes (< 0.1 drop): the model can read sentiment from other directions too",
            ),
            correct=c,
            explanation=(
                f"Agreement of the next sentiment word with the sentence: {base:.2f} normally, {abl:.2f} with r "
                f"ablated, {rnd:.2f} with a random direction ablated (control). "
                "Ablation tests necessity, adding the vector tests sufficiency; Arditi et al. use both for the "
                "refusal direction (ablating it removes refusal, adding it induces refusal)."
            ),
        )
    )

    qs.append(
        FreeText(
            id="steering-caa-vs-actadd",
            prompt="Compare ActAdd and Contrastive Activation Addition (CAA). How is each steering vector built and applied?",
            model_answer=(
                "ActAdd (Turner et al. 2023) takes the difference of activations for a single prompt pair (e.g. 'Love' "
                "minus 'Hate') at one layer and adds it, scaled by a coefficient, at the start of the prompt during the "
                "forward pass. CAA (Rimsky/Panickssery et al. 2023) averages the difference over many contrastive pairs "
                "(multiple-choice answers exhibiting vs not exhibiting the behaviour) at the answer position, which "
                "averages out noise specific to one pair, and adds the mean-difference vector at every token position "
                "after the prompt, with a positive or negative multiplier, on Llama 2 Chat. Both pick a layer (middle "
                "layers work best) and a coefficient; too large a coefficient breaks fluency. This lab builds the vector "
                f"CAA-style from {int(metrics.get('n_pairs', 0))} pairs."
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
            explanation=f"In this run {names[b]} steered best; "
            + (
                f"alpha {fa[b]:.2f} flipped half the sentiment mass."
                if fa[b] is not None
                else "no layer reached a 50% flip."
            ),
        )
    )
    return qs


# --------------------------------------------------------------------------- the lab


class SteeringLab(Lab):
    name = "steering"
    title = "Steering vectors and directional ablation"
    summary = (
        "Train a tiny LM on one-sentiment sentences, build a difference-of-means steering vector per layer, "
        "plot dose-response curves, sample steered text and ablate the direction."
    )
    topics = ("steering", "activation-addition", "refusal-direction", "linear-representations")
    Params = SteeringParams
    small = {**SENTIMENT_SMALL, "alphas": (0.0, 0.5, 1.0, 1.5, 2.0, 3.0), "n_samples": 2}

    def run(self, ctx: LabContext) -> LabResult:
        import torch

        from mi_prep.lab.tasks.sentiment import WordTokenizer, sentiment_model

        p: SteeringParams = ctx.params
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            model, losses, was_cached = sentiment_model(ctx, p)
            timings["train"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            metrics, blocks = self._experiments(ctx, p, model, WordTokenizer(), torch.device(ctx.device))
        timings["experiments"] = time.perf_counter() - t1
        metrics["was_cached"] = float(was_cached)
        metrics["final_loss"] = float(losses[-1]) if losses else float("nan")
        caption = "loaded from cache" if was_cached else ""
        blocks.insert(1, loss_plot("Language-model training loss", losses, caption=caption))
        timings["total"] = time.perf_counter() - t0
        return LabResult(blocks=blocks, metrics=metrics, questions=build_questions(metrics), timings=timings)

    # ------------------------------------------------------------------ experiments

    def _experiments(self, ctx: LabContext, p: SteeringParams, model, tok, dev):
        from mi_prep.lab.interventions import add_vector, dose_response, project_out, random_unit, resid_points
        from mi_prep.lab.tasks.sentiment import SAMPLE_PROMPTS, SentimentProbe, steering_vectors

        n_layers = p.n_layers
        points = resid_points(n_layers)
        names = point_labels(len(points))

        # contrastive pairs (identical but for the adjective's sentiment), activation at the adjective
        # CAA reads the activation where the behaviour is produced: the position right after the sentiment word,
        # whose next token must be a sentiment word. Nouns are split between vector building and evaluation.
        build_nouns, eval_nouns = NOUNS[: len(NOUNS) // 2 + 1], NOUNS[len(NOUNS) // 2 + 1 :]
        steer, n_pairs = steering_vectors(model, tok, build_nouns, points, dev)
        ctx.check_cancelled()

        # eval prompts: positive sentiment set, next token is a sentiment word
        probe = SentimentProbe(model, tok, eval_nouns, dev)

        alphas = [float(a) for a in p.alphas]
        metrics: dict[str, float] = {
            "n_layers": float(n_layers),
            "n_points": float(len(points)),
            "n_alphas": float(len(alphas)),
            "n_pairs": float(n_pairs),
            "n_eval_prompts": float(len(probe.prompts_pos)),
        }
        for j, a in enumerate(alphas):
            metrics[f"alpha_{j}"] = a
        curves = dose_response(ctx, points, steer, alphas, probe.flip_share)
        for li in range(len(points)):
            metrics[f"steer_norm_L{li}"] = float(steer[li].norm())
            for j, (flip, mass) in enumerate(curves[li]):
                metrics[f"flip_L{li}_a{j}"] = flip
                metrics[f"mass_L{li}_a{j}"] = mass

        b, fa, why = best_layer(metrics)
        metrics["best_layer"] = float(b)
        metrics["flip_alpha_best"] = float(fa[b]) if fa[b] is not None else float("nan")

        # directional ablation of the best layer's direction at every layer and position
        r = steer[b] / steer[b].norm().clamp_min(1e-8)
        r_rand = random_unit(r.shape[0], ctx.seed + 11, r.device)
        ablate_points = resid_points(n_layers, mid=True)
        metrics["consistency_base"] = probe.agreement([])
        for key, direction in (("ablated", r), ("random", r_rand)):
            hooks = [(pt, project_out(direction)) for pt in ablate_points]
            metrics[f"consistency_{key}"] = probe.agreement(hooks)
        ctx.check_cancelled()

        # samples: base, steered at the best layer, ablated
        a_show = max(alphas[-1] * 0.5, fa[b] * 1.5) if fa[b] is not None else alphas[-1]
        a_show = min(a_show, alphas[-1])
        metrics["alpha_shown"] = float(a_show)
        conditions = [  # sampled with the same noise
            ("base", []),
            (f"steered {names[b]} alpha={a_show:.2f}", [(points[b], add_vector(steer[b], a_show))]),
            ("direction ablated", [(pt, project_out(r)) for pt in ablate_points]),
        ]
        sample_rows, frac = probe.sampled(
            ctx, SAMPLE_PROMPTS, conditions, p.n_samples, p.sample_tokens, seed=ctx.seed + 101, n_ctx=p.n_ctx
        )
        for key, share in zip(("base", "steered", "ablated"), frac.values(), strict=True):
            metrics[f"sample_neg_frac_{key}"] = share

        blocks: list = [
            Text(
                title="Setup",
                body=(
                    f"Word-level corpus over {len(VOCAB)} words: sentences such as 'the movie was great and lovely . i loved "
                    "it .' or 'i hated the book . it was awful and boring .', each with one sentiment (50/50), concatenated "
                    f"to {p.n_ctx} tokens. Model: {n_layers} layers, d_model {p.d_model}, {p.n_heads} heads, "
                    f"MLP {p.d_mlp}, trained {p.steps} steps. Steering vector per point = mean(negative) - mean(positive) "
                    f"residual at the position after the sentiment word (where the next word must carry the sentiment) over {n_pairs} contrastive pairs (nouns {', '.join(build_nouns)}); evaluation uses the other nouns; alpha * v is added at every position of "
                    f"{len(probe.prompts_pos)} positive prompts. 'flip' = P(negative words) / P(sentiment words) at the next token. "
                    f"L0..L{n_layers - 1} = input of block i (hook_resid_pre), L{n_layers} = final residual (resid_post)."
                ),
            )
        ]
        for title, key, ylabel in (
            ("Dose-response: share of sentiment probability on negative words", "flip", "P(neg) / P(sentiment)"),
            ("Total probability on sentiment words (fluency check)", "mass", "P(sentiment words)"),
        ):
            ys = [[metrics[f"{key}_L{l}_a{j}"] for j in range(len(alphas))] for l in range(len(points))]
            xlabel = "alpha (multiples of the difference of means)" if key == "flip" else "alpha"
            blocks.append(curves_plot(title, names, alphas, ys, xlabel=xlabel, ylabel=ylabel))
        blocks.append(
            Table(
                title="Steering by layer",
                columns=["point", "hook", "||v||", "alpha for 50% flip", f"flip at alpha {alphas[-1]:g}"],
                rows=[
                    [
                        names[l],
                        points[l],
                        round(metrics[f"steer_norm_L{l}"], 3),
                        round(fa[l], 2) if fa[l] is not None else "not reached",
                        round(metrics[f"flip_L{l}_a{len(alphas) - 1}"], 3),
                    ]
                    for l in range(len(points))
                ],
                caption=f"best: {names[b]} ({why})",
            )
        )
        blocks.append(
            grid_table(
                "Directional ablation (x <- x - r r^T x at every layer and position)",
                "condition",
                ["no ablation", f"ablate r ({names[b]} steering direction)", "ablate a random direction (control)"],
                ["next sentiment word agrees with the sentence"],
                [[metrics[f"consistency_{key}"]] for key in ("base", "ablated", "random")],
                caption="0.5 = chance: the model no longer knows which sentiment the sentence has",
            )
        )
        blocks.append(
            Table(
                title="Sampled continuations (seeded, same noise per condition)",
                columns=["condition", "prompt", "continuation"],
                rows=sample_rows,
                caption="negative share of sentiment words sampled: "
                + ", ".join(f"{k} {v:.2f}" for k, v in frac.items()),
            )
        )
        return metrics, blocks


LAB = SteeringLab()
