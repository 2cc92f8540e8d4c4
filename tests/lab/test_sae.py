"""SAE lab: computed answer keys, the analyses behind them (bootstrap ties, latent census, shrinkage),
JumpReLU straight-through gradients (the contract every lab shares is in test_contract; the slow science
checks are in test_lab_sae)."""

from __future__ import annotations

from mi_prep.lab import registry
from mi_prep.lab.sparse_autoencoders import score_cells

mod = registry.module_of("sae")


def q(qs, qid):
    return next(x for x in qs if x.id == qid)


def fake_metrics(**over) -> dict[str, float]:
    m = {
        "d": 32.0,
        "n_true": 128.0,
        "n_latents": 256.0,
        "tight_latents": 128.0,
        "p_active": 0.03,
        "k": 3.0,
        "l1": 0.5,
        "eval_samples": 8192.0,
        "true_l0": 3.8,
        "ctrl_features": 16.0,
        "ctrl_bdec": 0.027,
    }
    rows = {
        "relu": dict(l0=17.0, mse=0.17, fvu=0.2, dead=0, gain=0.5, mmcs=0.84, recovered=65, best_ok=0, gap_sd=0.013),
        "topk": dict(l0=2.9, mse=0.18, fvu=0.23, dead=121, gain=0.8, mmcs=0.977, recovered=124, best_ok=1, gap_sd=0),
        "jumprelu": dict(
            l0=3.3, mse=0.12, fvu=0.23, dead=92, gain=0.7, mmcs=0.846, recovered=73, best_ok=0, gap_sd=0.016
        ),
        "topk_tight": dict(l0=2.9, mse=0.23, fvu=0.25, dead=5, gain=0.8, mmcs=0.9, recovered=100),
    }
    census = {"relu": (256, 65, 11, 180, 0), "topk": (135, 124, 0, 11, 0), "jumprelu": (164, 73, 0, 91, 0)}
    for v, (live, feats, dup, mix, tw) in census.items():
        rows[v].update(live=live, features=feats, duplicates=dup, mixtures=mix, twins=tw)
    rows["topk_tight"].update(live=123, features=100, duplicates=0, mixtures=23, twins=0)
    for v, r in rows.items():
        for k, val in r.items():
            m[f"{v}_{k}"] = float(val)
        for i, x in enumerate((0.63, 0.84, 0.93, 0.98)):
            m[f"{v}_fam{i}"], m[f"{v}_fam{i}_sd"] = x, 0.02
    for v, sh in {"ctrl": (0.25, 0.27, 0.29), "relu": (0.41, 0.55, 0.65), "topk": (0.15, 0.2, 0.25)}.items():
        for c, x in zip((0.5, 1, 1.5), sh):
            m[f"{v}_shrink_{c:g}"] = x
    for c, x in zip((0.5, 1, 1.5), (0.47, 0.23, 0.33)):
        m[f"jumprelu_shrink_{c:g}"] = x
    for i, p in enumerate((0.008, 0.016, 0.032, 0.064)):
        m[f"fam{i}_p"] = p
        m[f"missed_fam{i}"] = float(i == 0)
        m[f"tight_fam{i}"] = float(i == 3)
        m[f"tight_loss{i}"], m[f"tight_loss{i}_sd"] = (0.15, 0.08, 0.01, 0.0)[i], 0.02
    m.update(over)
    return m


def test_keys_follow_the_metrics():
    qs = mod.build_questions(fake_metrics())
    assert [x.id for x in qs] == [
        "sae-l0",
        "sae-shrinkage",
        "sae-best-mmcs",
        "sae-missed-family",
        "sae-spare-latents",
        "sae-tight-family",
        "sae-why-shrinkage",
    ]
    l0 = q(qs, "sae-l0")
    assert l0.options[l0.correct] == "ReLU + L1"
    assert q(mod.build_questions(fake_metrics(topk_l0=30.0)), "sae-l0").correct == 1

    best = q(qs, "sae-best-mmcs")
    assert best.correct == ("TopK",) and best.grade("topk").correct and not best.grade("ReLU").correct
    tie = q(mod.build_questions(fake_metrics(relu_best_ok=1.0)), "sae-best-mmcs")
    assert tie.grade("ReLU").correct and tie.grade("TopK").correct and not tie.grade("JumpReLU").correct

    fam = q(qs, "sae-missed-family")
    assert fam.correct == ("F1",) and fam.grade("f1").correct and not fam.grade("F4").correct
    moved = q(mod.build_questions(fake_metrics(missed_fam0=0.0, missed_fam2=1.0, missed_fam3=1.0)), "sae-missed-family")
    assert moved.correct == ("F3", "F4") and moved.grade("F4").correct
    tight = q(qs, "sae-tight-family")
    assert tight.correct == ("F4",) and tight.grade("F4").correct and not tight.grade("F1").correct
    assert "5 are dead and 23 are mixtures" in tight.explanation and "more mixtures than dead" in tight.explanation
    assert q(mod.build_questions(fake_metrics(tight_fam3=0.0, tight_fam2=1.0)), "sae-tight-family").correct == ("F3",)

    spare = q(qs, "sae-spare-latents")
    assert spare.options[spare.correct].startswith("mostly mixtures")
    assert "180 mixtures" in spare.explanation and "11 duplicates" in spare.explanation
    one = q(mod.build_questions(fake_metrics(relu_dead=1.0, relu_duplicates=1.0)), "sae-spare-latents")
    assert "1 dead latent out of" in one.prompt and "+ 1 duplicate +" in one.explanation
    dup = q(mod.build_questions(fake_metrics(relu_duplicates=150.0, relu_mixtures=30.0)), "sae-spare-latents")
    assert dup.options[dup.correct].startswith("mostly duplicates")


