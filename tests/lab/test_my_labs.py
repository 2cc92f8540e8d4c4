"""The induction, activation-patching and attribution-patching labs: their own numbers and keys (small
settings, seeded). The checks every lab shares (params, imports, round trip, cancel) are in test_contract."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest

from mi_prep.lab import registry


def q(result, qid):
    return next(x for x in result.questions if x.id == qid)


@pytest.mark.slow
def test_induction_lab_causal_check(small_result):
    r = small_result("induction-heads")
    m = r.metrics
    # the claimed previous-token head is the one whose ablation hurts the claimed induction head most
    assert m["causal_check"] == 1.0
    assert m["drop_prev_ablation"] > m["max_drop_other_ablation"] and m["drop_prev_ablation"] >= 0.3
    assert m["ind_score"] > 0.5 and m["ind_score_after_layer0_ablation"] < 0.5 * m["ind_score"]
    assert m["loss_drop"] > 1.0
    prev = f"L0H{int(m['prev_head'])}"
    assert q(r, "prev-token-head").grade(prev).correct
    assert q(r, "induction-head").grade(f"L1H{int(m['ind_head'])}").correct
    assert q(r, "loss-drop").grade(f"{m['loss_drop']:.3f}").correct
    kinds = {b.kind for b in r.blocks}
    assert {"heatmap", "line", "table", "text"} <= kinds


def test_induction_keys_follow_the_numbers():
    mod = registry.module_of("induction-heads")
    base = {
        "prev_head": 0.0,
        "ind_head": 1.0,
        "prev_score": 0.4,
        "ind_score": 0.9,
        "ind_score_after_prev_ablation": 0.2,
        "ind_score_after_layer0_ablation": 0.05,
        "drop_prev_ablation": 0.78,
        "max_drop_other_ablation": 0.1,
        "loss_first": 3.8,
        "loss_repeat": 0.1,
        "loss_drop": 3.7,
        "phase_change_step": 200.0,
    }
    for h in range(2):
        base[f"prev_L0H{h}"] = 0.4 if h == 0 else 0.1
        base[f"ind_L1H{h}"] = 0.9 if h == 1 else 0.2
        base[f"prev_L1H{h}"] = base[f"ind_L0H{h}"] = 0.0
    a = {x.id: x for x in mod.build_questions(base, 2, 2)}
    flipped = dict(base, prev_head=1.0, **{"prev_L0H0": 0.1, "prev_L0H1": 0.4}, drop_prev_ablation=0.3)
    b = {x.id: x for x in mod.build_questions(flipped, 2, 2)}
    assert a["prev-token-head"].correct == ("L0H0",) and b["prev-token-head"].correct == ("L0H1",)
    assert a["ablate-prev"].correct == 2 and b["ablate-prev"].correct == 1
    assert "0.40" in a["prev-token-head"].explanation


@pytest.mark.slow
def test_induction_other_seed_keys_follow(small_result):
    r1 = small_result("induction-heads", seed=0)
    r2 = small_result("induction-heads", seed=1)
    for r in (r1, r2):  # each run's key is its own argmax, whatever it is
        m = r.metrics
        best = max(range(3), key=lambda h: m[f"prev_L0H{h}"])
        assert q(r, "prev-token-head").correct == (f"L0H{best}",)
    assert r1.metrics["loss_drop"] != r2.metrics["loss_drop"]


@pytest.mark.slow
def test_activation_patching_matches_transformer_lens(small_result):
    r = small_result("activation-patching")
    m = r.metrics
    assert m["max_abs_diff"] <= 1e-4
    assert m["top_head_layer"] == 1.0  # the induction head moves B/D to the end
    assert m["resid_bpos_last_layer"] > 0.9 and abs(m["resid_end_last_layer"]) < 0.1
    assert m["ld_clean"] > 0 > m["ld_corrupt"]
    assert q(r, "agreement").correct == 0


@pytest.mark.slow
def test_attribution_patching_correlates(small_result):
    r = small_result("attribution-patching")
    m = r.metrics
    assert m["pearson_heads"] >= 0.9
    assert q(r, "pearson-heads").grade(f"{m['pearson_heads']:.3f}").correct
    assert q(r, "worst-place").correct == (0 if m["worst_is_resid"] else 1)


@pytest.mark.slow
def test_model_cache_roundtrip(torch, tmp_path):
    from mi_prep.lab.api import LabContext
    from mi_prep.lab.models import cached, make_model, train_lm

    ctx = LabContext(seed=0, device="cpu", params={}, cache_dir=tmp_path)

    def build():
        return make_model(
            n_layers=1, d_model=16, n_heads=2, d_head=8, d_vocab=10, n_ctx=8, d_mlp=32, seed=0, device="cpu"
        )

    def train(m):
        return train_lm(
            m, lambda s, g: torch.randint(0, 10, (4, 8), generator=g), steps=5, lr=1e-3, ctx=ctx, log_every=2
        )

    before = torch.random.get_rng_state()
    m1, l1, c1 = cached(ctx, "tiny-seed0", build, train)
    m2, l2, c2 = cached(ctx, "tiny-seed0", build, train)
    assert not c1 and c2 and l1 == l2 and len(l1) == 3
    x = torch.arange(8)[None]
    assert torch.allclose(m1(x), m2(x))
    assert torch.equal(before, torch.random.get_rng_state())  # no global seed leaks
    assert (tmp_path / "tiny-seed0.safetensors").exists() and (tmp_path / "tiny-seed0.json").exists()


@pytest.mark.slow
def test_cli_run_answers_from_pipe_and_saves(small_result, lab_cache, tmp_path, monkeypatch):
    from mi_prep.cli import main
    from mi_prep.context import AppContext
    from mi_prep.lab import history

    r = small_result("induction-heads")  # warms the cache the CLI reads
    monkeypatch.setattr("mi_prep.lab.models.default_cache_dir", lambda: lab_cache)
    prev = f"L0H{int(r.metrics['prev_head'])}"
    out = io.StringIO()
    app = AppContext(
        tmp_path / "data",
        [],
        stdin=io.StringIO(f"{prev}\n"),
        stdout=out,
        clock=lambda: datetime(2026, 1, 2, tzinfo=UTC),
    )
    rc = main(["--data-dir", str(tmp_path / "data"), "lab", "run", "induction-heads", "--small"], app=app)
    text = out.getvalue()
    assert rc == 0, text
    assert "Causal check" in text and "Correct." in text and "end of input" in text and "Score: 100%" in text
    runs = history.runs(app.store, "induction-heads")
    assert runs and runs[0].status == "done" and runs[0].score == 1.0
    out2 = io.StringIO()
    app2 = AppContext(tmp_path / "data", [], stdin=io.StringIO(""), stdout=out2)
    assert main(["--data-dir", str(tmp_path / "data"), "lab", "list"], app=app2) == 0
    assert "induction-heads" in out2.getvalue() and "mastery" in out2.getvalue()
