"""The induction-heads lab's science at seeds 0-4 (small settings): K-composition, the previous-token
score where it matters (and in the layer-0 patterns shown), the phase change on the repeats, the OV
copying score, and a circuit story that follows the run's numbers."""

from __future__ import annotations

import pytest

from mi_prep.lab.pedagogy import block_text

pytestmark = [pytest.mark.slow, pytest.mark.needs_torch]
SEEDS = range(5)
NAME = "induction-heads"


def _q(result, qid):
    return next(x for x in result.questions if x.id == qid)


@pytest.mark.parametrize("seed", SEEDS)
def test_k_composition(small_result, seed):
    m = small_result(NAME, seed).metrics
    # layer 0 out of the induction head's keys kills its induction; out of queries or values it barely matters
    assert m["left_k"] < 0.3
    assert m["left_q"] > 0.8 and m["left_v"] > 0.95
    assert m["rep_loss_k"] > m["loss_first"] > 5 * max(m["rep_loss_q"], m["rep_loss_v"])
    # without layer 0 in the keys the heads copy from the wrong positions: worse than the unpredictable first copy
    assert _q(small_result(NAME, seed), "kqv").correct == 2


@pytest.mark.parametrize("seed", SEEDS)
def test_ov_copying_and_prev_token_where_it_matters(small_result, seed):
    r = small_result(NAME, seed)
    m = r.metrics
    assert m["ov_copying"] > 0.5 and m["ov_top1"] > 0.5
    assert _q(r, "ov-sign").correct == 0
    prev = f"L0H{int(m['prev_head'])}"
    # on the first copy the previous-token head is clear; averaged over every position it is muddy
    assert m[f"prev_need_{prev}"] > 0.6
    assert m[f"prev_need_{prev}"] > m[f"prev_{prev}"] + 0.2
    assert _q(r, "prev-token-head").grade(prev).correct


@pytest.mark.parametrize("seed", SEEDS)
def test_causal_story_follows_the_numbers(small_result, seed):
    r = small_result(NAME, seed)
    m = r.metrics
    H = 3
    kleft = [m[f"kleft_L0H{h}"] for h in range(H)]
    assert min(kleft) == pytest.approx(m["best_left_1"])
    needed = next((k for k in range(1, H + 1) if m[f"best_left_{k}"] < 0.5), H)
    assert m["heads_needed"] == needed and _q(r, "heads-needed").grade(str(needed)).correct
    story = next(b for b in r.blocks if b.title == "The circuit in this run")
    assert story.after == "heads-needed"
    text = block_text(story)
    if m["best_left_1"] < 0.5:
        assert "One head carries" in text and f"L0H{int(m['keys_head'])}" in text
    else:
        assert "The job is shared" in text and f"it takes {needed} heads" in text
    # the head whose removal from the keys hurts most is named in the heads-needed explanation
    assert f"L0H{kleft.index(min(kleft))}" in _q(r, "heads-needed").explanation.split("Best subsets")[0]
    # the plateau before the phase change is not explained by frequencies alone
    assert m["plateau_loss"] < m["loss_uniform"] - 0.1
    assert _q(r, "plateau").correct == 1


def test_keys_differ_across_seeds(small_result):
    runs = [small_result(NAME, s) for s in SEEDS]
    assert len({_q(r, "prev-token-head").correct for r in runs}) > 1
    assert len({_q(r, "heads-needed").correct for r in runs}) > 1


@pytest.mark.parametrize("seed", SEEDS)
def test_layer0_patterns_shown_support_the_key(small_result, seed):
    r = small_result(NAME, seed)
    m = r.metrics
    b = next(b for b in r.blocks if b.title.startswith("Attention patterns of layer 0"))
    assert not b.after  # the data is shown before the question; the score table only after it
    assert next(b for b in r.blocks if b.title == "Per-head attention scores").after == "prev-token-head"
    n = len(b.col_labels)
    period = (n - 1) // 2
    # the example's previous-token attention on the first copy, per head: highest for an accepted head
    ex = [sum(b.values[h * n + q][q - 1] for q in range(2, period + 1)) / (period - 1) for h in range(3)]
    assert _q(r, "prev-token-head").grade(f"L0H{ex.index(max(ex))}").correct
    # the phase change is on the repeats: the first copy ends at the uniform guess, the repeats far below the plateau
    assert m["loss_first"] > m["loss_uniform"] - 0.1 and m["loss_repeat"] < m["plateau_loss"] - 2
    assert _q(r, "phase-change").correct == 1