def test_shrinkage_key_is_the_l1_optimum():
    """Loss (c - f)^2 + lambda f (summed squared error, unit decoder row): f* = c - lambda/2."""
    for lam in (0.3, 0.5, 1.0):
        shr = q(mod.build_questions(fake_metrics(l1=lam)), "sae-shrinkage")
        assert abs(shr.answer - (1 - lam / 2)) < 1e-12 and shr.conceptual
        assert shr.grade(f"{1 - lam / 2}").correct and not shr.grade(f"{1 - lam}").correct  # the old factor
        assert f"lambda/2 = {lam / 2:g}" in shr.explanation


def test_bootstrap_ties_and_worst_groups(torch):
    from mi_prep.lab.sae_analysis import tied_with_best, worst_groups

    g = torch.Generator().manual_seed(0)
    a = 0.9 + 0.05 * torch.rand(200, generator=g)
    best = {"x": a, "y": a + 0.05 * torch.randn(200, generator=g), "z": a - 0.2}
    accepted, mmcs, sd = tied_with_best(best, n_boot=300, seed=0)
    assert set(accepted) == {"x", "y"} and sd["z"] < 0.01
    vals = torch.cat([torch.full((20,), 0.5), torch.full((20,), 0.9), torch.full((20,), 0.95)])
    vals = vals + 0.02 * torch.randn(60, generator=g)
    fam = torch.arange(60) // 20
    acc, means, sds = worst_groups(vals, fam, 3, n_boot=300, seed=0)
    assert acc == [0] and means[0] < 0.55 and all(s < 0.02 for s in sds)
    acc_hi, _, _ = worst_groups(vals, fam, 3, n_boot=300, seed=0, lowest=False)
    assert acc_hi[0] == 2


def test_latent_census_counts_duplicates_mixtures_and_twins(torch):
    from mi_prep.lab.sae_analysis import latent_census
    from mi_prep.lab.sparse_autoencoders import make_sae

    T = torch.eye(4, 8)  # 4 true features
    sae = make_sae("relu", 8, 7, generator=torch.Generator().manual_seed(0), b_dec_init=torch.zeros(8), l1=0.1)
    with torch.no_grad():
        W = torch.zeros(7, 8)
        W[0, 0] = W[1, 1] = W[2, 2] = 1.0  # features 0-2
        W[3, 0], W[3, 4] = 0.96, 0.28  # a near-duplicate of feature 0 (cos 0.96)
        W[4, 1], W[4, 5] = 0.95, 0.312  # another latent on feature 1
        W[5, 3], W[5, 6] = 0.6, 0.8  # a mixture: cos 0.6 with feature 3
        W[6, 7] = 1.0  # never fires (dead)
        sae.W_dec.copy_(W)
        sae.W_enc.copy_(W.T)
        sae.b_enc.fill_(-0.01)
    x = torch.cat([torch.eye(8)[:7], torch.eye(8)[:7] * 2])
    c = latent_census(sae, T, x, torch.tensor([0, 0, 1, 1]), 2, match_cos=0.9, twin_cos=0.9)
    assert (c["dead"], c["live"], c["features"], c["duplicates"], c["mixtures"]) == (1, 6, 3, 2, 1)
    assert c["twins"] == 4  # latents 0 & 3 and 1 & 4 are near-copies of each other
    assert c["dup_by_family"] == [2, 0]


def test_jumprelu_straight_through_gradients(torch):
    from mi_prep.lab.sparse_autoencoders import make_sae

    g = torch.Generator().manual_seed(0)
    sae = make_sae("jumprelu", 4, 3, generator=g, b_dec_init=torch.zeros(4), l0=1.0, eps=0.5, theta_init=0.3)
    z = torch.tensor([[0.35, 0.1, 2.0], [0.2, 0.29, -1.0]], requires_grad=True)
    f = sae.activate(z)
    assert torch.equal(f.detach(), torch.tensor([[0.35, 0.0, 2.0], [0.0, 0.0, 0.0]]))
    (f.sum() + sae.sparsity_loss(z, f)).backward()
    # latents 0 and 1 have pre-activations within eps/2 of theta, latent 2 does not
    gt = sae.log_theta.grad
    assert gt[0] != 0 and gt[1] != 0 and gt[2] == 0
    # gradient to z passes only where the latent is active (the step has no z-gradient)
    assert torch.equal(z.grad, torch.tensor([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]]))


def test_feature_families_are_seeded(torch):
    from mi_prep.lab.tasks.sparse_features import feature_families

    fams = [feature_families(64, (0.25, 0.5, 1.0, 2.0), 0.03, seed) for seed in range(5)]
    for f in fams:
        assert abs(float(f.probs.mean()) - 0.03) < 1e-6 and f.family.tolist() == [i // 16 for i in range(64)]
    rare = {min(range(4), key=lambda i: f.prob_of_family[i]) for f in fams}
    assert len(rare) > 1  # the seed decides which family is rare


def test_score_cells_round_like_the_table():
    scores = {
        "l0": 2.56789,
        "mse": 0.123456,
        "fvu": 0.0654321,
        "dead": 3.0,
        "gain": 0.91234,
        "mmcs": 0.99,
        "recovered": 64.0,
    }
    assert score_cells(scores) == [2.568, 0.1235, 0.0654, 3, 0.912, 0.99, 64]
    assert isinstance(score_cells(scores)[3], int)
    assert score_cells(scores, ("dead", "mmcs")) == [3, 0.99]
