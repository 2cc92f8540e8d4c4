"""The activation- and attribution-patching labs: the science behind their questions (small settings,
seeds 0-4), and the modules they use (prompt pairs, bootstrap helpers, per-example batched patching)."""

from __future__ import annotations

import pytest

SEEDS = range(5)


def q(result, qid):
    return next(x for x in result.questions if x.id == qid)


def series(result, title_part, name):
    plot = next(b for b in result.blocks if b.kind == "line" and title_part in b.title)
    return next(s for s in plot.series if s.name == name)


# --------------------------------------------------------------------------- activation patching


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_key_side_corruption_exposes_the_previous_token_head(small_result, seed):
    m = small_result("activation-patching", seed).metrics
    prev = f"L0H{int(m['prev_head_attention'])}"  # found from attention, independently of patching
    assert m[f"prev_{prev}"] > 0.5
    # key side (A -> A'): a clear effect, well outside the bootstrap noise; value side (B -> D): none
    assert m[f"key_{prev}"] > 0.1 and m[f"key_{prev}"] > 2.5 * m[f"key_sd_{prev}"]
    assert abs(m[f"value_{prev}"]) < 0.05 and m[f"key_{prev}"] > 3 * abs(m[f"value_{prev}"])
    r = small_result("activation-patching", seed)
    assert prev in q(r, "prev-token-head").correct
    # asked as a prediction: no key-side patching data is shown before it
    shown = [b.title for b in r.blocks_before([x.id for x in r.questions].index("prev-token-head"))]
    assert not any(t.startswith("Key side") for t in shown)
    assert q(r, "prev-token-head").grade(prev).correct


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_last_layer_heads_add_up_and_together_restore_everything(small_result, seed):
    r = small_result("activation-patching", seed)
    m = r.metrics
    alone = [m[f"value_L1H{h}"] for h in range(3)]
    assert m["value_L1_together"] > 0.95
    assert max(alone) < 0.7 * m["value_L1_together"]  # each alone much less
    assert abs(m["value_L1_gap"]) <= 2 * m["value_L1_gap_sd"]  # together ~ sum: additive
    together = q(r, "l1-together")
    assert together.options[together.correct].startswith("About the sum")  # not "the largest single head"
    # the layer-0 heads on the key side act through layer 1's softmax: the key follows the run's own gap
    l0 = q(r, "l0-together")
    gap, sd = m["key_L0_gap"], m["key_L0_gap_sd"]
    assert l0.correct == (0 if abs(gap) <= 2 * sd else 1 if gap > 0 else 2)
    assert f"{m['key_L0_together']:.2f}" in l0.explanation and f"{m['key_L0_sum']:.2f}" in l0.explanation


@pytest.mark.slow
def test_layer0_heads_together_beat_their_sum_at_most_seeds(small_result):
    """Superadditive through the softmax: more than the sum (outside 2 SDs) at most seeds, never less."""
    keys = [q(small_result("activation-patching", s), "l0-together").correct for s in SEEDS]
    assert keys.count(1) >= 3 and 2 not in keys


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_key_side_signal_moves_from_a_to_b(small_result, seed):
    r = small_result("activation-patching", seed)
    m = r.metrics
    assert m["key_resid_best_pos_layer0"] == m["a_pos"]
    assert m["key_resid_best_pos_last_layer"] == m["b_pos"] == m["a_pos"] + 1
    key = q(r, "key-side-resid")
    assert key.options[key.correct].startswith(f"B* (position {int(m['b_pos'])},")


@pytest.mark.slow
def test_the_seed_moves_the_corrupted_position(small_result):
    positions = {small_result("activation-patching", s).metrics["a_pos"] for s in SEEDS}
    assert len(positions) >= 3


