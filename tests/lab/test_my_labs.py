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
    # layer 0 out of the induction head's keys kills it; the head removed from the keys that hurts most is accepted
    assert m["ind_score"] > 0.5 and m["left_k"] < 0.5 * m["left_q"]
    assert m["loss_drop"] > 1.0
    prev = f"L0H{int(m['prev_head'])}"
    assert q(r, "prev-token-head").grade(prev).correct
    assert q(r, "heads-needed").grade(str(int(m["heads_needed"]))).correct
    assert q(r, "loss-drop").grade(f"{m['loss_drop']:.3f}").correct
    kinds = {b.kind for b in r.blocks}
    assert {"heatmap", "line", "table", "text", "scatter"} <= kinds


def test_induction_keys_follow_the_numbers():
    mod = registry.module_of("induction-heads")
    base = {
        "prev_head": 0.0,
        "ind_head": 1.0,
        "keys_head": 0.0,
        "heads_needed": 1.0,
        "heads_needed_reached": 1.0,
        "loss_first": 3.9,
        "loss_repeat": 0.1,
        "loss_drop": 3.8,
        "loss_drop_sd": 0.02,
        "loss_uniform": 3.85,
        "loss_context_set": 2.8,
        "plateau_loss": 3.4,
        "phase_change_step": 200.0,
        "phase_change_sd": 8.0,
        "final_loss": 1.1,
        "rep_over_first_sd_k": 0.05,
        "ov_copying": 0.99,
        "ov_top1": 0.95,
        "best_left_1": 0.3,
        "best_left_sd_1": 0.02,
        "best_left_2": 0.1,
        "best_left_sd_2": 0.01,
    }
    for x, left, rep in (("q", 1.0, 0.1), ("k", 0.1, 5.0), ("v", 1.0, 0.1), ("qkv", 0.1, 5.0)):
        base[f"left_{x}"], base[f"rep_loss_{x}"] = left, rep
    for h in range(2):
        base[f"prev_need_L0H{h}"] = 0.8 if h == 0 else 0.2
        base[f"prev_L0H{h}"] = 0.3 if h == 0 else 0.1
        base[f"prev_ok_L0H{h}"] = float(h == 0)
        base[f"keys_ok_L0H{h}"] = float(h == 0)
        base[f"kleft_L0H{h}"] = 0.3 if h == 0 else 0.9
        base[f"ov_copying_L1H{h}"] = 0.99
    a = {x.id: x for x in mod.build_questions(base, 2, 2)}
    flipped = dict(base, prev_head=1.0, keys_head=1.0, best_left_1=0.6, heads_needed=2.0, ov_copying=-0.9)
    flipped.update(prev_ok_L0H0=0.0, prev_ok_L0H1=1.0, keys_ok_L0H0=0.0, keys_ok_L0H1=1.0)
    b = {x.id: x for x in mod.build_questions(flipped, 2, 2)}
    assert a["prev-token-head"].correct == ("L0H0",) and b["prev-token-head"].correct == ("L0H1",)
    assert a["heads-needed"].correct == ("1",) and b["heads-needed"].correct == ("2",)
    assert (
        a["kqv"].correct == 2
        and a["phase-change"].correct == 1
        and a["ov-sign"].correct == 0
        and b["ov-sign"].correct == 1
    )
    assert "0.80" in a["prev-token-head"].explanation


@pytest.mark.slow
def test_induction_other_seed_keys_follow(small_result):
    r1 = small_result("induction-heads", seed=0)
    r2 = small_result("induction-heads", seed=1)
    for r in (r1, r2):  # each run's key is its own argmax on the first copy, whatever it is
        m = r.metrics
        best = max(range(3), key=lambda h: m[f"prev_need_L0H{h}"])
        assert f"L0H{best}" in q(r, "prev-token-head").correct
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
    assert q(r, "value-slope").grade(f"{m['slope_value']:.3f}").correct
    assert q(r, "ln-frozen").grade(f"{m['top_frozen']:.3f}").correct


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
    assert "Correct." in text and "end of input" in text and "Score: 100%" in text
    # the answer to Q1 reveals its data; what later questions reveal stays hidden (they were not answered)
    assert text.index("Q1/") < text.index("Per-head attention scores")
    later = [b.title for b in r.blocks if b.after and b.after != r.questions[0].id]
    assert later and not any(f"== {t} ==" in text for t in later)
    runs = history.runs(app.store, "induction-heads")
    assert runs and runs[0].status == "done" and runs[0].score == 1.0
    out2 = io.StringIO()
    app2 = AppContext(tmp_path / "data", [], stdin=io.StringIO(""), stdout=out2)
    assert main(["--data-dir", str(tmp_path / "data"), "lab", "list"], app=app2) == 0
    assert "induction-heads" in out2.getvalue() and "mastery" in out2.getvalue()
