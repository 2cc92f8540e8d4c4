"""The steering lab's measurements on a trained sentiment LM (torch only inside functions).

    metrics, sample_rows, build_nouns = measure(ctx, p, model, WordTokenizer(), device, focus=2)

* steering vectors v_l = mean(negative) - mean(positive) residual at every point L0..Ln (L0 = embeddings);
* dose-response at L1..Ln: alpha * v_l added at every position of the positive evaluation prompts, and the
  norm-matched control: alpha * ||v_l|| * (random unit vector), for ``p.n_random`` random directions;
* the bootstrap over evaluation prompts of every curve's 50% crossing, of the random control at that alpha,
  and of the directional-ablation agreement (ablating the focus point's direction vs random directions);
* the cosine of single-pair differences (ActAdd style) with the focus point's mean difference v;
* the cosine of each v_l with the direction the final LayerNorm and unembedding read the logit difference from;
* continuations sampled unsteered, steered at the focus point (moderate and largest alpha) and ablated,
  with the share of negative sentiment words and of bigrams the training grammar never produces.
"""

from __future__ import annotations

from typing import Any

from mi_prep.lab.api import LabContext
from mi_prep.lab.steering_stats import boot_crossing, boot_indices, boot_mean, boot_surviving

N_BOOT = 300
CONDITIONS = ("base", "steered", "steered_max", "ablated")


