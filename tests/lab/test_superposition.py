"""Superposition lab: geometry classifier, computed answer keys, the run's own numbers, seeding (the
contract every lab shares is in test_contract)."""

from __future__ import annotations

import math

import pytest

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric
from mi_prep.lab import feature_geometry as geo
from mi_prep.lab import registry
from mi_prep.lab.api import LabContext
from mi_prep.lab.toy_models import DECAYS, MID_SPARSITIES, seeded_profile, sweep_values, unpack_sweep

mod = registry.module_of("superposition")


def fake_metrics(norms: list[list[float]], angles: list[list[float]], sparsities=None) -> dict[str, float]:
    sparsities = sparsities or [0.0, 0.7, 0.9, 0.99][: len(norms)]
    m = {"n_sparsities": float(len(norms)), "n_features": float(len(norms[0])), "n_hidden": 2.0}
    for k, s in enumerate(sparsities):
        m[f"sparsity_{k}"] = s
        for i, v in enumerate(norms[k]):
            m[f"norm_s{k}_f{i}"] = v
            m[f"angle_s{k}_f{i}"] = angles[k][i]
    return m


def metrics_from_weights(W, sparsities, importance, biases) -> dict[str, float]:
    """Flat metrics of the lab from known 2-D weights (``W[k]`` a list of (x, y) per feature)."""
    torch = pytest.importorskip("torch")
    from mi_prep.lab.toy_models import ToyModels, feature_stats, sweep_metrics

    Wt = torch.tensor([[[x for x, _ in wk], [y for _, y in wk]] for wk in W], dtype=torch.float32)
    toy = ToyModels(W=Wt, b=torch.tensor(biases), eval_loss=[0.0] * len(W), best=[0] * len(W), curves=[], curve_x=[])
    return sweep_metrics(toy, feature_stats(Wt), sparsities=sparsities, restarts=1, importance=importance)


def polar(r: float, deg: float) -> tuple[float, float]:
    return (r * math.cos(math.radians(deg)), r * math.sin(math.radians(deg)))


def q(qs, qid):
    return next(x for x in qs if x.id == qid)


@pytest.mark.parametrize(
    "angles,expected",
    [
        ([0, 72, 144, 216, 288], geo.G_PENTAGON),
        ([10, 83, 150, 226, 299], geo.G_PENTAGON),
        ([40, 129, 219, 309], geo.G_SQUARE),
        ([5, 95], geo.G_ORTHO),
        ([5, 183], geo.G_ANTIPODAL),
        ([0, 120, 240], geo.G_TRIANGLE),
        ([0, 30, 200], geo.G_IRREGULAR),
        ([38, 128, 218], geo.G_PAIR_PLUS_ONE),
        ([17], geo.G_SINGLE),
        ([], geo.G_NONE),
    ],
)
def test_classify_geometry(angles, expected):
    assert geo.classify_geometry(angles) == expected
    assert math.isclose(sum(geo.angle_gaps(angles)), 360.0 if len(angles) > 1 else 360.0 * len(angles))


def test_antipodal_pairs():
    assert geo.antipodal_pairs({0: 10.0, 1: 190.0, 2: 100.0, 3: -80.0}) == [(0, 1), (2, 3)]


def test_describe_directions_and_sweep_geometry():
    assert geo.describe_directions({0: 144.0, 1: 72.0, 2: 0.0}) == ("f2:0 f1:72 f0:144", "72 72 216", "-")
    assert geo.describe_directions({0: 10.0, 1: 190.0, 2: -80.0}) == ("f0:10 f1:190 f2:280", "180 90 90", "f0/f1")
    norms = [[1.0, 1.0, 0.0], [1.0, 1.0, 1.0]]
    angles = [[0.0, 90.0, 0.0], [0.0, 120.0, 240.0]]
    assert geo.sweep_geometry(norms, angles, 2, 0.5) == ([2, 3], 1, [geo.G_ORTHO, geo.G_TRIANGLE])
    assert geo.sweep_geometry(norms[:1], angles[:1], 2, 0.5)[1] is None
    assert geo.sweep_geometry(norms, angles, 3, 0.5)[2] == [geo.G_IRREGULAR] * 2  # named only in 2-D


def test_sweep_metrics_unpack():
    m = fake_metrics([[1.0, 0.2], [0.9, 0.8]], [[0.0, 90.0], [0.0, 180.0]])
    sparsities, n, hidden, norms, angles = unpack_sweep(m)
    assert (sparsities, n, hidden) == ([0.0, 0.7], 2, 2) and norms == sweep_values(m, "norm")
    assert angles == [[0.0, 90.0], [0.0, 180.0]]


