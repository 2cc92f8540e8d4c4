"""Steering lab, the science at seeds 0-4 (small settings): the norm-matched random controls, the zero L0
vector, the last point as a logit edit, the flip-alpha expectation and the overshoot statement."""

from __future__ import annotations

import pytest

from mi_prep.lab.steering_questions import OFF_GRAMMAR_STEP, crossing

SEEDS = range(5)
pytestmark = [pytest.mark.slow, pytest.mark.needs_torch]


def q(result, qid):
    return next(x for x in result.questions if x.id == qid)


def block(result, title_start):
    return next(b for b in result.blocks if b.title.startswith(title_start))


@pytest.mark.parametrize("seed", SEEDS)
def test_random_controls_are_much_weaker_than_v(small_result, seed):
    r = small_result("steering", seed)
    m = r.metrics
    n = int(m["n_layers"])
    for l in range(1, n + 1):
        x = crossing(m, l)
        assert x is not None, f"L{l} never flips half at seed {seed}"
        # dose-response control: at v's 50% alpha, random vectors of v's norm move the flip share far less than v
        rand_move = m[f"rand_at_cross_L{l}"] - m["base_flip"]
        noise = 2 * (m[f"rand_at_cross_sd_L{l}"] + m["base_flip_sd"])
        assert rand_move < 0.25 * (0.5 - m["base_flip"]), (seed, l, rand_move)
        assert (0.5 - m["base_flip"]) - rand_move > 10 * noise
        # the control curves exist at every alpha and start at the unsteered value
        assert m[f"rand_flip_L{l}_a0"] == pytest.approx(m["base_flip"])
    # ablation control: removing random directions changes agreement by far less than removing v's direction
    drop_v = m["consistency_base"] - m["consistency_ablated"]
    drop_rand = m["consistency_base"] - m["consistency_random"]
    assert drop_v > 2 * m["consistency_ablated_sd"] + abs(drop_rand)
    assert abs(drop_rand) < 0.25 * drop_v
    assert any("random" in str(row[0]) for row in block(r, "Directional ablation").rows)
    assert block(r, "Norm-matched random control").after == "steering-random-control"


@pytest.mark.parametrize("seed", SEEDS)
def test_zero_l0_vector_is_explained_not_offered(small_result, seed):
    r = small_result("steering", seed)
    m = r.metrics
    assert m["norm_L0"] < 1e-5 and min(m[f"norm_L{l}"] for l in range(1, int(m["n_layers"]) + 1)) > 0.1
    zero = q(r, "steering-zero-point")
    assert zero.options[zero.correct].startswith("exactly zero")
    # no curve, no focus point and no question key is L0
    assert int(m["focus"]) >= 1
    plot = block(r, "Dose-response")
    assert "L0" not in [s.name for s in plot.series]


@pytest.mark.parametrize("seed", SEEDS)
def test_last_point_is_nearly_a_logit_edit(small_result, seed):
    r = small_result("steering", seed)
    m = r.metrics
    n = int(m["n_layers"])
    cos = [m[f"cos_L{l}"] for l in range(1, n + 1)]
    assert cos[-1] > 0.8 and cos[-1] >= cos[0]
    edit = q(r, "steering-logit-edit")
    assert edit.options[edit.correct].startswith("near 1") and f"{cos[-1]:.2f}" in edit.explanation


@pytest.mark.parametrize("seed", SEEDS)
def test_flip_alpha_expectation_matches_observation(small_result, seed):
    r = small_result("steering", seed)
    m = r.metrics
    f = int(m["focus"])
    x, sd = crossing(m, f), m[f"cross_sd_L{f}"]
    qa = q(r, "steering-flip-alpha")
    assert qa.answer == pytest.approx(x, abs=0.01) and qa.abs_tol >= 2 * sd - 1e-9
    # the explanation's first-order expectation is the midpoint between the class means (alpha = 0.5), and
    # it says where the observed crossing lies relative to it, with the bootstrap SD
    assert "alpha = 0.5" in qa.explanation
    gap = x - 0.5
    if abs(gap) <= 2 * sd:
        assert "within noise of 0.5" in qa.explanation
    else:
        assert ("above 0.5" if gap > 0 else "below 0.5") in qa.explanation


@pytest.mark.parametrize("seed", SEEDS)
def test_overshoot_statement_agrees_with_the_samples(small_result, seed):
    from mi_prep.lab.tasks.sentiment import off_grammar

    r = small_result("steering", seed)
    m = r.metrics
    rows = block(r, "Sampled continuations").rows
    f = int(m["focus"])
    a_max = m[f"alpha_{int(m['n_alphas']) - 1}"]

    def rate(label):
        bad = total = 0
        for cond, prompt, cont in rows:
            if cond == label:
                b, t = off_grammar(prompt.split()[-1:] + cont.split())
                bad, total = bad + b, total + t
        return bad / total

    base, top = rate("base"), rate(f"L{f} a={a_max:g}")
    over = q(r, "steering-overshoot")
    says_broken = "text breaks" in over.options[over.correct]
    assert says_broken == (top - base > OFF_GRAMMAR_STEP), (seed, base, top)
    last = int(m["n_alphas"]) - 1
    says_falls = "falls by more than 0.1" in over.options[over.correct] and "not fall" not in over.options[over.correct]
    assert says_falls == (m[f"mass_L{f}_a0"] - m[f"mass_L{f}_a{last}"] > 0.1)
    # steering does flip the sampled sentiment
    assert m["sample_neg_frac_steered"] > m["sample_neg_frac_base"] + 0.3


@pytest.mark.parametrize("seed", SEEDS)
def test_ablation_is_predicted_before_its_table(small_result, seed):
    r = small_result("steering", seed)
    m = r.metrics
    # the data that settles a prediction is hidden until it is answered
    assert block(r, "Directional ablation").after == "steering-ablation"
    assert block(r, "Dose-response").after == "steering-zero-point"
    # ablating v's direction removes part, not all, of the above-chance agreement, beyond noise either way
    assert 2 * m["surviving_sd"] < m["surviving"] < 1 - 2 * m["surviving_sd"]
    assert q(r, "steering-ablation").correct == 1
    # single pairs (ActAdd style) point roughly, not exactly, along the mean difference (CAA style)
    assert 0.3 < m["pair_cos_min"] <= m["pair_cos_mean"] < 1.0
    assert f"{m['pair_cos_mean']:.2f}" in q(r, "steering-caa-vs-actadd").explanation
