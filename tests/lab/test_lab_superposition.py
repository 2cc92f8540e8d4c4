"""Superposition lab, the science at seeds 0-4 (small settings): the keys follow the seed's importance and
sparsity, fractional dimensionality behaves, and the mechanism questions' keys agree with W^T W."""

from __future__ import annotations

import pytest

from mi_prep.lab import registry
from mi_prep.lab.feature_geometry import G_PENTAGON
from mi_prep.lab.toy_models import MID_SPARSITIES, seeded_profile

pytestmark = [pytest.mark.slow, pytest.mark.needs_torch]

mod = registry.module_of("superposition")
SEEDS = range(5)


def q(result, qid):
    return next(x for x in result.questions if x.id == qid)


def ids(names) -> list[int]:
    return sorted(int(c.removeprefix("f")) for c in names)


@pytest.mark.parametrize("seed", SEEDS)
def test_keys_follow_the_seeds_importance_and_sparsity(small_result, seed):
    r = small_result("superposition", seed)
    s = mod.summarise(r.metrics)
    prof = seeded_profile(seed, s.n)
    assert s.importance == pytest.approx(prof.importance) and s.sparsities == pytest.approx(prof.sparsities)
    # the dense model keeps the m most important features, clearly (no feature near the threshold)
    assert ids(q(r, "superposition-dense-which").correct) == s.top(s.m)
    assert all(v > 0.8 or v < 0.3 for v in s.norms[0])
    # the mid model is the seed's mid sparsity: it stores more features than dimensions and leaves some out
    assert s.sparsities[s.k_mid] in MID_SPARSITIES and s.k_mid == s.k_drop == 1
    assert s.m < s.counts[s.k_mid] < s.n
    assert ids(q(r, "superposition-mid-dropped").correct) == s.dropped(s.k_mid)
    # ... exactly the least important ones, so it is asked as a prediction (before its W^T W is shown)
    assert s.dropped(s.k_mid) == s.least(s.n - s.counts[s.k_mid]) and s.drop_predictable()
    # the setup's formula gives the importance table: rank r (1 = most important) has decay^(r-1)
    decay = r.metrics["importance_decay"]
    assert [s.importance[i] for i in s.by_importance(list(range(s.n)))] == pytest.approx(
        [decay**r_ for r_ in range(s.n)]
    )
    setup = next(b for b in r.blocks if b.title == "Setup")
    assert f"{decay:g}^(r-1)" in setup.body
    assert all(v > 0.7 or v < 0.2 for v in s.norms[s.k_mid])
    # a left-out feature outputs its mean: b = (1 - S) / 2 at the seed's mid sparsity
    bias = q(r, "superposition-dropped-bias")
    assert bias.answer == pytest.approx((1 - s.sparsities[s.k_mid]) / 2, abs=0.02)
    assert bias.grade(f"{(1 - s.sparsities[s.k_mid]) / 2}").correct


@pytest.mark.parametrize("seed", SEEDS)
def test_fractional_dimensionality(small_result, seed):
    s = mod.summarise(small_result("superposition", seed).metrics)
    for k, row in enumerate(s.dims):
        assert all(-1e-6 <= d <= 1 + 1e-6 for d in row)
        if s.counts[k] >= s.m:  # every dimension used: the shares add up to m
            assert sum(row) == pytest.approx(s.m, abs=0.1)
        for i in s.dropped(k):
            assert row[i] < 0.2
    # dense: one dimension per represented feature; the sparse end: five features share two dimensions
    assert [round(s.dims[0][i], 1) for i in s.rep(0)] == [1.0] * s.m
    assert s.counts[s.k_hi] == s.n
    # the summary's pentagon: the computed geometry of the sparse model asked about names one
    assert s.geoms[s.k_hi] == G_PENTAGON
    assert all(0.15 < s.dims[s.k_hi][i] < 0.6 for i in range(s.n))  # each a share, the less important less


@pytest.mark.parametrize("seed", SEEDS)
def test_mechanism_keys_agree_with_the_gram_matrix(small_result, seed):
    r = small_result("superposition", seed)
    s = mod.summarise(r.metrics)
    km, fx = s.k_mid, s.fx
    partner = q(r, "superposition-mid-partner")
    # the partner is fx's most negative W^T W entry, antipodal (cos < -0.9), and the pair shares one dimension
    row = {j: s.gram[km][fx][j] for j in range(s.n) if j != fx}
    assert ids(partner.correct) == [min(row, key=row.__getitem__)]
    p = ids(partner.correct)[0]
    assert s.cos(km, fx, p) < -0.9 and (min(fx, p), max(fx, p)) in s.antipodal(km)
    assert s.dims[km][fx] + s.dims[km][p] == pytest.approx(1.0, abs=0.1)
    # antipodal pairs need no negative bias; the pentagon's positive overlaps do
    assert abs(s.mean_bias(km, s.rep(km))) < 0.1
    overlap, _, _ = s.max_overlap(s.k_hi)
    assert overlap > 0.2 and s.mean_bias(s.k_hi, s.rep(s.k_hi)) < -0.1
    hb = q(r, "superposition-high-bias")
    assert hb.options[hb.correct].startswith("negative")


def test_reveal_order(small_result):
    r = small_result("superposition", 0)
    s = mod.summarise(r.metrics)
    opening = [b.title for b in r.opening_blocks()]
    assert not any(t.startswith("W^T W") or t.startswith("Per feature") for t in opening)
    dense = [b.title for b in r.revealed_by("superposition-dense-which")]
    assert "W^T W at S=0" in dense and f"W^T W at S={s.sparsities[s.k_mid]:g}" not in dense
    dropped = [b.title for b in r.revealed_by("superposition-mid-dropped")]
    assert dropped == [f"W^T W at S={s.sparsities[s.k_mid]:g}"]
    mid = [b.title for b in r.revealed_by("superposition-dropped-bias")]
    assert f"Per feature at S={s.sparsities[s.k_mid]:g}" in mid and f"W^T W at S={s.sparsities[s.k_hi]:g}" in mid


@pytest.mark.parametrize("qid", ["superposition-mid-pair-dims", "superposition-high-bias"])
def test_options_are_parallel(small_result, qid):
    """No option stands out by length or by carrying its own justification."""
    opts = q(small_result("superposition", 0), qid).options
    lengths = [len(o) for o in opts]
    assert max(lengths) - min(lengths) <= 8
    assert len({o.count(",") for o in opts}) == 1 and not any(":" in o for o in opts)
