"""Toy models of superposition (Elhage et al. 2022, arXiv 2209.10652).

n sparse features are squeezed into m < n hidden dimensions and read back out:
``h = W x``, ``x' = ReLU(W^T h + b)`` with the loss weighted by a per-feature importance.
One model per feature sparsity S (trained together as independent instances in one tensor,
as the paper does, with a few random restarts per sparsity; the restart with the lowest
held-out loss is kept). The seed picks the importance profile (its decay and which feature
gets which importance rank) and the sweep's mid sparsity, so which features are represented,
which pairs share a dimension and the left-out features' bias change with the seed.

The learner sees the importances first and predicts the dense model and which features the
mid-sparsity model leaves out, then reads that model's W^T W (antipodal partner, dimensionality,
bias of a left-out feature) and predicts the biases and dimensionality at higher sparsity; each
model's norms, biases and D_i are revealed once the questions about it are answered.

Module import does not import torch; question building is a pure function of the metrics
(:mod:`mi_prep.lab.superposition_questions`).
"""

from __future__ import annotations

import time
from typing import Any

from mi_prep.lab.api import (
    Field,
    Heatmap,
    Lab,
    LabContext,
    LabParams,
    LabResult,
    LinePlot,
    Scatter,
    Series,
    Table,
    Text,
    field_validator,
)
from mi_prep.lab.feature_geometry import GEOMETRY_SHORT, describe_directions
from mi_prep.lab.figures import grid_table
from mi_prep.lab.superposition_questions import REPRESENTED, Sweep, build_questions, fmt_s, summarise
from mi_prep.lab.toy_models import (
    DECAYS,
    HIGH_SPARSITIES,
    MID_SPARSITIES,
    feature_stats,
    seeded_profile,
    sweep_metrics,
    sweep_values,
    train_toy_models,
)

__all__ = ["LAB", "REPRESENTED", "SuperpositionLab", "SuperpositionParams", "build_questions", "summarise"]

Q_DENSE = "superposition-dense-which"
Q_MID_DROP = "superposition-mid-dropped"
Q_MID_LAST = "superposition-dropped-bias"
Q_LAST = "superposition-high-dims"


def _dead_note(s: Sweep) -> str:
    """A sparser model storing fewer features than the best one before it: name its dead left-out features."""
    notes = []
    for k in range(s.k_hi + 1, len(s.sparsities)):
        dead = [i for i in s.dropped(k) if s.biases[k][i] < 0 and i in s.rep(s.k_hi)]
        if s.counts[k] < s.counts[s.k_hi] and dead:
            notes.append(
                f"S={fmt_s(s.sparsities[k])} leaves out {', '.join(f'f{i}' for i in dead)} with W_i ≈ 0 and a "
                "negative bias: its ReLU outputs 0 on every input, so no gradient from its own output reaches W_i "
                "(a dead feature training did not revive)"
            )
    return "; " + "; ".join(notes) if notes else ""


