"""Activation steering and directional ablation on a tiny language model.

A small transformer (TransformerBridge, TL-native) is trained on the one-sentiment sentences of
:mod:`mi_prep.lab.tasks.sentiment`, so it has to carry a sentence's sentiment along the residual stream.

* Steering vector (CAA style, Rimsky/Panickssery et al. 2023): difference of means of the residual
  stream at the position after the sentiment word over many contrastive prompt pairs (negative minus
  positive), at each layer. Adding ``alpha * v`` at every position of a positive prompt pushes the next
  sentiment word towards negative: a dose-response curve per layer, against norm-matched random vectors.
* Directional ablation (Arditi et al. 2024): project the unit direction ``r`` out of the residual
  stream at every layer and position (``x <- x - r r^T x``) and measure how often the model's next
  sentiment word still agrees with the sentence; random directions are the control.
* The seed picks the focus point (L1..Ln) the graded questions are about, and the held-out nouns;
  tolerances are two bootstrap SDs over the evaluation prompts.

Module import does not import torch; measurements live in :mod:`mi_prep.lab.steering_experiment`,
questions (a pure function of the metrics) in :mod:`mi_prep.lab.steering_questions`.
"""

from __future__ import annotations

import time

from mi_prep.lab.api import Block, Field, Lab, LabContext, LabResult, Table, Text
from mi_prep.lab.figures import curves_plot, loss_plot
from mi_prep.lab.interventions import point_labels, resid_points
from mi_prep.lab.steering_questions import build_questions, crossing
from mi_prep.lab.tasks.sentiment import SENTIMENT_SMALL, VOCAB, SentimentLMSpec

__all__ = ["LAB", "SteeringLab", "SteeringParams", "build_questions", "focus_point"]


class SteeringParams(SentimentLMSpec):
    alphas: tuple[float, ...] = Field(
        tuple(round(0.2 * i, 1) for i in range(16)),
        min_length=2,
        description="steering strengths, in multiples of the difference of means (ascending, from 0)",
    )
    n_random: int = Field(6, ge=1, description="norm-matched random directions (steering and ablation controls)")
    sample_tokens: int = Field(10, ge=1, description="tokens per sampled continuation")
    n_samples: int = Field(6, ge=1, description="samples per prompt and condition")


def revealed(block: Block, question_id: str) -> Block:
    """``block``, shown once ``question_id`` has been answered."""
    block.after = question_id
    return block


def focus_point(seed: int, n_layers: int) -> int:
    """The point L1..Ln the graded questions are about (L0 has no steering vector)."""
    return 1 + seed % n_layers


