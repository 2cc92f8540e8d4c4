"""Questions of the superposition lab: pure functions of the run's flat metrics (no torch).

The sweep's facts are read back by :func:`summarise` (which features each model represents, which pairs
are antipodal, the models the questions are about); :func:`build_questions` asks the learner to predict
or interpret them from ``W^T W``, feature norms, biases and fractional dimensionality, with keys
computed from the run.

    s = summarise(metrics)      # s.k_mid, s.fx, s.partners, s.dropped(k), s.cos(k, i, j), ...
    qs = build_questions(metrics)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric, PickComponent, Question
from mi_prep.lab.feature_geometry import GEOMETRY_SHORT, sweep_geometry
from mi_prep.lab.toy_models import sweep_gram, sweep_values, unpack_sweep

REPRESENTED = 0.5
"""A feature counts as represented when its embedding norm ||W_i|| exceeds this (diagonal of W^T W > 0.25)."""
ANTIPODAL_COS = -0.9
"""Two represented features form an antipodal pair when the cosine of their directions is below this."""
BIAS_ZERO = 0.05
"""Mean biases within this of zero count as 'about zero'."""
PARTNER_SLACK = 0.1
"""Features whose W^T W entry with fx is within this of the most negative one are all accepted."""

BIAS_OPTIONS = (
    "about zero, as the ReLU alone already clips the other features' interference",
    "negative, to push the other features' interference below the ReLU threshold",
    "positive, to add back the signal the other features' interference takes away",
)
DIM_OPTIONS = ((1.0, "about 1 each"), (0.5, "about 1/2 each"), (0.4, "about 2/5 each"), (0.0, "about 0 each"))
"""(the pair's mean D it stands for, option text)"""


def fmt_s(s: float) -> str:
    return f"{s:g}"


def names(ids: list[int]) -> str:
    return ", ".join(f"f{i}" for i in ids) or "none"


@dataclass
class Sweep:
    """The run's sweep, read back from its metrics, and the models the questions are about."""

    sparsities: list[float]
    n: int
    m: int
    importance: list[float]
    norms: list[list[float]]
    biases: list[list[float]]
    dims: list[list[float]]
    gram: list[list[list[float]]]
    angles: list[list[float]]
    counts: list[int]
    geoms: list[int]
    k_mid: int = 0
    """The first model with an antipodal pair that still leaves a feature out (the mid sparsity)."""
    fx: int = 0
    """The most important feature of an antipodal pair at ``k_mid``."""
    partners: tuple[int, ...] = ()
    """Features whose W^T W entry with ``fx`` at ``k_mid`` is (within PARTNER_SLACK of) the most negative."""
    k_drop: int = 0
    """Where the left-out features' bias is asked: ``k_mid`` if it leaves any out, else the dense model."""
    k_hi: int = 0
    """The sparser model storing the most features (lowest such sparsity)."""

    def least(self, count: int) -> list[int]:
        """The ``count`` least important features, sorted by index."""
        return sorted(self.by_importance(list(range(self.n)))[self.n - count :]) if count > 0 else []

    def drop_predictable(self) -> bool:
        """The mid model (``k_drop == k_mid``, not the dense one) leaves out exactly the least important features,
        so the learner can predict which from the importances and the count before its W^T W is shown."""
        drop = self.dropped(self.k_drop)
        return self.k_drop == self.k_mid != 0 and bool(drop) and drop == self.least(len(drop))

    def rep(self, k: int) -> list[int]:
        return [i for i in range(self.n) if self.norms[k][i] > REPRESENTED]

    def dropped(self, k: int) -> list[int]:
        return [i for i in range(self.n) if self.norms[k][i] <= REPRESENTED]

    def cos(self, k: int, i: int, j: int) -> float:
        den = (self.gram[k][i][i] * self.gram[k][j][j]) ** 0.5
        return self.gram[k][i][j] / den if den > 1e-12 else 0.0

    def antipodal(self, k: int) -> list[tuple[int, int]]:
        rep = self.rep(k)
        return [(i, j) for a, i in enumerate(rep) for j in rep[a + 1 :] if self.cos(k, i, j) < ANTIPODAL_COS]

    def by_importance(self, ids: list[int]) -> list[int]:
        return sorted(ids, key=lambda i: (-self.importance[i], i))

    def top(self, count: int) -> list[int]:
        return sorted(self.by_importance(list(range(self.n)))[:count])

    def mean_bias(self, k: int, ids: list[int]) -> float:
        return sum(self.biases[k][i] for i in ids) / len(ids) if ids else 0.0

    def max_overlap(self, k: int) -> tuple[float, int, int]:
        """The largest W_i·W_j between two represented features at ``k`` (0.0, -1, -1 with fewer than two)."""
        rep = self.rep(k)
        pairs = [(self.gram[k][i][j], i, j) for a, i in enumerate(rep) for j in rep[a + 1 :]]
        return max(pairs) if pairs else (0.0, -1, -1)


def summarise(metrics: Mapping[str, float]) -> Sweep:
    sparsities, n, m, norms, angles = unpack_sweep(metrics)
    counts, _first, geoms = sweep_geometry(norms, angles, m, REPRESENTED)
    s = Sweep(
        sparsities=sparsities,
        n=n,
        m=m,
        importance=[float(metrics.get(f"importance_f{i}", 1.0)) for i in range(n)],
        norms=norms,
        biases=sweep_values(metrics, "bias"),
        dims=sweep_values(metrics, "dimensionality"),
        gram=sweep_gram(metrics),
        angles=angles,
        counts=counts,
        geoms=geoms,
    )
    n_s = len(sparsities)
    with_pair = [k for k in range(n_s) if s.antipodal(k)]
    s.k_mid = next((k for k in with_pair if s.dropped(k)), with_pair[0] if with_pair else min(1, n_s - 1))
    in_pair = sorted({i for pair in s.antipodal(s.k_mid) for i in pair})
    s.fx = s.by_importance(in_pair or s.rep(s.k_mid) or list(range(n)))[0]
    row = {j: s.gram[s.k_mid][s.fx][j] for j in range(n) if j != s.fx}
    low = min(row.values(), default=0.0)
    s.partners = tuple(sorted(j for j, v in row.items() if v <= low + PARTNER_SLACK)) or (s.fx,)
    s.k_drop = s.k_mid if s.dropped(s.k_mid) else 0
    later = list(range(s.k_mid + 1, n_s)) or [s.k_mid]
    s.k_hi = max(later, key=lambda k: (counts[k], -k))
    return s


def _norm_line(s: Sweep, k: int) -> str:
    return ", ".join(f"f{i}={s.norms[k][i]:.2f}" for i in range(s.n))


def build_questions(metrics: Mapping[str, float]) -> list[Question]:
    """The lab's questions, keys computed from this run's metrics (same ids at every seed)."""
    s = summarise(metrics)
    sp, n, m = s.sparsities, s.n, s.m
    feats = tuple(f"f{i}" for i in range(n))
    imp_line = ", ".join(f"f{i}={s.importance[i]:.3g}" for i in s.by_importance(list(range(n))))
    qs: list[Question] = []

    # 1. predict the dense model
    rep0 = s.rep(0) or [max(range(n), key=lambda i: s.norms[0][i])]
    top0 = s.top(len(rep0))
    qs.append(
        PickComponent(
            id="superposition-dense-which",
            prompt=(
                f"Predict before looking at the weights: the model at S = {fmt_s(sp[0])} has {m} hidden dimensions "
                f"for {n} features with the importances above. Which features will it represent "
                f"(||W_i|| > {REPRESENTED}, i.e. W^T W diagonal above {REPRESENTED**2:g})? Name them all."
            ),
            components=feats,
            correct=tuple(f"f{i}" for i in rep0),
            explanation=(
                f"Norms at S = {fmt_s(sp[0])}: {_norm_line(s, 0)}; importance order: {imp_line}. "
                + (
                    f"The represented {names(rep0)} are the {len(rep0)} most important features. "
                    if rep0 == top0
                    else f"The {len(rep0)} most important features would be {names(top0)}; this run kept {names(rep0)}. "
                )
                + "When features are dense they are on together, so two features sharing a direction would "
                "interfere on every input; the loss is lowest keeping the most important ones on orthogonal "
                "directions (like PCA) and outputting the rest as a constant through the bias."
            ),
        )
    )

    # 2. predict which features the mid model leaves out (from the importances and the count it keeps)
    km, kd = s.k_mid, s.k_drop
    drop = s.dropped(kd) or [min(range(n), key=lambda i: s.norms[kd][i])]
    least = s.least(len(drop))
    kept = n - len(drop)
    diag = ", ".join(f"f{i}={s.gram[kd][i][i]:.2f}" for i in range(n))
    qs.append(
        PickComponent(
            id="superposition-mid-dropped",
            prompt=(
                (
                    f"Predict before its weights are shown: the model at S = {fmt_s(sp[kd])} represents {kept} of the "
                    f"{n} features (||W_i|| > {REPRESENTED}) in {m} dimensions. Which "
                    f"{'feature does' if len(drop) == 1 else f'{len(drop)} features does'} it leave out?"
                )
                if s.drop_predictable()
                else (
                    f"W^T W at S = {fmt_s(sp[kd])} is shown above. Which features does this model leave out (diagonal "
                    f"||W_i||^2 below {REPRESENTED**2:g}; if none, the one with the smallest)? Name them all."
                )
            ),
            components=feats,
            correct=tuple(f"f{i}" for i in drop),
            explanation=(
                f"Diagonal of W^T W at S = {fmt_s(sp[kd])}: {diag}. The left-out {names(drop)} "
                + (
                    f"{'is' if len(drop) == 1 else 'are'} the least important: with more features than dimensions, "
                    "the model spends its capacity where the loss weights it most, and a left-out feature costs "
                    "only its importance times its variance."
                    if drop == least
                    else f"{'is' if len(drop) == 1 else 'are'} not the least important ({names(least)}): "
                    "gradient descent settled in another arrangement than the importances alone suggest."
                )
            ),
        )
    )

    # 3. antipodal partner: translate "same axis, opposite direction" into W^T W entries
    fx, part = s.fx, s.partners
    row = ", ".join(f"f{j}={s.gram[km][fx][j]:+.2f}" for j in range(n) if j != fx)
    p0 = part[0]
    rank_fx = s.by_importance(list(range(n))).index(fx) + 1
    cos_p = s.cos(km, fx, p0)
    qs.append(
        PickComponent(
            id="superposition-mid-partner",
            prompt=(
                f"W^T W at S = {fmt_s(sp[km])} is now shown above. Take the feature of importance rank {rank_fx}. "
                "Which feature does the model store along the same axis but pointing the opposite way "
                "(its antipodal partner)?"
            ),
            components=feats,
            correct=tuple(f"f{j}" for j in part),
            any_of=len(part) > 1,
            explanation=(
                f"Row f{fx} of W^T W: {row}. W_i·W_j = ||W_i|| ||W_j|| cos(angle), so opposite directions show as an "
                f"entry near -||W_i|| ||W_j||: cos(f{fx}, f{p0}) = {cos_p:+.2f}"
                + (
                    ". A negative entry is interference that pushes the other feature's pre-activation down, and "
                    "the ReLU clips it to zero, so the pair collides only when both are on (probability "
                    f"(1-S)^2 = {(1 - sp[km]) ** 2:.2g})."
                    if cos_p < ANTIPODAL_COS
                    else "."
                )
                + (
                    f" Antipodal pairs at this sparsity: {', '.join(f'f{i}/f{j}' for i, j in s.antipodal(km))}."
                    if s.antipodal(km)
                    else ""
                )
            ),
        )
    )

    # 4. dimensions of the pair
    d_fx, d_p0 = s.dims[km][fx], s.dims[km][p0]
    share = (d_fx + d_p0) / 2
    qs.append(
        MultipleChoice(
            id="superposition-mid-pair-dims",
            prompt=(
                "Fractional dimensionality D_i = ||W_i||^2 / sum_j (Ŵ_i·W_j)^2 is the share of a dimension feature "
                f"i gets. Predict from W^T W at S = {fmt_s(sp[km])}: what D do the two features of the pair in the "
                "previous question get?"
            ),
            options=tuple(text for _, text in DIM_OPTIONS),
            correct=min(range(len(DIM_OPTIONS)), key=lambda o: abs(DIM_OPTIONS[o][0] - share)),
            conceptual=True,
            explanation=(
                f"D_f{fx} = {d_fx:.2f}, D_f{p0} = {d_p0:.2f} (mean {share:.2f})"
                + (
                    ": two antipodal features lie on one axis, so they split that dimension, each getting about "
                    "half (the one with the larger norm a bit more), where a feature with a dimension of its own gets 1."
                    if cos_p < ANTIPODAL_COS
                    else "."
                )
            ),
        )
    )

    # 5. predict the left-out features' bias
    drop_d = [i for i in drop if s.norms[kd][i] < 0.2] or drop  # W_i ≈ 0: output is ReLU(b_i) alone
    b_run = s.mean_bias(kd, drop_d)
    theory = (1.0 - sp[kd]) * 0.5
    qs.append(
        Numeric(
            id="superposition-dropped-bias",
            prompt=(
                "A left-out feature has W_i ≈ 0, so the model outputs ReLU(b_i) for it whatever the input. Each "
                "feature is 0 with probability S and otherwise uniform on [0, 1]. Predict the trained bias b_i of "
                f"the features the S = {fmt_s(sp[kd])} model leaves out (W^T W diagonal near 0)."
            ),
            answer=round(b_run, 3),
            abs_tol=round(0.02 + abs(b_run - theory), 3),
            rel_tol=0.0,
            explanation=(
                f"Trained biases: {', '.join(f'f{i}={s.biases[kd][i]:.3f}' for i in drop_d)} (mean {b_run:.3f}). "
                f"The constant c minimising E[(x - c)^2] is the mean E[x] = (1 - S) * 0.5 = {theory:.3f}: the "
                "model cannot see when the feature is on, so it outputs its average."
            ),
        )
    )

    # 6. predict the biases at higher sparsity
    kh = s.k_hi
    rep_h = s.rep(kh)
    b_hi = s.mean_bias(kh, rep_h)
    ov, oi, oj = s.max_overlap(kh)
    ov_mid, mi, mj = s.max_overlap(km)
    bias_key = 1 if b_hi < -BIAS_ZERO else 2 if b_hi > BIAS_ZERO else 0  # BIAS_OPTIONS: zero, negative, positive
    qs.append(
        MultipleChoice(
            id="superposition-high-bias",
            prompt=(
                f"W^T W at S = {fmt_s(sp[kh])} (revealed above) stores {s.counts[kh]} features in {m} dimensions. "
                "Predict the biases b_i of its represented features, and why:"
            ),
            options=BIAS_OPTIONS,
            correct=bias_key,
            conceptual=True,
            explanation=(
                f"Mean bias of the represented features at S = {fmt_s(sp[kh])}: {b_hi:+.3f} "
                f"({', '.join(f'f{i}={s.biases[kh][i]:+.2f}' for i in rep_h)}); largest overlap W_i·W_j between "
                f"them: {ov:+.2f}" + (f" (f{oi}, f{oj})" if oi >= 0 else "") + ". "
                f"At S = {fmt_s(sp[km])}: mean bias {s.mean_bias(km, s.rep(km)):+.3f}, largest overlap "
                f"{ov_mid:+.2f}. A feature whose neighbours overlap it positively reads their activity as its own; "
                "a negative bias removes that interference below the ReLU's threshold (at the price of shrinking its "
                "own small values). With a zero bias the ReLU would pass that positive interference through (it "
                "clips only negative interference, as from an antipodal partner), and a positive bias would add to "
                "the output even when the feature is off."
            ),
        )
    )

    # 7. dimensions at higher sparsity
    d_sum = sum(s.dims[kh])
    d_lo, d_hi = min((s.dims[kh][i] for i in rep_h), default=0.0), max((s.dims[kh][i] for i in rep_h), default=0.0)
    qs.append(
        Numeric(
            id="superposition-high-dims",
            prompt=f"Predict the sum of the fractional dimensionalities D_i over all {n} features at S = {fmt_s(sp[kh])}.",
            answer=round(d_sum, 3),
            abs_tol=0.15,
            rel_tol=0.0,
            conceptual=True,
            explanation=(
                f"D_i at S = {fmt_s(sp[kh])}: {', '.join(f'f{i}={s.dims[kh][i]:.2f}' for i in range(n))}; sum "
                f"{d_sum:.2f}. The {len(rep_h)} represented features get {d_lo:.2f} to {d_hi:.2f} of a dimension "
                f"(m / {len(rep_h)} = {m / max(1, len(rep_h)):.2f} on average), left-out ones "
                f"{'(none here) ' if len(rep_h) == n else ''}get 0: together they fill the {m} dimensions."
            ),
        )
    )

    count_line = "; ".join(
        f"S={fmt_s(v)}: {c}" + (f", {GEOMETRY_SHORT[g]}" if m == 2 else "") for v, c, g in zip(sp, s.counts, s.geoms)
    )
    qs.append(
        FreeText(
            id="superposition-why-sparsity",
            prompt="Why does feature sparsity let a model store more features than it has dimensions? What is the cost?",
            model_answer=(
                "Features stored in superposition are not orthogonal, so reading one feature picks up interference from "
                "the others. If features are dense they are active together and the interference is paid on every input, "
                "so the model keeps only the m most important features, one per dimension (PCA-like). If features are "
                "sparse they are rarely active at the same time: most of the time only one is on, and the ReLU (with a "
                "negative bias when the overlaps are positive) filters out the small interference, so the expected loss "
                "from interference is smaller than the loss of not representing the feature at all. Importance and "
                f"sparsity set this trade-off; here the model went from {s.counts[0]} features at S={fmt_s(sp[0])} to "
                f"{s.counts[kh]} at S={fmt_s(sp[kh])}. The cost is interference noise when features co-occur and "
                "polysemantic directions/neurons."
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
            explanation=f"Represented features and their computed arrangement per sparsity in this run: {count_line}.",
        )
    )
    return qs