class SuperpositionParams(LabParams):
    n_features: int = Field(5, ge=2)
    n_hidden: int = Field(2, ge=1)
    importance_decay: float | None = Field(
        None,
        description="the feature of importance rank r (1 = most important) has importance decay**(r-1); None: the "
        "seed picks " + " or ".join(f"{d:g}" for d in DECAYS),
    )
    shuffle_importance: bool = Field(
        True, description="the seed decides which feature gets which importance rank (False: f0 most important)"
    )
    sparsities: tuple[float, ...] | None = Field(
        None,
        description="feature sparsities S (one model each), each in [0, 1); None: 0, a mid sparsity the seed picks ("
        + " or ".join(f"{v:g}" for v in MID_SPARSITIES)
        + "), "
        + ", ".join(f"{v:g}" for v in HIGH_SPARSITIES),
    )
    restarts: int = Field(4, ge=1, description="random restarts per sparsity (the best is kept)")
    steps: int = Field(2500, gt=0)
    batch: int = Field(1024, gt=0)
    lr: float = Field(1e-2, gt=0)
    eval_samples: int = Field(20000, gt=0)
    log_every: int = Field(50, ge=1)

    @field_validator("importance_decay")
    @classmethod
    def _decay(cls, v: float | None) -> float | None:
        if v is not None and not 0.0 < v <= 1.0:
            raise ValueError("importance_decay must be in (0, 1]")
        return v

    @field_validator("sparsities")
    @classmethod
    def _in_range(cls, v: tuple[float, ...] | None) -> tuple[float, ...] | None:
        if v is not None and (not v or any(not 0.0 <= s < 1.0 for s in v)):
            raise ValueError("give at least one sparsity, each in [0, 1)")
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
    small = {"steps": 1000, "restarts": 3, "batch": 512, "eval_samples": 5000}

    def run(self, ctx: LabContext) -> LabResult:
        p: SuperpositionParams = ctx.params
        n, m = p.n_features, p.n_hidden
        prof = seeded_profile(
            ctx.seed, n, decay=p.importance_decay, shuffle=p.shuffle_importance, sparsities=p.sparsities
        )
        sparsities = prof.sparsities
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
            importance=prof.importance,
            eval_samples=p.eval_samples,
            log_every=p.log_every,
        )
        timings["train"] = time.perf_counter() - t0
        t1 = time.perf_counter()
        stats = feature_stats(toy.W)
        metrics = sweep_metrics(toy, stats, sparsities=sparsities, restarts=p.restarts, importance=prof.importance)
        metrics["importance_decay"] = prof.decay
        summ = summarise(metrics)
        for k in range(len(sparsities)):
            metrics[f"represented_s{k}"] = float(summ.counts[k])
            metrics[f"geometry_s{k}"] = float(summ.geoms[k])
        metrics["mid_sparsity"] = sparsities[summ.k_mid]
        metrics["high_sparsity"] = sparsities[summ.k_hi]
        timings["analysis"] = time.perf_counter() - t1

        blocks = self._blocks(p, prof.decay, metrics, summ, toy.W, toy.curves, toy.curve_x, toy.best)
        questions = build_questions(metrics)
        timings["total"] = time.perf_counter() - t0
        return LabResult(blocks=blocks, metrics=metrics, questions=questions, timings=timings)

    # ------------------------------------------------------------------ presentation

    @staticmethod
    def _gram(s: Sweep, k: int, after: str = "") -> Heatmap:
        return Heatmap(
            title=f"W^T W at S={fmt_s(s.sparsities[k])}",
            values=[[round(v, 3) for v in row] for row in s.gram[k]],
            row_labels=[f"f{i}" for i in range(s.n)],
            col_labels=[f"f{i}" for i in range(s.n)],
            vmin=-1.5,
            vmax=1.5,
            caption="diagonal = ||W_i||^2; off-diagonal W_i·W_j = interference between features",
            after=after,
        )

    @staticmethod
    def _features(s: Sweep, k: int, after: str) -> Table:
        return Table(
            title=f"Per feature at S={fmt_s(s.sparsities[k])}",
            columns=["feature", "importance", "||W_i||", "bias b_i", "D_i", "sum_{j!=i} (Ŵ_i·W_j)^2"],
            rows=[
                [
                    f"f{i}",
                    round(s.importance[i], 3),
                    round(s.norms[k][i], 3),
                    round(s.biases[k][i], 3),
                    round(s.dims[k][i], 3),
                    round(sum(s.gram[k][i][j] ** 2 for j in range(s.n) if j != i) / s.gram[k][i][i], 3)
                    if i in s.rep(k)
                    else "-",
                ]
                for i in range(s.n)
            ],
            caption=f"represented: ||W_i|| > {REPRESENTED}; D_i = ||W_i||^2 / sum_j (Ŵ_i·W_j)^2; last column: "
            "interference from the other features (- when W_i ≈ 0)",
            after=after,
        )

    def _blocks(self, p, decay, metrics, s: Sweep, Wb, curves, curve_x, best) -> list[Any]:
        sp, n, m = s.sparsities, s.n, s.m
        feats = [f"f{i}" for i in range(n)]
        km, kh = s.k_mid, s.k_hi
        blocks: list[Any] = [
            Text(
                title="Setup",
                body=(
                    f"{n} features, each zero with probability S and otherwise uniform in [0, 1], squeezed into {m} "
                    f"dimensions: h = W x, x' = ReLU(W^T h + b), loss = sum_i importance_i (x_i - x'_i)^2. This seed's "
                    f"importance profile: decay {decay:g} (rank r has importance {decay:g}^(r-1), rank 1 = 1), ranks "
                    + (
                        "assigned to the features at random (table below)"
                        if p.shuffle_importance
                        else "in feature order"
                    )
                    + f". One model per sparsity S in {', '.join(fmt_s(v) for v in sp)}; {p.restarts} restarts each, "
                    f"trained together as independent instances for {p.steps} steps (Adam, lr {p.lr}, batch {p.batch}); "
                    "the restart with the lowest held-out loss is kept. Answer the questions to reveal each model's "
                    "weights."
                ),
            ),
            Table(
                title="Feature importances (this seed)",
                columns=["feature", "importance", "rank"],
                rows=[
                    [f"f{i}", round(s.importance[i], 3), s.by_importance(list(range(n))).index(i) + 1] for i in range(n)
                ],
                caption="rank 1 = most important",
            ),
            LinePlot(
                title="Training loss (kept restart per sparsity)",
                series=[
                    Series(name=f"S={fmt_s(v)}", x=list(curve_x), y=list(curves[best[k]])) for k, v in enumerate(sp)
                ],
                xlabel="step",
                ylabel="importance-weighted MSE",
            ),
            # after the dense prediction: the dense model; the mid model's W^T W after its left-out features are predicted
            self._gram(s, 0, after=Q_DENSE),
            self._features(s, 0, after=Q_DENSE),
        ]
        if km != 0:  # predicted first (which features it leaves out) when the importances settle it
            blocks.append(self._gram(s, km, after=Q_MID_DROP if s.drop_predictable() else Q_DENSE))
        # after the mid questions: the mid model's numbers and the high-sparsity model's W^T W
        if km != 0:
            blocks.append(self._features(s, km, after=Q_MID_LAST))
        if kh not in (0, km):
            blocks.append(self._gram(s, kh, after=Q_MID_LAST))
        # after the last question: everything
        if kh not in (0, km):
            blocks.append(self._features(s, kh, after=Q_LAST))
        blocks += self._sweep_blocks(metrics, s, feats)
        blocks += [self._gram(s, k, after=Q_LAST) for k in range(len(sp)) if k not in (0, km, kh)]
        if m == 2:
            blocks += self._geometry_blocks(metrics, s, Wb, feats)
        return blocks

    @staticmethod
    def _sweep_blocks(metrics, s: Sweep, feats: list[str]) -> list[Table]:
        labels = [fmt_s(v) for v in s.sparsities]
        tables = [
            grid_table(
                "Feature norms ||W_i|| per sparsity",
                "S",
                labels,
                feats,
                sweep_values(metrics, "norm"),
                extra_columns=["represented", "geometry"],
                extra=[[c, GEOMETRY_SHORT[g]] for c, g in zip(s.counts, s.geoms)],
                caption=f"represented = count of ||W_i|| > {REPRESENTED}" + _dead_note(s),
            ),
            grid_table(
                "Biases b_i per sparsity",
                "S",
                labels,
                feats,
                s.biases,
                caption="compare the left-out features' biases with their mean E[x] = (1 - S)/2, and the represented "
                "features' biases with their overlaps in W^T W",
            ),
            grid_table(
                "Feature dimensionality D_i = ||W_i||^2 / sum_j (Ŵ_i·W_j)^2",
                "S",
                labels,
                feats,
                s.dims,
                extra_columns=["sum D_i"],
                extra=[[round(sum(row), 2)] for row in s.dims],
                caption="1 = own dimension, 1/2 = antipodal pair, 2/5 = pentagon, 0 = not represented",
            ),
        ]
        for t in tables:
            t.after = Q_LAST  # revealed with the rest of the sweep
        return tables

    @staticmethod
    def _geometry_blocks(metrics, s: Sweep, Wb, feats: list[str]) -> list[Any]:
        sp, n = s.sparsities, s.n
        rows = []
        for k, v in enumerate(sp):
            rep = {i: metrics[f"angle_s{k}_f{i}"] for i in s.rep(k)}
            rows.append([fmt_s(v), *describe_directions(rep), GEOMETRY_SHORT[s.geoms[k]]])
        out: list[Any] = [
            Table(
                title="Geometry of the represented features (angles in degrees)",
                columns=["S", "angles (sorted)", "gaps to next", "antipodal pairs", "geometry"],
                rows=rows,
                after=Q_LAST,
            )
        ]
        for k in sorted({0, s.k_mid, s.k_hi}):
            out.append(
                Scatter(
                    title=f"Columns W_i in the 2-D hidden space, S={fmt_s(sp[k])}",
                    x=[round(float(Wb[k, 0, i]), 3) for i in range(n)],
                    y=[round(float(Wb[k, 1, i]), 3) for i in range(n)],
                    labels=feats,
                    xlabel="h0",
                    ylabel="h1",
                    caption=GEOMETRY_SHORT[s.geoms[k]],
                    after=Q_LAST,
                )
            )
        return out


LAB = SuperpositionLab()