def test_seeded_profile():
    a, b = seeded_profile(3, 5), seeded_profile(3, 5)
    assert a == b and sorted(a.ranks) == list(range(5))
    assert a.decay in DECAYS and a.sparsities[1] in MID_SPARSITIES and a.sparsities[0] == 0.0
    assert a.importance == [a.decay**r for r in a.ranks]
    profiles = [seeded_profile(s, 5) for s in range(5)]
    assert len({tuple(p.ranks) for p in profiles}) > 1 and len({p.sparsities[1] for p in profiles}) > 1
    fixed = seeded_profile(3, 5, decay=0.9, shuffle=False, sparsities=[0.0, 0.5])
    assert fixed.importance == [0.9**i for i in range(5)] and fixed.sparsities == [0.0, 0.5]


# a dense model keeping f3, f1 (the two most important); a mid model with pairs f3/f0, f1/f2 leaving f4 out;
# a sparse pentagon with negative biases
IMPORTANCE = [0.49, 0.7, 0.343, 1.0, 0.24]
DENSE = [(0, 0), polar(1, 90), (0, 0), polar(1, 0), (0, 0)]
MID = [polar(1, 180), polar(1, 90), polar(0.95, 270), polar(1.02, 0), (0.0, 0.01)]
PENT = [polar(1.15, 72 * i) for i in range(5)]


def known_metrics(mid=MID, pent_bias=-0.25):
    return metrics_from_weights(
        [DENSE, mid, PENT],
        [0.0, 0.8, 0.99],
        IMPORTANCE,
        [[0.5, 0.0, 0.5, 0.0, 0.5], [0.02, 0.01, 0.02, 0.0, 0.1], [pent_bias] * 5],
    )


def test_answer_keys_follow_the_metrics(torch):
    m = known_metrics()
    s = mod.summarise(m)
    assert (s.k_mid, s.k_hi, s.fx, s.partners) == (1, 2, 3, (0,))
    qs = mod.build_questions(m)
    assert set(q(qs, "superposition-dense-which").correct) == {"f1", "f3"}
    assert q(qs, "superposition-dense-which").grade("f3, f1").correct
    assert q(qs, "superposition-mid-dropped").correct == ("f4",)
    assert s.drop_predictable() and q(qs, "superposition-mid-dropped").prompt.startswith("Predict")
    assert q(qs, "superposition-mid-partner").correct == ("f0",)
    dims = q(qs, "superposition-mid-pair-dims")
    assert isinstance(dims, MultipleChoice) and "1/2" in dims.options[dims.correct] and dims.conceptual
    bias = q(qs, "superposition-dropped-bias")
    assert isinstance(bias, Numeric) and bias.answer == pytest.approx(0.1) and bias.grade("0.1").correct
    assert not bias.grade("0.5").correct
    hb = q(qs, "superposition-high-bias")
    assert hb.options[hb.correct].startswith("negative") and hb.conceptual
    hd = q(qs, "superposition-high-dims")
    assert hd.answer == pytest.approx(2.0, abs=0.01) and hd.conceptual
    assert isinstance(q(qs, "superposition-why-sparsity"), FreeText)

    # perturb: f1 and f2 swap roles in the mid model, f3's partner becomes f2; positive biases flip the key
    mid2 = [polar(1, 90), polar(0.9, 0), polar(1, 270), polar(1.02, 180), (0.0, 0.0)]
    qs2 = mod.build_questions(known_metrics(mid=mid2, pent_bias=0.2))
    assert q(qs2, "superposition-mid-partner").correct == ("f1",)
    hb2 = q(qs2, "superposition-high-bias")
    assert hb2.options[hb2.correct].startswith("positive")
    # a mid model leaving out f2 (not the least important f4) cannot be predicted: its W^T W is read instead
    mid3 = [polar(1, 180), polar(1, 90), (0.0, 0.01), polar(1.02, 0), polar(0.95, 270)]
    m3 = known_metrics(mid=mid3)
    assert not mod.summarise(m3).drop_predictable()
    qs3 = mod.build_questions(m3)
    assert q(qs3, "superposition-mid-dropped").correct == ("f2",)
    assert "shown above" in q(qs3, "superposition-mid-dropped").prompt
    # the ids never change
    assert [x.id for x in qs] == [x.id for x in qs2] == [x.id for x in qs3]


def ctx(tmp_path, seed=0, **over):
    return LabContext(seed=seed, device="cpu", params=mod.LAB.make_params(over, small=True), cache_dir=tmp_path)


@pytest.mark.slow
def test_seeded(torch, tmp_path):
    a = mod.LAB.run(ctx(tmp_path, seed=1, steps=100, restarts=1))
    b = mod.LAB.run(ctx(tmp_path, seed=1, steps=100, restarts=1))
    assert a.metrics == b.metrics
