"""Toy models of superposition (Elhage et al. 2022, arXiv 2209.10652).

n sparse features are squeezed into m < n hidden dimensions and read back out:
``h = W x``, ``x' = ReLU(W^T h + b)`` with the loss weighted by a per-feature importance.
One model per feature sparsity S (trained together as independent instances in one tensor,
as the paper does, with a few random restarts per sparsity; the restart with the lowest
held-out loss is kept). Dense features get one dimension each (at most m features, the most
important ones); as S grows the model stores more features than dimensions, as antipodal
pairs and then a pentagon.

Module import does not import torch; question building is a pure function of the metrics.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from mi_prep.lab.api import (
    Field,
    FreeText,
    Heatmap,
    Lab,
    LabContext,
    LabParams,
    LabResult,
    LinePlot,
    MultipleChoice,
    Numeric,
    Question,
    Scatter,
    Series,
    Table,
    Text,
    field_validator,
)
from mi_prep.lab.feature_geometry import (
    GEOMETRIES,
    GEOMETRY_SHORT,
    angle_gaps,
    antipodal_pairs,
    describe_directions,
    sweep_geometry,
)
from mi_prep.lab.figures import grid_table
from mi_prep.lab.toy_models import feature_stats, sweep_metrics, sweep_values, train_toy_models, unpack_sweep

REPRESENTED = 0.5
"""A feature counts as represented when its embedding norm ||W_i|| exceeds this."""


# --------------------------------------------------------------------------- pure helpers


def summarise(metrics: Mapping[str, float]) -> dict[str, Any]:
    """Derived facts the questions use: represented counts, first superposed sparsity, geometries."""
    sparsities, n, m, norms, angles = unpack_sweep(metrics)
    counts, first, geoms = sweep_geometry(norms, angles, m, REPRESENTED)
    return {
        "sparsities": sparsities,
        "n": n,
        "m": m,
        "norms": norms,
        "angles": angles,
        "counts": counts,
        "first": first,
        "geoms": geoms,
    }


def _fmt_s(s: float) -> str:
    return f"{s:g}"


def build_questions(metrics: Mapping[str, float]) -> list[Question]:
    """Questions whose answer keys are computed from this run's metrics."""
    s = summarise(metrics)
    sp, counts, first, geoms, m, n = s["sparsities"], s["counts"], s["first"], s["geoms"], s["m"], s["n"]
    count_line = ", ".join(f"S={_fmt_s(v)}: {c}" for v, c in zip(sp, counts))
    qs: list[Question] = []

    never = f"never (no sparsity in this sweep stores more than {m} features)"
    options = tuple(f"S = {_fmt_s(v)}" for v in sp) + (never,)
    correct = first if first is not None else len(sp)
    qs.append(
        MultipleChoice(
            id="superposition-onset",
            prompt=(
                f"The sweep trains one toy model ({n} features -> {m} dims) per feature sparsity S. "
                f"At which sparsity does the model first store more than {m} features (||W_i|| > {REPRESENTED})?"
            ),
            options=options,
            correct=correct,
            explanation=(
                f"Features with ||W_i|| > {REPRESENTED} per sparsity: {count_line}. "
                + (
                    f"S = {_fmt_s(sp[first])} is the first with more features than the {m} dimensions: "
                    "sparse features rarely co-occur, so the interference they cause is rare and cheaper "
                    "than dropping them."
                    if first is not None
                    else "No model in this run went past one feature per dimension; try more steps or restarts."
                )
            ),
        )
    )

    k_hi = len(sp) - 1
    qs.append(
        Numeric(
            id="superposition-count-max",
            prompt=f"How many of the {n} features does the model at the highest sparsity (S = {_fmt_s(sp[k_hi])}) represent "
            f"(||W_i|| > {REPRESENTED})?",
            answer=float(counts[k_hi]),
            abs_tol=0.0,
            rel_tol=0.0,
            explanation=(
                f"Norms at S={_fmt_s(sp[k_hi])}: "
                + ", ".join(f"f{i}={v:.2f}" for i, v in enumerate(s["norms"][k_hi]))
                + f" -> {counts[k_hi]} above {REPRESENTED} in {m} dimensions."
            ),
        )
    )

    def geometry_q(k: int, qid: str, which: str) -> MultipleChoice:
        rep = {i: s["angles"][k][i] for i in range(n) if s["norms"][k][i] > REPRESENTED}
        gaps = angle_gaps(list(rep.values()))
        pairs = antipodal_pairs(rep)
        return MultipleChoice(
            id=qid,
            prompt=(
                f"Plot the columns W_i of {which} in its {m}-D hidden space. "
                "Which geometry do the represented features form?"
            ),
            options=GEOMETRIES[1:],
            correct=geoms[k] - 1 if geoms[k] > 0 else len(GEOMETRIES) - 2,
            explanation=(
                "Represented features and angles: "
                + ", ".join(f"f{i} at {a % 360:.0f} deg" for i, a in sorted(rep.items(), key=lambda t: t[1] % 360))
                + f"; gaps between neighbours: {', '.join(f'{g:.0f}' for g in sorted(gaps))} deg"
                + (f"; antipodal pairs: {', '.join(f'f{i}/f{j}' for i, j in pairs)}" if pairs else "")
                + f" -> {GEOMETRY_SHORT[geoms[k]]}. The toy model's geometries are polytopes: "
                "antipodal pairs use one dimension for two features (the ReLU and negative bias filter "
                "the negative interference), a pentagon fits 5 features into 2 dimensions."
            ),
        )

    if m == 2:
        qs.append(geometry_q(k_hi, "superposition-geometry-max", f"the S = {_fmt_s(sp[k_hi])} model"))
        if first is not None and first != k_hi and geoms[first] != geoms[k_hi]:
            qs.append(
                geometry_q(
                    first,
                    "superposition-geometry-onset",
                    f"the model at the onset sparsity (the lowest S storing more than {m} features)",
                )
            )

    qs.append(
        FreeText(
            id="superposition-why-sparsity",
            prompt="Why does feature sparsity let a model store more features than it has dimensions? What is the cost?",
            model_answer=(
                "Features stored in superposition are not orthogonal, so reading one feature picks up interference from "
                "the others. If features are dense they are active together and the interference is paid on every input, "
                "so the model keeps only the m most important features, one per dimension (PCA-like). If features are "
                "sparse they are rarely active at the same time: most of the time only one is on, and the ReLU with a "
                "negative bias filters out the small negative interference, so the expected loss from interference is "
                "smaller than the loss of not representing the feature at all. Importance and sparsity set this "
                f"trade-off; here the model went from {counts[0]} features at S={_fmt_s(sp[0])} to {counts[k_hi]} at "
                f"S={_fmt_s(sp[k_hi])}, arranged as regular polytopes (antipodal pairs, pentagons). The cost is "
                "interference noise when features co-occur and polysemantic directions/neurons."
            ),
            key_points=(
                "superposed features are non-orthogonal, so they interfere",
                "sparse features rarely co-occur, so the interference is rarely paid",
                "the ReLU / negative bias filters small interference",
                "trade-off against importance: dense -> keep top-m features, like PCA",
                "consequence: polysemantic directions, geometry of polytopes (antipodal pairs, pentagons)",
            ),
            terms=(
                ("interfer", "orthogonal", "overlap"),
                ("rarely", "co-occur", "simultaneous", "same time", "together"),
                ("relu", "bias", "nonlinear", "filter"),
                ("importan", "dense", "pca", "trade"),
                ("polysemant", "antipodal", "pentagon", "polytope", "geometr"),
            ),
            explanation=f"Represented features per sparsity in this run: {count_line}.",
        )
    )
    return qs


