"""Superposition lab: geometry classifier, computed answer keys, the run's own numbers, seeding (the
contract every lab shares is in test_contract)."""

from __future__ import annotations

import math

import pytest

from mi_prep.core.questions import FreeText, MultipleChoice, Numeric
from mi_prep.lab import feature_geometry as geo
from mi_prep.lab import registry
from mi_prep.lab.api import LabContext
from mi_prep.lab.toy_models import sweep_values, unpack_sweep

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


def test_answer_keys_follow_the_metrics():
    norms = [[1, 1, 0, 0, 0], [1, 1, 1, 1, 0], [1.1] * 5, [1.1] * 5]
    angles = [[0, 90, 0, 0, 0], [0, 180, 90, 270, 0], [0, 72, 144, 216, 288], [0, 72, 144, 216, 288]]
    qs = mod.build_questions(fake_metrics(norms, angles))
    onset = q(qs, "superposition-onset")
    assert isinstance(onset, MultipleChoice) and onset.options[onset.correct] == "S = 0.7"
    count = q(qs, "superposition-count-max")
    assert isinstance(count, Numeric) and count.answer == 5 and count.grade("5").correct
    geo = q(qs, "superposition-geometry-max")
    assert geo.options[geo.correct].startswith("pentagon")
    geo_on = q(qs, "superposition-geometry-onset")
    assert geo_on.options[geo_on.correct].startswith("two antipodal pairs")
    assert "90" in geo_on.explanation and "f0/f1" in geo_on.explanation
    assert isinstance(q(qs, "superposition-why-sparsity"), FreeText)

    # perturb: the S=0.7 model keeps only two features -> onset moves to 0.9, highest sparsity keeps 4
    norms2 = [[1, 1, 0, 0, 0], [1, 1, 0.2, 0.1, 0], [1.1] * 5, [1.1, 1.1, 1.1, 1.1, 0.05]]
    angles2 = [[0, 90, 0, 0, 0], [0, 90, 0, 0, 0], [0, 72, 144, 216, 288], [0, 90, 180, 270, 0]]
    qs2 = mod.build_questions(fake_metrics(norms2, angles2))
    onset2 = q(qs2, "superposition-onset")
    assert onset2.options[onset2.correct] == "S = 0.9"
    assert q(qs2, "superposition-count-max").answer == 4
    geo2 = q(qs2, "superposition-geometry-max")
    assert geo2.options[geo2.correct].startswith("two antipodal pairs")

    # no superposition anywhere -> the "never" option
    norms3 = [[1, 1, 0, 0, 0]] * 4
    angles3 = [[0, 90, 0, 0, 0]] * 4
    onset3 = q(mod.build_questions(fake_metrics(norms3, angles3)), "superposition-onset")
    assert onset3.options[onset3.correct].startswith("never")


def ctx(tmp_path, seed=0, **over):
    return LabContext(seed=seed, device="cpu", params=mod.LAB.make_params(over, small=True), cache_dir=tmp_path)


@pytest.mark.slow
def test_small_run_end_to_end(torch, tmp_path):
    res = mod.LAB.run(ctx(tmp_path, seed=3))
    m = res.metrics
    n_s = int(m["n_sparsities"])
    assert n_s == len(mod.LAB.Params().sparsities)
    # keys recomputed from the returned metrics match the run's questions
    again = mod.build_questions(m)
    assert [x.to_dict() for x in again] == [x.to_dict() for x in res.questions]
    s = mod.summarise(m)
    assert m["represented_at_max_sparsity"] == s["counts"][-1]
    count = q(res.questions, "superposition-count-max")
    assert count.answer == sum(m[f"norm_s{n_s - 1}_f{i}"] > mod.REPRESENTED for i in range(5))
    # dense features: only as many as dimensions (at most 2 of 5 features represented)
    assert s["counts"][0] <= 2
    kinds = {b.kind for b in res.blocks}
    assert {"table", "heatmap", "scatter", "line", "text"} <= kinds
    assert res.timings["train"] > 0


@pytest.mark.slow
def test_seeded(torch, tmp_path):
    a = mod.LAB.run(ctx(tmp_path, seed=1, steps=100, restarts=1))
    b = mod.LAB.run(ctx(tmp_path, seed=1, steps=100, restarts=1))
    assert a.metrics == b.metrics
