"""Steering lab: tokenizer/corpus, computed answer keys, the run's own numbers and its cache (the contract
every lab shares is in test_contract)."""

from __future__ import annotations

import random

import pytest

from mi_prep.lab import registry
from mi_prep.lab.api import LabContext
from mi_prep.lab.curves import earliest_crossing, first_crossing, steepest_drop
from mi_prep.lab.tasks import sentiment

mod = registry.module_of("steering")


def q(qs, qid):
    return next(x for x in qs if x.id == qid)


def fake_metrics(curves: list[list[float]], alphas=None, mass=None, focus=2, **over):
    """Metrics as :func:`steering_experiment.measure` writes them; ``curves[l]`` is point L(l+1)."""
    alphas = alphas or [0.5 * j for j in range(len(curves[0]))]
    n = len(curves)
    m = {
        "n_layers": float(n),
        "n_points": float(n + 1),
        "n_alphas": float(len(alphas)),
        "n_pairs": 80.0,
        "n_eval_prompts": 48.0,
        "n_random": 4.0,
        "focus": float(focus),
        "norm_L0": 0.0,
        "base_flip": curves[0][0],
        "base_flip_sd": 0.003,
        "consistency_base": 0.98,
        "consistency_base_sd": 0.005,
        "consistency_ablated": 0.65,
        "consistency_ablated_sd": 0.02,
        "surviving": (0.65 - 0.5) / (0.98 - 0.5),
        "surviving_sd": 0.04,
        "consistency_random": 0.98,
        "consistency_random_min": 0.97,
        "sample_offgrammar_base": 0.01,
        "sample_offgrammar_steered": 0.3,
        "sample_offgrammar_steered_max": 0.6,
        "alpha_shown": 1.0,
        "pair_cos_mean": 0.8,
        "pair_cos_min": 0.7,
    }
    for j, a in enumerate(alphas):
        m[f"alpha_{j}"] = a
    for l, c in enumerate(curves, start=1):
        x = first_crossing(alphas, c)
        m[f"norm_L{l}"], m[f"cos_L{l}"] = 3.0 * l, 0.3 * l
        m[f"cross_L{l}"] = x if x is not None else float("nan")
        m[f"cross_sd_L{l}"], m[f"cross_missing_L{l}"] = 0.02, 0.0
        m[f"rand_at_cross_L{l}"], m[f"rand_at_cross_sd_L{l}"], m[f"rand_at_cross_max_L{l}"] = (
            c[0] + 0.02,
            0.003,
            c[0] + 0.04,
        )
        for j, f in enumerate(c):
            m[f"flip_L{l}_a{j}"] = f
            m[f"mass_L{l}_a{j}"] = mass[l - 1][j] if mass else 0.9
            m[f"rand_flip_L{l}_a{j}"] = m[f"rand_flip_max_L{l}_a{j}"] = c[0]
    m.update(over)
    return m


def test_tokenizer_and_corpus():
    tok = sentiment.WordTokenizer()
    rng = random.Random(0)
    for _ in range(50):
        positive = rng.random() < 0.5
        s = sentiment.sentence(rng, positive)
        ids = tok.encode(s)
        assert ids[0] == tok.index["<bos>"] and tok.decode(ids) == s
        words = set(s.split())
        assert words & set(sentiment.POS_WORDS if positive else sentiment.NEG_WORDS)
        assert not words & set(sentiment.NEG_WORDS if positive else sentiment.POS_WORDS)
    pos, neg = sentiment.contrastive_prompts(sentiment.NOUNS[:2])
    assert len(pos) == len(neg) == 2 * (2 * 6 + 4)
    for a, b in zip(pos, neg):  # pairs differ in exactly the sentiment word
        diff = [(x, y) for x, y in zip(a.split(), b.split()) if x != y]
        assert len(diff) == 1 and diff[0][0] in sentiment.POS_WORDS and diff[0][1] in sentiment.NEG_WORDS


def test_first_crossing_interpolates():
    assert first_crossing([0, 1, 2], [0.0, 0.4, 0.8]) == pytest.approx(1.25)
    assert first_crossing([0, 1, 2], [0.0, 0.1, 0.2]) is None
    assert first_crossing([0, 1], [0.6, 0.9]) == 0
    assert earliest_crossing([0, 1, 2], [[0.0, 0.4, 0.8], [0.0, 0.6, 0.7], [0.0, 0.6, 0.9]])[0] == 2


def test_steepest_drop():
    assert steepest_drop([4.0, 4.0, 4.0, 1.0, 1.0, 1.0], log_every=10) == (20, pytest.approx(1.0))
    assert steepest_drop([1.0, 0.5]) == (0, 0.0)


def test_bootstrap_statistics():
    from mi_prep.lab.steering_stats import boot_crossing, boot_indices, boot_mean, boot_surviving, interp

    idx = boot_indices(40, 200, seed=0)
    same = [0.7] * 40
    assert boot_mean(same, idx) == (pytest.approx(0.7), pytest.approx(0.0))
    noisy = [0.0, 1.0] * 20
    m, sd = boot_mean(noisy, idx)
    assert m == pytest.approx(0.5) and 0.04 < sd < 0.12  # ~ 0.5 / sqrt(40)
    alphas = [0.0, 1.0, 2.0]
    rows = [[0.0] * 40, [0.4] * 40, [0.8] * 40]
    assert boot_crossing(alphas, rows, idx) == (pytest.approx(1.25), pytest.approx(0.0), 0.0)
    never = [[0.0] * 40, [0.1] * 40, [0.2] * 40]
    assert boot_crossing(alphas, never, idx)[0] is None and boot_crossing(alphas, never, idx)[2] == 1.0
    frac, sd = boot_surviving([1.0] * 40, [0.75] * 40, idx)
    assert frac == pytest.approx(0.5) and sd == pytest.approx(0.0)
    assert interp([0, 1, 2], [0, 10, 20], 1.5) == 15 and interp([0, 1], [3, 4], 9) == 4


