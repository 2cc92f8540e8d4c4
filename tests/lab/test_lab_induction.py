"""The induction-heads lab's science at seeds 0-4 (small settings): K-composition, the previous-token
score where it matters, the OV copying score, and a circuit story that follows the run's numbers."""

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
    assert _q(small_result(NAME, seed), "kqv").correct == 1


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
    # the keys follow the causal measurement: the head whose removal from the keys hurts most is accepted
    assert _q(r, "keys-head").grade(f"L0H{kleft.index(min(kleft))}").correct
    # the plateau before the phase change is not explained by frequencies alone
    assert m["plateau_loss"] < m["loss_uniform"] - 0.1
    assert _q(r, "plateau").correct == 1


def test_keys_differ_across_seeds(small_result):
    runs = [small_result(NAME, s) for s in SEEDS]
    assert len({_q(r, "prev-token-head").correct for r in runs}) > 1
    assert len({_q(r, "keys-head").correct for r in runs}) > 1
