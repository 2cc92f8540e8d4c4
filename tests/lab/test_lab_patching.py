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


# --------------------------------------------------------------------------- patching from (layer, position) on


def _tiny(torch, **kw):
    """An untrained TL-native model and a random clean/corrupted pair batch differing at one position."""
    from mi_prep.lab import patching
    from mi_prep.lab.models import make_model

    args = dict(n_layers=3, d_model=32, n_heads=2, d_head=8, d_vocab=20, n_ctx=16, attn_only=True, seed=0) | kw
    model = make_model(**args)
    clean, corrupt, answer, wrong = _pairs_of(torch)
    metric, cache = patching.setup(model, clean, corrupt, answer, wrong)
    return model, corrupt, cache, metric


def _every_kind_of_patch(L: int, H: int, T: int):
    from mi_prep.lab import patching

    odd = [
        ("blocks.1.hook_resid_pre", (-1,)),  # negative position
        ("blocks.1.hook_resid_pre", (slice(2, 6),)),  # a range of positions
        ("blocks.2.hook_resid_pre", (slice(None), slice(0, 5))),  # some dims, every position
        ("blocks.0.hook_resid_pre", (4, slice(3, 9))),  # some dims at one position
        ("blocks.1.attn.hook_z", (slice(5, None, 2), 1)),  # every other position
        ("blocks.2.attn.hook_z", (7,)),  # every head at one position
        ("blocks.0.attn.hook_z", (slice(None), slice(None), slice(0, 4))),  # part of d_head
        ("blocks.1.attn.hook_pattern", (slice(None),)),  # not one SuffixPatcher patches: hooks
    ]
    return (
        patching.resid_patches(L, T)
        + patching.head_patches(L, H)
        + patching.head_pos_patches(L, H, T)
        + patching.layer_patches(L)
        + odd
    )


@pytest.mark.parametrize("attn_only", [True, False])
def test_patching_from_the_patched_layer_and_position_matches_whole_forwards(torch, attn_only):
    """Every patch (any index, any hook) gives the same metric as running it on a whole hooked forward,
    in small and large batches, with and without MLPs."""
    from mi_prep.lab import patching
    from mi_prep.lab.patching_fast import SuffixPatcher

    model, corrupt, cache, metric = _tiny(torch, attn_only=attn_only)
    patches = _every_kind_of_patch(3, 2, corrupt.shape[1])
    assert SuffixPatcher.build(model, corrupt) is not None  # the fast path really runs
    slow = patching.batched_patch(model, corrupt, cache, patches, metric, per_example=True, fast=False)
    loop = patching.loop_reference(model, corrupt, cache, metric, patches)
    assert torch.allclose(slow.mean(1), loop, atol=1e-5)
    for max_batch in (4, 1024):  # one patch per forward, and many
        fast = patching.batched_patch(model, corrupt, cache, patches, metric, max_batch, per_example=True)
        assert (fast - slow).abs().max() < 1e-5
    assert slow.std() > 0.05  # the patches do move the metric, differently per patch


def test_suffix_patcher_declines_models_it_does_not_reimplement(torch):
    """Architectures it does not cover, and hooks left on the model (which its forward would bypass), send
    every patch through hooked whole forwards instead: same numbers as one hooked forward per patch."""
    from mi_prep.lab import patching
    from mi_prep.lab.patching_fast import SuffixPatcher

    model, corrupt, cache, metric = _tiny(torch)
    patches = _every_kind_of_patch(3, 2, corrupt.shape[1])[:12]
    attn = model.original_model.layers[1].attn._original_component
    attn.causal = False  # bidirectional attention: not reimplemented
    assert SuffixPatcher.build(model, corrupt) is None
    attn.causal = True
    model.original_model.pos = None  # stands for rotary (no learned positions): not reimplemented
    assert SuffixPatcher.build(_tiny(torch)[0], corrupt) is not None and SuffixPatcher.build(model, corrupt) is None
    model = _tiny(torch)[0]
    model.add_hook("blocks.1.attn.hook_z", lambda act, hook: act * 0.5)  # a permanent hook changes the logits
    try:
        assert SuffixPatcher.build(model, corrupt) is None  # caught by comparing the corrupted run's logits
        metric, cache = patching.setup(model, *_pairs_of(torch))
        fast = patching.batched_patch(model, corrupt, cache, patches, metric)
        assert torch.allclose(fast, patching.loop_reference(model, corrupt, cache, metric, patches), atol=1e-5)
    finally:
        model.reset_hooks(including_permanent=True)
    patcher = SuffixPatcher.build(model, corrupt)
    assert patcher is not None
    with pytest.raises(ValueError, match="hook_pattern"):
        patcher.run(cache, [("blocks.0.attn.hook_pattern", (slice(None),))], metric)


def _pairs_of(torch):
    g = torch.Generator().manual_seed(0)
    clean = torch.randint(1, 20, (4, 9), generator=g)
    corrupt = clean.clone()
    corrupt[:, 3] = torch.randint(1, 20, (4,), generator=g)
    return clean, corrupt, torch.randint(1, 20, (4,), generator=g), torch.randint(1, 20, (4,), generator=g)


def test_patch_positions_and_hook_names():
    from mi_prep.lab.patching_fast import first_position, shift, split_name

    assert split_name("blocks.12.attn.hook_z") == (12, "attn.hook_z") and split_name("blocks.0.hook_mlp_out") is None
    assert [first_position(i, 9) for i in ((-2,), (slice(3, None),), (slice(None, None, -1),), ())] == [7, 3, 0, 0]
    assert shift((slice(3, 9, 2), 1), 3, 9) == (slice(0, 6, 2), 1) and shift((-1,), 4, 9) == (4,)
