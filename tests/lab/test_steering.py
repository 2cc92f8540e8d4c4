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


def fake_metrics(curves: list[list[float]], alphas=None, mass=None, base=0.98, abl=0.65, rnd=0.98):
    alphas = alphas or [0.5 * j for j in range(len(curves[0]))]
    m = {
        "n_layers": float(len(curves) - 1),
        "n_points": float(len(curves)),
        "n_alphas": float(len(alphas)),
        "n_pairs": 80.0,
        "consistency_base": base,
        "consistency_ablated": abl,
        "consistency_random": rnd,
    }
    for j, a in enumerate(alphas):
        m[f"alpha_{j}"] = a
    for l, c in enumerate(curves):
        for j, f in enumerate(c):
            m[f"flip_L{l}_a{j}"] = f
            m[f"mass_L{l}_a{j}"] = mass[l][j] if mass else 0.9
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
    # earliest crossing wins; a tie goes to the larger last value; none crossing: the largest last value
    assert earliest_crossing([0, 1, 2], [[0.0, 0.4, 0.8], [0.0, 0.6, 0.7], [0.0, 0.6, 0.9]])[0] == 2
    assert earliest_crossing([0, 1], [[0.0, 0.2], [0.0, 0.3]]) == (1, [None, None])


def test_steepest_drop():
    assert steepest_drop([4.0, 4.0, 4.0, 1.0, 1.0, 1.0], log_every=10) == (20, pytest.approx(1.0))
    assert steepest_drop([1.0, 0.5]) == (0, 0.0)


def test_answer_keys_follow_the_metrics():
    curves = [[0.0] * 5, [0.0, 0.2, 0.4, 0.6, 0.8], [0.0, 0.3, 0.7, 0.9, 0.95], [0.0, 0.1, 0.3, 0.5, 0.7]]
    qs = mod.build_questions(fake_metrics(curves))
    best = q(qs, "steering-best-layer")
    assert best.correct == ("L2",) and best.grade("L2").correct and not best.grade("L1").correct
    alpha = q(qs, "steering-flip-alpha")
    assert alpha.answer == pytest.approx(0.5 + 0.5 * (0.5 - 0.3) / 0.4, abs=1e-3)
    assert alpha.abs_tol == 0.5  # one grid step
    abl = q(qs, "steering-ablation")
    assert abl.correct == 1 and "0.65" in abl.explanation

    # perturb: layer 1 becomes the fastest; ablation to chance; no change
    curves2 = [[0.0] * 5, [0.0, 0.9, 0.9, 0.9, 0.9], curves[2], curves[3]]
    qs2 = mod.build_questions(fake_metrics(curves2, abl=0.52))
    assert q(qs2, "steering-best-layer").correct == ("L1",)
    assert q(qs2, "steering-ablation").correct == 0
    assert q(mod.build_questions(fake_metrics(curves, abl=0.95)), "steering-ablation").correct == 2

    # nobody reaches 50%: largest flip at the top alpha, and no alpha question
    curves3 = [[0.0] * 5, [0.0, 0.1, 0.2, 0.3, 0.45], [0.0, 0.1, 0.1, 0.1, 0.2], [0.0] * 5]
    qs3 = mod.build_questions(fake_metrics(curves3))
    assert q(qs3, "steering-best-layer").correct == ("L1",)
    assert not any(x.id == "steering-flip-alpha" for x in qs3)

    # overshoot reads the sentiment mass of the best layer
    mass = [[0.9] * 5, [0.9] * 5, [0.9, 0.9, 0.8, 0.6, 0.4], [0.9] * 5]
    over = q(mod.build_questions(fake_metrics(curves, mass=mass)), "steering-overshoot")
    assert over.correct == 1


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
    b, _, _ = mod.best_layer(m)
    assert q(res.questions, "steering-best-layer").correct == (f"L{b}",)
    # alpha = 0 is the unsteered model, identical for every layer
    assert len({round(m[f"flip_L{l}_a0"], 6) for l in range(int(m["n_points"]))}) == 1
    # the embedding point sees identical tokens at the read position: no steering vector there
    assert m["steer_norm_L0"] < 1e-4
    assert {"line", "table", "text"} <= {bl.kind for bl in res.blocks}
    # second run loads the cached model and reproduces the numbers (seeded sampling too)
    res2 = mod.LAB.run(ctx(tmp_path, seed=0))
    assert res2.metrics["was_cached"] == 1.0
    for k, v in m.items():
        if k != "was_cached":
            assert res2.metrics[k] == pytest.approx(v, abs=1e-5), k