def test_grammar_check():
    assert sentiment.off_grammar("the movie was great and lovely .".split()) == (0, 6)
    assert sentiment.off_grammar("i hated loathed movie".split())[0] >= 2


def test_answer_keys_follow_the_metrics():
    curves = [[0.0, 0.2, 0.4, 0.6, 0.8], [0.0, 0.3, 0.7, 0.9, 0.95], [0.0, 0.1, 0.3, 0.5, 0.7]]
    qs = mod.build_questions(fake_metrics(curves, focus=2))
    assert [x.id for x in qs] == [
        "steering-zero-point",
        "steering-flip-alpha",
        "steering-random-control",
        "steering-logit-edit",
        "steering-ablation",
        "steering-overshoot",
        "steering-caa-vs-actadd",
    ]
    assert q(qs, "steering-zero-point").correct == 0
    alpha = q(qs, "steering-flip-alpha")
    assert alpha.answer == pytest.approx(0.5 + 0.5 * (0.5 - 0.3) / 0.4, abs=0.01)
    assert alpha.abs_tol == pytest.approx(0.05)  # two bootstrap SDs, at least 0.05
    assert "alpha = 0.5" in alpha.explanation and "above 0.5" in alpha.explanation
    assert q(qs, "steering-random-control").correct == 0
    assert q(qs, "steering-logit-edit").correct == 2  # cos at L3 = 0.9
    abl = q(qs, "steering-ablation")
    assert abl.correct == 1 and "= 0.31 " in abl.explanation  # (0.65 - 0.5) / (0.98 - 0.5), clearly above 0
    assert q(qs, "steering-overshoot").correct == 1  # text breaks, next-token mass flat

    # the focus point moves the keys; a zero-ish L0 that is not zero; random vectors as strong as v
    qs2 = mod.build_questions(
        fake_metrics(curves, focus=1, norm_L0=5.0, rand_at_cross_L1=0.45, cos_L3=0.5, surviving=0.01)
    )
    assert q(qs2, "steering-flip-alpha").answer == pytest.approx(1.25, abs=0.01)
    assert q(qs2, "steering-zero-point").correct == 2  # 5 among later norms 3, 6, 9
    assert q(mod.build_questions(fake_metrics(curves, norm_L0=1.0)), "steering-zero-point").correct == 1
    assert q(qs2, "steering-random-control").correct == 1
    assert q(qs2, "steering-logit-edit").correct == 1
    assert (
        q(qs2, "steering-ablation").correct == 0 and "nothing beyond noise" in q(qs2, "steering-ablation").explanation
    )
    whole = fake_metrics(curves, surviving=0.97, surviving_sd=0.02)
    assert q(mod.build_questions(whole), "steering-ablation").correct == 2
    # the ActAdd/CAA question is tied to this run's single-pair cosines
    assert "cosine 0.80" in q(qs, "steering-caa-vs-actadd").explanation

    # overshoot reads the focus point's next-token mass and the sampled text
    mass = [[0.9] * 5, [0.9, 0.9, 0.8, 0.6, 0.4], [0.9] * 5]
    assert q(mod.build_questions(fake_metrics(curves, mass=mass)), "steering-overshoot").correct == 2
    calm = fake_metrics(curves, sample_offgrammar_steered_max=0.05)
    assert q(mod.build_questions(calm), "steering-overshoot").correct == 0


def ctx(tmp_path, seed=0, **over):
    return LabContext(seed=seed, device="cpu", params=mod.LAB.make_params(over, small=True), cache_dir=tmp_path)


@pytest.mark.slow
def test_small_run_end_to_end_and_cache(torch, tmp_path):
    res = mod.LAB.run(ctx(tmp_path, seed=0))
    m = res.metrics
    assert m["was_cached"] == 0.0
    assert list(tmp_path.glob("*.safetensors")) and not list(tmp_path.glob("*.pt"))  # safetensors only
    again = mod.build_questions(m)
    assert [x.to_dict() for x in again] == [x.to_dict() for x in res.questions]
    assert q(res.questions, "steering-flip-alpha").answer == pytest.approx(m[f"cross_L{int(m['focus'])}"], abs=0.01)
    # alpha = 0 is the unsteered model, identical for every point
    assert len({round(m[f"flip_L{l}_a0"], 6) for l in range(1, int(m["n_points"]))}) == 1
    # the embedding point sees identical tokens at the read position: no steering vector there
    assert m["norm_L0"] < 1e-4
    assert {"line", "table", "text"} <= {bl.kind for bl in res.blocks}
    # second run loads the cached model and reproduces the numbers (seeded sampling too)
    res2 = mod.LAB.run(ctx(tmp_path, seed=0))
    assert res2.metrics["was_cached"] == 1.0
    for k, v in m.items():
        if k != "was_cached":
            assert res2.metrics[k] == pytest.approx(v, abs=1e-5), k