# --------------------------------------------------------------------------- attribution patching


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_attribution_underestimates_and_the_layernorm_explains_it(small_result, seed):
    r = small_result("attribution-patching", seed)
    m = r.metrics
    assert m["pearson_heads"] > 0.98
    assert m["slope_value"] + 2 * m["slope_value_sd"] < 0.9  # a real underestimate, not noise
    assert q(r, "value-slope").grade(f"{m['slope_value']:.2f}").correct
    assert not q(r, "value-slope").grade("1.0").correct
    assert q(r, "predict-value").correct == 0
    # not the softmax: patching the attention patterns does ~nothing on the value side
    assert all(abs(m[f"pattern_exact_value_L{l}"]) < 0.03 for l in range(2))
    # the final LayerNorm: with its scale frozen, attribution matches exact patching
    gap_plain, gap_frozen = abs(m["top_attr"] - m["top_exact"]), abs(m["top_frozen"] - m["top_exact"])
    assert gap_plain > 0.1 and gap_frozen < 0.2 * gap_plain
    assert m["scale_mid"] < min(m["scale_corrupt"], m["scale_patched"])  # the dip the text describes
    assert q(r, "why-value").correct == 0
    frozen = series(r, "part of the way", "exact, final LayerNorm scale frozen")
    line = [frozen.y[-1] * x for x in frozen.x]  # linear in alpha once the scale is a constant
    assert max(abs(a - b) for a, b in zip(frozen.y, line)) < 1e-3
    exact = series(r, "part of the way", "exact patching")
    assert exact.y[len(exact.y) // 2] < 0.5 * exact.y[-1]  # the real path bends up: the tangent undershoots
    lnq = q(r, "ln-frozen")
    assert lnq.grade(f"{m['top_exact']:.3f}").correct and not lnq.grade(f"{m['top_attr']:.3f}").correct


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
def test_attribution_misses_the_key_side_path_through_attention(small_result, seed):
    r = small_result("attribution-patching", seed)
    m = r.metrics
    prev = f"L0H{int(m['prev_head_attention'])}"
    assert prev in q(r, "key-prev-head").correct
    assert m[f"attr_key_{prev}"] < m[f"exact_key_{prev}"]
    assert m["pattern_exact_key_L1"] > 0.8  # the key-side effect goes through layer 1's attention pattern
    assert m["attn_to_b_clean_key"] > 0.8 > 0.2 > m["attn_to_b_corrupt_key"]
    assert q(r, "why-key").correct == 0
    shown = [b.title for b in r.blocks_before([x.id for x in r.questions].index("key-prev-head"))]
    assert not any(t.startswith("Key side") or "previous token" in t for t in shown)
    cost = q(r, "cost")
    T = len(next(b for b in r.blocks if b.kind == "heatmap" and "exact patching" in b.title).col_labels)
    assert cost.answer == 2 * 3 * T + 2 * T and cost.grade(str(2 * 3 * T + 2 * T)).correct


# --------------------------------------------------------------------------- the modules


def test_induction_patching_pairs(torch):
    from mi_prep.lab.tasks.induction_patching import induction_patching_pairs, seeded_query_index

    g = torch.Generator().manual_seed(0)
    p = induction_patching_pairs(8, g, d_vocab=48, period=10, query_index=3)
    a, b = p.info["a_pos"], p.info["b_pos"]
    assert (a, b, p.info["end"], p.clean.shape[1]) == (4, 5, 14, 1 + 10 + 4)
    assert (p.clean[:, -1] == p.clean[:, a]).all() and (p.clean[:, b] == p.answer).all()
    for name, pos in (("value", b), ("key", a)):
        diff = (p.corrupt[name] != p.clean).nonzero()[:, 1]
        assert (diff == pos).all() and len(diff) == 8
    assert (p.corrupt["value"][:, b] == p.wrong).all()
    assert not (p.clean == p.wrong[:, None]).any() and not (p.clean == p.corrupt["key"][:, a : a + 1]).any()
    assert [seeded_query_index(5, 10, s) for s in range(5)] == [5, 7, 0, 2, 4]
    with pytest.raises(ValueError):
        induction_patching_pairs(2, g, d_vocab=12, period=10, query_index=3)


def test_near_best_and_slope(torch):
    from mi_prep.lab import patching_stats as ps

    g = torch.Generator().manual_seed(0)
    noise = torch.randn(3, 64, generator=g)
    x = torch.stack([1.0 + 0.1 * noise[0], 0.98 + 0.1 * noise[1], 0.2 + 0.1 * noise[2]])
    idx = ps.boot_indices(64)
    assert ps.near_best(x, idx) == [0, 1]  # 0.02 apart is noise, 0.8 is not
    ex = torch.rand(5, 64, generator=g)
    assert abs(ps.slope(ex.mean(-1), 0.5 * ex.mean(-1)) - 0.5) < 1e-6
    assert ps.boot_slope(ex, 0.5 * ex, idx).sub(0.5).abs().max() < 1e-5


@pytest.mark.slow
def test_per_example_patching_matches_the_mean(torch, lab_cache):
    from mi_prep.lab import patching
    from mi_prep.lab.api import LabContext
    from mi_prep.lab.registry import get
    from mi_prep.lab.tasks.induction import induction_model

    p = get("activation-patching").make_params(small=True)
    model, _, _ = induction_model(LabContext(seed=0, device="cpu", params=p, cache_dir=lab_cache), p)
    out = patching.run_patching(model, p, 0, "cpu", reference=True)
    assert out["max_abs_diff"] < 1e-4
    for c in ("value", "key"):
        s = out[c]
        assert s["heads_ex"].shape == (2, 3, p.n_pairs)
        plain = patching.patch_heads(model, s["corrupt"], s["cache"], s["metric"], 2, 3)
        assert torch.allclose(plain, s["heads"], atol=1e-5)
