"""Shared model specs and datasets (mi_prep.lab.tasks): one source of defaults, stable cache keys,
checked parameter combinations, and the datasets' invariants."""

from __future__ import annotations

import pytest

from mi_prep.lab import registry
from mi_prep.lab.api import ParamError
from mi_prep.lab.tasks.induction import INDUCTION_SMALL, InductionSpec, PatchingSpec
from mi_prep.lab.tasks.sentiment import SentimentLMSpec


def test_labs_on_one_model_share_its_defaults():
    spec = InductionSpec()
    users = [lab for lab in registry.discover().values() if issubclass(lab.Params, InductionSpec)]
    assert {lab.name for lab in users} >= {"induction-heads", "activation-patching", "attribution-patching"}
    for lab in users:
        for params in (lab.make_params(), lab.make_params(small=True)):
            # same spec fields -> same cache key -> one trained model for all of them
            assert params.cache_key(0) == InductionSpec(
                **{k: getattr(params, k) for k in spec.field_names()}
            ).cache_key(0)
        assert lab.make_params(small=True).cache_key(3) == InductionSpec(**INDUCTION_SMALL).cache_key(3)


def test_cache_keys_are_unchanged():
    """Keys name the files of models cached by earlier versions: changing them retrains everything."""
    assert InductionSpec().cache_key(0) == (
        "induction-n_layers2-d_model64-n_heads3-d_head16-d_vocab48-n_ctx40-batch32-"
        "steps600-lr0.002-min_period6-max_period16-seed0"
    )
    assert SentimentLMSpec(steps=150).cache_key(1) == (
        "steering-n_layers3-d_model64-n_heads4-d_head16-d_mlp128-n_ctx32-steps150-batch32-lr0.003-seed1"
    )


@pytest.mark.parametrize(
    "bad, message",
    [
        ({"min_period": 20}, "min_period"),
        ({"max_period": 60}, "max_period"),
        ({"query_index": 9}, "query_index"),
        ({"period": 35}, "n_ctx"),
        ({"period": 47}, "distractor"),
    ],
)
def test_patching_spec_rejects_prompts_that_do_not_fit(bad, message):
    from mi_prep.lab.runner import merge_params

    lab = registry.get("activation-patching")
    with pytest.raises(ParamError, match=message):
        merge_params(lab, bad)
    with pytest.raises(ValueError, match=message):
        PatchingSpec(**bad)


def test_repeated_tokens_and_patching_pairs(torch):
    from mi_prep.lab.tasks.induction import patching_pairs, repeated_tokens

    g = torch.Generator().manual_seed(0)
    tokens, period = repeated_tokens(16, g, **InductionSpec().data())
    assert tokens.shape == (16, 40) and (tokens[:, 0] == 0).all() and (tokens[:, 1:] > 0).all()
    for row, p in zip(tokens, period.tolist()):
        assert 6 <= p <= 16 and len(set(row[1 : p + 1].tolist())) == p
        assert (row[1 + p :] == row[1 : len(row) - p]).all()  # a copy of the token p positions earlier
    clean, corrupt, answer, wrong, info = patching_pairs(8, g, d_vocab=48, period=10, query_index=5)
    b = info["b_pos"]
    assert clean.shape == corrupt.shape == (8, 1 + 10 + 6) and info["end"] == 16
    assert (clean != corrupt).sum() == 8 and (clean[:, b] == answer).all() and (corrupt[:, b] == wrong).all()
    assert (clean[:, -1] == clean[:, b - 1]).all()  # the prompt ends on A, whose earlier copy precedes B
    assert not (clean == wrong[:, None]).any()  # D is not in the clean prompt