class SteeringLab(Lab):
    name = "steering"
    title = "Steering vectors and directional ablation"
    summary = (
        "Train a tiny LM on one-sentiment sentences, build a difference-of-means steering vector per layer, "
        "plot dose-response curves, sample steered text and ablate the direction."
    )
    topics = ("steering", "activation-addition", "refusal-direction", "linear-representations")
    Params = SteeringParams
    small = {
        **SENTIMENT_SMALL,
        "alphas": (0.0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 2.0, 3.0),
        "n_random": 4,
        "n_samples": 4,
    }

    def run(self, ctx: LabContext) -> LabResult:
        import torch

        from mi_prep.lab.steering_experiment import measure
        from mi_prep.lab.tasks.sentiment import WordTokenizer, sentiment_model

        p: SteeringParams = ctx.params
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(ctx.seed)
            model, losses, was_cached = sentiment_model(ctx, p)
            timings["train"] = time.perf_counter() - t0
            t1 = time.perf_counter()
            focus = focus_point(ctx.seed, p.n_layers)
            metrics, rows, build_nouns = measure(ctx, p, model, WordTokenizer(), torch.device(ctx.device), focus=focus)
        timings["experiments"] = time.perf_counter() - t1
        metrics["was_cached"] = float(was_cached)
        metrics["final_loss"] = float(losses[-1]) if losses else float("nan")
        blocks = self._blocks(p, metrics, rows, build_nouns)
        blocks.insert(
            1, loss_plot("Language-model training loss", losses, caption="loaded from cache" if was_cached else "")
        )
        timings["total"] = time.perf_counter() - t0
        return LabResult(blocks=blocks, metrics=metrics, questions=build_questions(metrics), timings=timings)

    # ------------------------------------------------------------------ blocks

    def _blocks(self, p: SteeringParams, m: dict[str, float], rows: list[list[str]], build_nouns) -> list:
        n = p.n_layers
        f = int(m["focus"])
        points = resid_points(n)
        names = point_labels(n + 1)
        steer_names = list(names[1:])
        alphas = [float(a) for a in p.alphas]
        last = len(alphas) - 1
        k = int(m["n_random"])

        def ys(key: str) -> list[list[float]]:
            return [[m[f"{key}_L{l}_a{j}"] for j in range(len(alphas))] for l in range(1, n + 1)]

        blocks: list = [
            Text(
                title="Setup",
                body=(
                    f"Word-level corpus over {len(VOCAB)} words: sentences such as 'the movie was great and lovely . i "
                    "loved it .' or 'i hated the book . it was awful and boring .', each with one sentiment (50/50), "
                    f"concatenated to {p.n_ctx} tokens. Model: {n} layers, d_model {p.d_model}, {p.n_heads} heads, MLP "
                    f"{p.d_mlp}, trained {p.steps} steps. Steering vector per point = mean(negative) - mean(positive) "
                    "residual at the last prompt position (the next word must carry the sentiment) over "
                    f"{int(m['n_pairs'])} contrastive pairs (nouns {', '.join(build_nouns)}); evaluation uses the other "
                    f"nouns: alpha * v is added at every position of {int(m['n_eval_prompts'])} positive prompts. "
                    "'flip' = P(negative words) / P(sentiment words) at the next token. "
                    f"L0..L{n - 1} = input of block i (hook_resid_pre), L{n} = final residual (resid_post). "
                    f"This run's questions are about L{f} (the seed picks the point). Uncertainties are bootstrap SDs "
                    "over the evaluation prompts."
                ),
            ),
            revealed(
                curves_plot(
                    "Dose-response: share of sentiment probability on negative words",
                    steer_names,
                    alphas,
                    ys("flip"),
                    xlabel="alpha (x v)",
                    ylabel="P(neg) / P(sentiment)",
                ),
                "steering-zero-point",
            ),
            Table(
                title="Steering vectors by point",
                columns=["point", "hook", "||v||"],
                rows=[[names[l], points[l], f"{m[f'norm_L{l}']:.3g}"] for l in range(n + 1)],
                after="steering-zero-point",
            ),
            Table(
                title="Where each curve crosses 0.5",
                columns=["point", "alpha for 50% flip", "bootstrap SD", f"flip at alpha {alphas[-1]:g}"],
                rows=[
                    [
                        names[l],
                        f"{x:.2f}" if (x := crossing(m, l)) is not None else "not reached",
                        f"{m[f'cross_sd_L{l}']:.3f}",
                        f"{m[f'flip_L{l}_a{last}']:.3f}",
                    ]
                    for l in range(1, n + 1)
                ],
                caption="alpha = 0.5 puts a positive mean at the midpoint between the class means",
                after="steering-flip-alpha",
            ),
            revealed(
                curves_plot(
                    f"Norm-matched random control: alpha * ||v|| * random unit direction (mean of {k})",
                    [f"{s} random" for s in steer_names],
                    alphas,
                    ys("rand_flip"),
                    xlabel="alpha",
                    ylabel="P(neg) / P(sentiment)",
                ),
                "steering-random-control",
            ),
            Table(
                title="Steering vector vs random vectors of the same norm",
                columns=[
                    "point",
                    "alpha (v: 50%)",
                    "random mean",
                    "SD",
                    "random max",
                    f"v at {alphas[-1]:g}",
                    f"random max at {alphas[-1]:g}",
                ],
                rows=[
                    [
                        names[l],
                        f"{x:.2f}" if (x := crossing(m, l)) is not None else f"{alphas[-1]:g}",
                        f"{m[f'rand_at_cross_L{l}']:.3f}",
                        f"{m[f'rand_at_cross_sd_L{l}']:.3f}",
                        f"{m[f'rand_at_cross_max_L{l}']:.3f}",
                        f"{m[f'flip_L{l}_a{last}']:.3f}",
                        f"{m[f'rand_flip_max_L{l}_a{last}']:.3f}",
                    ]
                    for l in range(1, n + 1)
                ],
                caption=f"unsteered: {m['base_flip']:.3f} (bootstrap SD {m['base_flip_sd']:.3f})",
                after="steering-random-control",
            ),
            Table(
                title="Cosine of v with the logit read-out direction",
                columns=["point", "cosine"],
                rows=[[names[l], f"{m[f'cos_L{l}']:.3f}"] for l in range(1, n + 1)],
                caption="read-out = centred (ln_final weight * (mean W_U[:, neg] - mean W_U[:, pos]))",
                after="steering-logit-edit",
            ),
            Table(
                title="Directional ablation (x <- x - r r^T x at every layer and position)",
                columns=["ablated direction", "agreement", "SD"],
                rows=[
                    ["none", f"{m['consistency_base']:.3f}", f"{m['consistency_base_sd']:.3f}"],
                    [f"r = unit v at L{f}", f"{m['consistency_ablated']:.3f}", f"{m['consistency_ablated_sd']:.3f}"],
                    [f"random (mean of {k})", f"{m['consistency_random']:.3f}", ""],
                ],
                caption=(
                    "agreement: next sentiment word matches the sentence (chance 0.5); "
                    f"lowest random {m['consistency_random_min']:.3f}"
                ),
                after="steering-ablation",
            ),
            revealed(
                curves_plot(
                    "Next-token probability on sentiment words (one-token fluency check)",
                    steer_names,
                    alphas,
                    ys("mass"),
                    xlabel="alpha",
                    ylabel="P(sentiment words)",
                ),
                "steering-overshoot",
            ),
            Table(
                title="Sampled continuations (a = alpha; the same noise per condition)",
                columns=["condition", "prompt", "continuation"],
                rows=rows,
                caption="negative / off-grammar share: "
                + ", ".join(
                    f"{label} {m[f'sample_neg_frac_{key}']:.2f}/{m[f'sample_offgrammar_{key}']:.2f}"
                    for key, label in (
                        ("base", "base"),
                        ("steered", f"a={m['alpha_shown']:.2f}"),
                        ("steered_max", f"a={alphas[-1]:g}"),
                        ("ablated", "ablated"),
                    )
                ),
                after="steering-overshoot",
            ),
        ]
        return blocks


LAB = SteeringLab()
