"""The induction task: a small attention-only transformer trained on repeated random tokens.

Shared by the induction-heads, activation-patching and attribution-patching labs: their ``Params``
extend :class:`InductionSpec`, so the model's defaults live here only, and :func:`induction_model`
trains one cached model per (spec, seed).

    spec = InductionSpec()                                   # or the lab's Params (a subclass)
    model, losses, was_cached = induction_model(ctx, spec)
    tokens, period = repeated_tokens(64, generator, **spec.data())
    loss_first, loss_repeat = split_losses(model(tokens), tokens, period)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pydantic import Field, model_validator

from mi_prep.lab.api import LabContext, LabParams

if TYPE_CHECKING:  # pragma: no cover
    import torch
    from transformer_lens.model_bridge.bridge import TransformerBridge


class InductionSpec(LabParams):
    """Model shape and training of the induction model (every field is part of the cache key)."""

    n_layers: int = Field(2, ge=1, description="layers (an induction circuit needs two)")
    d_model: int = Field(64, gt=0)
    n_heads: int = Field(3, ge=1)
    d_head: int = Field(16, gt=0)
    d_vocab: int = Field(48, ge=4, description="token 0 is BOS")
    n_ctx: int = Field(40, ge=4)
    batch: int = Field(32, gt=0)
    steps: int = Field(600, gt=0)
    lr: float = Field(2e-3, gt=0)
    min_period: int = Field(6, ge=1, description="shortest repeated prefix")
    max_period: int = Field(16, ge=1, description="longest repeated prefix")

    @model_validator(mode="after")
    def _periods_fit(self) -> InductionSpec:
        if self.min_period > self.max_period:
            raise ValueError(f"min_period ({self.min_period}) must not exceed max_period ({self.max_period})")
        if self.max_period > self.d_vocab - 1:
            raise ValueError(
                f"max_period ({self.max_period}) needs that many distinct tokens: at most d_vocab - 1 "
                f"({self.d_vocab - 1})"
            )
        return self

    def data(self) -> dict[str, int]:
        """Keyword arguments of :func:`repeated_tokens` for the training distribution."""
        return dict(d_vocab=self.d_vocab, n_ctx=self.n_ctx, min_period=self.min_period, max_period=self.max_period)

    def cache_key(self, seed: int) -> str:
        """``induction-n_layers2-d_model64-...-seed0``: every spec field and the seed."""
        from mi_prep.lab.models import param_key

        names = InductionSpec.field_names()
        return param_key("induction", {n: getattr(self, n) for n in names}, names, seed)


INDUCTION_SMALL: dict[str, Any] = {"steps": 400}
"""The spec's overrides for fast runs (a lab's ``small`` starts from these)."""


def repeated_tokens(
    n: int, generator: torch.Generator, *, d_vocab: int, n_ctx: int, min_period: int, max_period: int
) -> tuple[torch.Tensor, torch.Tensor]:
    """``(tokens[n, n_ctx], period[n])``: BOS (token 0), then a prefix of ``period`` distinct random tokens
    repeated until the context is full. The period is random per sequence, so position alone
    cannot tell layer 0 where the previous copy is: the model has to learn induction."""
    import torch

    period = torch.randint(min_period, max_period + 1, (n, 1), generator=generator)
    perm = torch.rand(n, d_vocab - 1, generator=generator).argsort(-1) + 1
    body = perm.gather(1, torch.arange(n_ctx - 1)[None] % period)
    return torch.cat([torch.zeros(n, 1, dtype=torch.long), body], 1), period[:, 0]


def induction_model(ctx: LabContext, spec: InductionSpec) -> tuple[TransformerBridge, list[float], bool]:
    """The cached attention-only model trained on :func:`repeated_tokens` (only the
    :class:`InductionSpec` fields of ``spec`` matter). Returns ``(model, loss_curve, was_cached)``."""
    from mi_prep.lab.models import cached, make_model, train_lm

    data = spec.data()

    def build():
        return make_model(
            n_layers=spec.n_layers,
            d_model=spec.d_model,
            n_heads=spec.n_heads,
            d_head=spec.d_head,
            d_vocab=spec.d_vocab,
            n_ctx=spec.n_ctx,
            attn_only=True,
            seed=ctx.seed,
            device=ctx.device,
        )

    def train(model):
        return train_lm(
            model,
            lambda step, g: repeated_tokens(spec.batch, g, **data)[0],
            steps=spec.steps,
            lr=spec.lr,
            ctx=ctx,
            log_every=10,
            cosine=False,
        )

    return cached(ctx, spec.cache_key(ctx.seed), build, train)


def split_losses(logits, tokens, period) -> tuple[float, float]:
    """Mean next-token loss on the first copy (unpredictable) and on the repeats (predictable) of
    :func:`repeated_tokens` with periods ``period``."""
    import torch

    from mi_prep.lab.models import lm_loss

    per = lm_loss(logits, tokens, reduction="none")  # [b, t-1]; column q predicts token q+1
    q = torch.arange(per.shape[1], device=tokens.device)[None]
    first = q < period[:, None]
    return float(per[first].mean()), float(per[~first].mean())


# --------------------------------------------------------------------------- clean / corrupted pairs


class PatchingSpec(InductionSpec):
    """The induction model plus the clean/corrupted prompt pairs of the patching labs."""

    n_pairs: int = Field(32, gt=0, description="prompt pairs per batch")
    period: int = Field(10, ge=2, description="random tokens before the repeat")
    query_index: int = Field(5, ge=0, description="the prompt ends on the copy of this prefix token (A)")

    @model_validator(mode="after")
    def _pairs_fit(self) -> PatchingSpec:
        if self.query_index >= self.period - 1:
            raise ValueError(f"query_index ({self.query_index}) must be below period - 1 ({self.period - 1})")
        if self.period > self.d_vocab - 2:
            raise ValueError(
                f"period ({self.period}) needs a distractor token too: at most d_vocab - 2 ({self.d_vocab - 2})"
            )
        if 1 + self.period + self.query_index + 1 > self.n_ctx:
            raise ValueError(f"prompts of {2 + self.period + self.query_index} tokens do not fit n_ctx ({self.n_ctx})")
        return self


PATCHING_SMALL: dict[str, Any] = {**INDUCTION_SMALL, "n_pairs": 16}


def patching_pairs(n: int, generator: torch.Generator, *, d_vocab: int, period: int, query_index: int):
    """``(clean, corrupt, answer, wrong, info)``: tokens [n, 1+P+j+1]; answer B / wrong D per row.

    Clean = BOS, P random tokens, then the first j+1 of them again (ends on A, whose earlier copy is
    followed by B). Corrupt = the same with that earlier B replaced by a token D not in the prompt.
    ``info``: positions (``b_pos``, ``a_pos``, ``end``) and token ``labels`` for plots."""
    import torch

    P, j = int(period), int(query_index)
    perm = torch.rand(n, d_vocab - 1, generator=generator).argsort(-1) + 1
    prefix, distract = perm[:, :P], perm[:, P]
    bos = torch.zeros(n, 1, dtype=torch.long)
    clean = torch.cat([bos, prefix, prefix[:, : j + 1]], 1)
    corrupt = clean.clone()
    b_pos = 1 + j + 1
    corrupt[:, b_pos] = distract
    labels = ["BOS"] + [f"t{i}" for i in range(1, P + 1)] + [f"t{i}'" for i in range(1, j + 2)]
    labels[1 + j] = "A"
    labels[b_pos] = "B/D*"
    labels[-1] = "A (end)"
    info = {"b_pos": b_pos, "a_pos": 1 + j, "end": clean.shape[1] - 1, "labels": labels}
    return clean, corrupt, prefix[:, j + 1], distract, info