def split_nouns(nouns: tuple[str, ...], seed: int) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Nouns to build the vectors from and held-out nouns to evaluate on (a seeded split, 5 / rest)."""
    import random

    order = list(nouns)
    random.Random(seed).shuffle(order)
    k = len(order) // 2 + 1
    return tuple(order[:k]), tuple(order[k:])


def pair_cosines(model, tok, nouns: tuple[str, ...], point: str, v, dev) -> tuple[float, float]:
    """Cosine of each single pair's difference (negative minus positive, ActAdd style) with the mean
    difference ``v`` (CAA style) at ``point``: the mean and the lowest over the pairs."""
    import torch

    from mi_prep.lab.tasks.sentiment import contrastive_prompts, pad

    acts = []
    for prompts in contrastive_prompts(nouns):
        toks, last = pad(tok, prompts, dev)
        with torch.no_grad():
            _, cache = model.run_with_cache(toks, names_filter=lambda nm: nm == point)
        acts.append(cache[point][torch.arange(toks.shape[0]), last].float())
    diffs = acts[1] - acts[0]
    cos = diffs @ v / (diffs.norm(dim=-1) * v.norm()).clamp_min(1e-12)
    return float(cos.mean()), float(cos.min())


def measure(
    ctx: LabContext, p: Any, model, tok, dev, *, focus: int
) -> tuple[dict[str, float], list[list[str]], tuple[str, ...]]:
    """All the lab's numbers as flat metrics, the sampled-continuation rows and the nouns the vectors
    were built from."""
    import torch

    from mi_prep.lab.interventions import add_vector, project_out, random_units, resid_points
    from mi_prep.lab.tasks.sentiment import NOUNS, SAMPLE_PROMPTS, SentimentProbe, readout_direction, steering_vectors

    n_layers = p.n_layers
    points = resid_points(n_layers)
    build_nouns, eval_nouns = split_nouns(NOUNS, ctx.seed)
    steer, n_pairs = steering_vectors(model, tok, build_nouns, points, dev)
    probe = SentimentProbe(model, tok, eval_nouns, dev)
    alphas = [float(a) for a in p.alphas]
    n_pos = len(probe.prompts_pos)
    idx = boot_indices(n_pos, N_BOOT, ctx.seed + 7)
    m: dict[str, float] = {
        "n_layers": float(n_layers),
        "n_points": float(len(points)),
        "n_alphas": float(len(alphas)),
        "n_pairs": float(n_pairs),
        "n_eval_prompts": float(n_pos),
        "n_random": float(p.n_random),
        "focus": float(focus),
    }
    for j, a in enumerate(alphas):
        m[f"alpha_{j}"] = a
    u = readout_direction(model, tok)
    for li, v in enumerate(steer):
        m[f"norm_L{li}"] = float(v.norm())
        m[f"cos_L{li}"] = float(v @ u / (v.norm() * u.norm()).clamp_min(1e-12)) if float(v.norm()) > 0 else 0.0
    d = int(steer[0].shape[0])
    rand_dirs = random_units(d, p.n_random, ctx.seed + 11, dev)

    base_flips, base_mass = probe.flip_rows([])
    m["base_flip"], m["base_flip_sd"] = boot_mean(base_flips, idx)
    total = n_layers * len(alphas) * (1 + p.n_random)
    done = 0
    for li in range(1, len(points)):
        pt, v = points[li], steer[li]
        rows_v: list[list[float]] = []
        for j, a in enumerate(alphas):
            ctx.check_cancelled()
            flips, mass = probe.flip_rows([(pt, add_vector(v, a))]) if a != 0 else (base_flips, base_mass)
            rows_v.append(flips)
            m[f"flip_L{li}_a{j}"] = sum(flips) / n_pos
            m[f"mass_L{li}_a{j}"] = sum(mass) / n_pos
            rand = [
                probe.flip_share([(pt, add_vector(r * v.norm(), a))])[0] if a != 0 else m["base_flip"]
                for r in rand_dirs
            ]
            m[f"rand_flip_L{li}_a{j}"] = sum(rand) / len(rand)
            m[f"rand_flip_max_L{li}_a{j}"] = max(rand)
            done += 1 + p.n_random
            ctx.progress(done, total, message="dose-response curves and random controls")
        cross, sd, missing = boot_crossing(alphas, rows_v, idx)
        m[f"cross_L{li}"] = cross if cross is not None else float("nan")
        m[f"cross_sd_L{li}"], m[f"cross_missing_L{li}"] = sd, missing
        # the norm-matched random control at exactly the alpha where v flips half (per prompt: bootstrap)
        a_c = cross if cross is not None else alphas[-1]
        per_dir = [probe.flip_rows([(pt, add_vector(r * v.norm(), a_c))])[0] for r in rand_dirs]
        rand_rows = [sum(col) / len(col) for col in zip(*per_dir, strict=True)]
        m[f"rand_at_cross_L{li}"], m[f"rand_at_cross_sd_L{li}"] = boot_mean(rand_rows, idx)
        m[f"rand_at_cross_max_L{li}"] = max(sum(r) / n_pos for r in per_dir)
    ctx.check_cancelled()
    m["pair_cos_mean"], m["pair_cos_min"] = pair_cosines(model, tok, build_nouns, points[focus], steer[focus], dev)

    # directional ablation of the focus point's direction at every layer (before and after attention)
    r = steer[focus] / steer[focus].norm().clamp_min(1e-8)
    abl_points = resid_points(n_layers, mid=True)
    agree_idx = boot_indices(2 * n_pos, N_BOOT, ctx.seed + 13)
    base_rows = probe.agreement_rows([])
    abl_rows = probe.agreement_rows([(pt, project_out(r)) for pt in abl_points])
    m["consistency_base"], m["consistency_base_sd"] = boot_mean(base_rows, agree_idx)
    m["consistency_ablated"], m["consistency_ablated_sd"] = boot_mean(abl_rows, agree_idx)
    m["surviving"], m["surviving_sd"] = boot_surviving(base_rows, abl_rows, agree_idx)
    rand_agree = [probe.agreement([(pt, project_out(q)) for pt in abl_points]) for q in rand_dirs]
    m["consistency_random"] = sum(rand_agree) / len(rand_agree)
    m["consistency_random_min"] = min(rand_agree)
    ctx.check_cancelled()

    # samples at the focus point: unsteered, steered (twice the half-flip alpha, capped), largest alpha, ablated
    a_cross = m[f"cross_L{focus}"]
    a_show = min(alphas[-1], 2 * a_cross) if a_cross == a_cross else alphas[-1]
    m["alpha_shown"] = a_show
    fpt, fv = points[focus], steer[focus]
    conditions = [
        ("base", []),
        (f"L{focus} a={a_show:.2f}", [(fpt, add_vector(fv, a_show))]),
        (f"L{focus} a={alphas[-1]:g}", [(fpt, add_vector(fv, alphas[-1]))]),
        ("ablated", [(pt, project_out(r)) for pt in abl_points]),
    ]
    with torch.no_grad():
        rows, stats = probe.sampled(
            ctx, SAMPLE_PROMPTS, conditions, p.n_samples, p.sample_tokens, seed=ctx.seed + 101, n_ctx=p.n_ctx
        )
    for key, (neg, off) in zip(CONDITIONS, stats.values(), strict=True):
        m[f"sample_neg_frac_{key}"], m[f"sample_offgrammar_{key}"] = neg, off
    return m, rows, build_nouns