# --------------------------------------------------------------------------- the lab


class SuperpositionParams(LabParams):
    n_features: int = Field(5, ge=1)
    n_hidden: int = Field(2, ge=1)
    importance_decay: float = Field(0.9, gt=0, description="feature i has importance decay**i")
    sparsities: tuple[float, ...] = Field(
        (0.0, 0.7, 0.9, 0.97, 0.99, 0.999),
        min_length=1,
        description="feature sparsities S (one model each), each in [0, 1)",
    )
    restarts: int = Field(4, ge=1, description="random restarts per sparsity (the best is kept)")
    steps: int = Field(2500, gt=0)
    batch: int = Field(1024, gt=0)
    lr: float = Field(1e-2, gt=0)
    eval_samples: int = Field(20000, gt=0)
    log_every: int = Field(50, ge=1)

    @field_validator("sparsities")
    @classmethod
    def _in_range(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if any(not 0.0 <= s < 1.0 for s in v):
            raise ValueError("every sparsity must be in [0, 1)")
        return v


class SuperpositionLab(Lab):
    name = "superposition"
    title = "Toy models of superposition"
    summary = (
        "Train the 5-features-in-2-dims toy model across feature sparsities; watch features go into "
        "superposition as antipodal pairs and a pentagon."
    )
    topics = ("superposition", "polysemanticity", "toy-models")
    Params = SuperpositionParams
    small = {"steps": 1000, "restarts": 2, "batch": 512, "eval_samples": 5000}

    def run(self, ctx: LabContext) -> LabResult:
        p: SuperpositionParams = ctx.params
        n, m = p.n_features, p.n_hidden
        sparsities = [float(s) for s in p.sparsities]
        n_s = len(sparsities)
        timings: dict[str, float] = {}
        t0 = time.perf_counter()
        toy = train_toy_models(
            ctx,
            n=n,
            m=m,
            sparsities=sparsities,
            restarts=p.restarts,
            steps=p.steps,
            batch=p.batch,
            lr=p.lr,
            importance_decay=p.importance_decay,
            eval_samples=p.eval_samples,
            log_every=p.log_every,
        )
        timings["train"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        stats = feature_stats(toy.W)
        metrics = sweep_metrics(toy, stats, sparsities=sparsities, restarts=p.restarts)
        summ = summarise(metrics)
        for k in range(n_s):
            metrics[f"represented_s{k}"] = float(summ["counts"][k])
            metrics[f"geometry_s{k}"] = float(summ["geoms"][k])
        metrics["first_superposition_sparsity"] = (
            sparsities[summ["first"]] if summ["first"] is not None else float("nan")
        )
        metrics["represented_at_max_sparsity"] = float(summ["counts"][-1])
        timings["analysis"] = time.perf_counter() - t1

        blocks = self._blocks(p, metrics, summ, stats.gram, toy.W, toy.curves, toy.curve_x, toy.best)
        questions = build_questions(metrics)
        timings["total"] = time.perf_counter() - t0
        return LabResult(blocks=blocks, metrics=metrics, questions=questions, timings=timings)

    # ------------------------------------------------------------------ presentation

    def _blocks(self, p, metrics, summ, gram, Wb, curves, curve_x, best) -> list:
        sp, n, m = summ["sparsities"], summ["n"], summ["m"]
        feats = [f"f{i}" for i in range(n)]
        blocks: list = [
            Text(
                title="Setup",
                body=(
                    f"{n} features, each zero with probability S and otherwise uniform in [0, 1], importance "
                    f"{p.importance_decay}^i (f0 most important), squeezed into {m} dimensions: h = W x, "
                    f"x' = ReLU(W^T h + b). One model per sparsity S in {', '.join(_fmt_s(s) for s in sp)}; "
                    f"{p.restarts} restarts each, trained together as independent instances for {p.steps} steps "
                    f"(Adam, lr {p.lr}, batch {p.batch}); the restart with the lowest held-out loss is shown. "
                    f"A feature is 'represented' when ||W_i|| > {REPRESENTED}."
                ),
            )
        ]
        blocks.append(
            LinePlot(
                title="Training loss (kept restart per sparsity)",
                series=[
                    Series(name=f"S={_fmt_s(s)}", x=list(curve_x), y=list(curves[best[k]])) for k, s in enumerate(sp)
                ],
                xlabel="step",
                ylabel="importance-weighted MSE",
            )
        )
        labels = [_fmt_s(s) for s in sp]
        blocks.append(
            grid_table(
                "Feature norms ||W_i|| per sparsity",
                "S",
                labels,
                feats,
                sweep_values(metrics, "norm"),
                extra_columns=["represented", "geometry"],
                extra=[[c, GEOMETRY_SHORT[g]] for c, g in zip(summ["counts"], summ["geoms"])],
                caption=f"represented = count of ||W_i|| > {REPRESENTED}",
            )
        )
        blocks.append(
            grid_table(
                "Superposition per feature: sum_{j!=i} (Ŵ_i·W_j)^2",
                "S",
                labels,
                feats,
                sweep_values(metrics, "superposition"),
                caption="0 = the feature has its own dimension; large = it shares its direction with others",
            )
        )
        blocks.append(
            grid_table(
                "Feature dimensionality D_i = ||W_i||^2 / sum_j (Ŵ_i·W_j)^2",
                "S",
                labels,
                feats,
                sweep_values(metrics, "dimensionality"),
                caption="1 = own dimension, 1/2 = antipodal pair, 2/5 = pentagon, 0 = not represented",
            )
        )
        for k, s in enumerate(sp):
            blocks.append(
                Heatmap(
                    title=f"W^T W at S={_fmt_s(s)}",
                    values=[[round(float(v), 3) for v in row] for row in gram[k].tolist()],
                    row_labels=feats,
                    col_labels=feats,
                    vmin=-1.2,
                    vmax=1.2,
                    caption="diagonal = ||W_i||^2; off-diagonal = interference between features",
                )
            )
        if m == 2:
            rows = []
            for k, s in enumerate(sp):
                rep = {i: metrics[f"angle_s{k}_f{i}"] for i in range(n) if metrics[f"norm_s{k}_f{i}"] > REPRESENTED}
                rows.append([_fmt_s(s), *describe_directions(rep), GEOMETRY_SHORT[summ["geoms"][k]]])
            blocks.append(
                Table(
                    title="Geometry of the represented features (angles in degrees)",
                    columns=["S", "angles (sorted)", "gaps to next", "antipodal pairs", "geometry"],
                    rows=rows,
                )
            )
            shown = sorted({0, summ["first"] if summ["first"] is not None else 0, len(sp) - 1})
            for k in shown:
                blocks.append(
                    Scatter(
                        title=f"Columns W_i in the 2-D hidden space, S={_fmt_s(sp[k])}",
                        x=[round(float(Wb[k, 0, i]), 3) for i in range(n)],
                        y=[round(float(Wb[k, 1, i]), 3) for i in range(n)],
                        labels=feats,
                        xlabel="h0",
                        ylabel="h1",
                        caption=GEOMETRY_SHORT[summ["geoms"][k]],
                    )
                )
        return blocks


LAB = SuperpositionLab()
