"""Batched activation patching, shared by the activation- and attribution-patching labs.

The metric is the normalised logit difference on clean/corrupted prompt pairs
(:mod:`mi_prep.lab.tasks.induction_patching`: a value-side and a key-side corruption of the induction
circuit): logit(B) - logit(D) at the last position, scaled so the corrupted run is 0 and the clean run
is 1. :func:`batched_patch` patches many activations in few forwards (copy k of the corrupted batch gets
patch k), residual-stream and head-output patches from their layer and position on
(:mod:`mi_prep.lab.patching_fast`), others with hooks on whole forwards; :func:`sweeps` runs several
sweeps in one call. :func:`tl_patching_reference` and :func:`loop_reference` compute the same numbers
one patch per forward, for comparison (bench/patching.py times them side by side).

    out = run_patching(model, spec, seed, device)          # data, then per corruption: metric, sweeps
    out["value"]["heads"], out["key"]["heads_ex"]           # [n_layers, n_heads], [n_layers, n_heads, n]
"""

from __future__ import annotations

import time
from typing import Any

from mi_prep.lab.tasks.induction import PatchingSpec

# --------------------------------------------------------------------------- metric


def logit_diff(logits, answer, wrong):
    """Per-example logit(answer) - logit(wrong) at the last position."""
    last = logits[:, -1]
    return last.gather(1, answer[:, None])[:, 0] - last.gather(1, wrong[:, None])[:, 0]


class Metric:
    """Normalised logit difference: 0 = corrupted run, 1 = clean run (mean over the batch)."""

    def __init__(self, answer, wrong, ld_clean: float, ld_corrupt: float):
        self.answer, self.wrong = answer, wrong
        self.ld_clean, self.ld_corrupt = ld_clean, ld_corrupt

    def per_example(self, logits):
        reps = logits.shape[0] // self.answer.shape[0]  # batched patching: K copies of the batch
        answer, wrong = (self.answer, self.wrong) if reps == 1 else (self.answer.repeat(reps), self.wrong.repeat(reps))
        return (logit_diff(logits, answer, wrong) - self.ld_corrupt) / (self.ld_clean - self.ld_corrupt)

    def __call__(self, logits):
        return self.per_example(logits).mean()


def setup(model, clean, corrupt, answer, wrong):
    """``(metric, clean_cache)``: the metric normalised by this model's clean and corrupted runs."""
    import torch

    with torch.no_grad():
        clean_logits, clean_cache = model.run_with_cache(clean)
        corrupt_logits = model(corrupt)
    ld_clean = float(logit_diff(clean_logits, answer, wrong).mean())
    ld_corrupt = float(logit_diff(corrupt_logits, answer, wrong).mean())
    return Metric(answer, wrong, ld_clean, ld_corrupt), clean_cache


# --------------------------------------------------------------------------- batched patching


_PER_POSITION_AFTER_ATTN = (
    "attn.hook_z",
    "attn.hook_result",
    "hook_attn_out",
    "hook_resid_mid",
    "hook_mlp_out",
    "hook_resid_post",
    "mlp.",
)


def reaches_last(name: str, index: tuple, n_layers: int, T: int) -> bool:
    """Can patching ``name`` at ``index`` change the last position's logits?

    In the last block, everything after the attention pattern has mixed positions (z, head results,
    attention output, MLP, residual) is computed position by position, and so is the unembedding:
    an activation there at a position other than the last never reaches the last position's logits."""
    if not name.startswith(f"blocks.{n_layers - 1}.") or not any(k in name for k in _PER_POSITION_AFTER_ATTN):
        return True
    pos = index[0] if index else slice(None)
    return not isinstance(pos, int) or pos % T == T - 1


def batched_patch(
    model,
    corrupt,
    clean_acts: dict[str, Any],
    patches: list[tuple[str, Any]],
    metric: Metric,
    max_batch: int = 1024,
    corrupt_acts: dict[str, Any] | None = None,
    per_example: bool = False,
    *,
    fast: bool = True,
):
    """Patch many things in few forwards. ``patches[k] = (hook_name, index)`` where ``index`` indexes the
    activation after the batch dim (e.g. ``(pos,)`` for resid, ``(slice(None), head)`` for a head's z
    at all positions, ``(pos, head)``). Copy k of the corrupted batch gets patch k. Returns a tensor [K]
    (the metric's batch mean), or [K, n] (one value per prompt pair) with ``per_example``.

    With ``fast`` (the default), residual-stream (``hook_resid_pre``) and head-output (``attn.hook_z``)
    patches on a TL-native model run from their layer and position on
    (:class:`~mi_prep.lab.patching_fast.SuffixPatcher`); other patches, and models it does not cover,
    run whole forwards with hooks. Both compute every patch, to the same numbers.

    With ``corrupt_acts`` (the corrupted run's cache), patches that provably cannot change the metric are
    no-ops: they get the unpatched corrupted metric without a forward pass. Two kinds, both exact:

    * the clean and corrupted activations are identical (e.g. positions before the corruption);
    * the patch cannot reach the last position, which is all the metric reads (see :func:`reaches_last`)."""
    import torch

    from mi_prep.lab.patching_fast import SuffixPatcher, split_name

    n, T = corrupt.shape
    values = torch.empty(len(patches), n)
    todo = list(range(len(patches)))
    if corrupt_acts is not None:
        with torch.no_grad():
            base = metric.per_example(model(corrupt)).cpu()
        todo = []
        for k, (name, index) in enumerate(patches):
            idx = (slice(None), *(index if isinstance(index, tuple) else (index,)))
            if not reaches_last(name, idx[1:], model.cfg.n_layers, T) or torch.equal(
                clean_acts[name][idx], corrupt_acts[name][idx]
            ):
                values[k] = base
            else:
                todo.append(k)
    quick = [k for k in todo if fast and split_name(patches[k][0]) is not None]
    patcher = SuffixPatcher.build(model, corrupt) if quick else None
    if patcher is not None:
        values[quick] = patcher.run(clean_acts, [patches[k] for k in quick], metric, max_batch)
        todo = sorted(set(todo) - set(quick))
    if todo:
        values[todo] = hook_patch(model, corrupt, clean_acts, [patches[k] for k in todo], metric, max_batch)
    return values if per_example else values.mean(1)


def hook_patch(
    model, corrupt, clean_acts: dict[str, Any], patches: list[tuple[str, Any]], metric: Metric, max_batch: int
):
    """``[K, n]``: every patch with a hook on a whole forward, ``max_batch`` rows per forward (copy k of
    the corrupted batch gets patch k)."""
    import torch

    n = corrupt.shape[0]
    per = max(1, max_batch // n)
    out = []
    for start in range(0, len(patches), per):
        chunk = patches[start : start + per]
        by_hook: dict[str, list[tuple[int, Any]]] = {}
        for k, (name, index) in enumerate(chunk):
            by_hook.setdefault(name, []).append((k, index))
        hooks = []
        for name, items in by_hook.items():
            clean = clean_acts[name]

            def hook(act, hook, items=items, clean=clean):
                act = act.clone()
                for k, index in items:
                    idx = index if isinstance(index, tuple) else (index,)
                    act[(slice(k * n, (k + 1) * n), *idx)] = clean[(slice(None), *idx)]
                return act

            hooks.append((name, hook))
        with torch.no_grad():
            logits = model.run_with_hooks(corrupt.repeat(len(chunk), 1), fwd_hooks=hooks)
        out.append(metric.per_example(logits).reshape(len(chunk), n).cpu())
    return torch.cat(out)


def resid_patches(n_layers: int, T: int) -> list[tuple[str, Any]]:
    return [(f"blocks.{l}.hook_resid_pre", (p,)) for l in range(n_layers) for p in range(T)]


def head_patches(n_layers: int, n_heads: int) -> list[tuple[str, Any]]:
    return [(f"blocks.{l}.attn.hook_z", (slice(None), h)) for l in range(n_layers) for h in range(n_heads)]


def head_pos_patches(n_layers: int, n_heads: int, T: int) -> list[tuple[str, Any]]:
    return [(f"blocks.{l}.attn.hook_z", (p, h)) for l in range(n_layers) for h in range(n_heads) for p in range(T)]


def layer_patches(n_layers: int) -> list[tuple[str, Any]]:
    """Every head of a layer at once (the layer's whole z, all positions)."""
    return [(f"blocks.{l}.attn.hook_z", (slice(None), slice(None))) for l in range(n_layers)]


def _sweep(model, corrupt, cache, metric, patches, shape, corrupt_cache, per_example):
    vals = batched_patch(model, corrupt, cache, patches, metric, corrupt_acts=corrupt_cache, per_example=per_example)
    return vals.reshape(*shape, corrupt.shape[0]) if per_example else vals.reshape(*shape)


def patch_resid(model, corrupt, cache, metric, n_layers: int, corrupt_cache=None, *, per_example: bool = False):
    """``[n_layers, T]``: resid_pre patched at one (layer, position) (``[n_layers, T, n]`` per example)."""
    T = corrupt.shape[1]
    return _sweep(model, corrupt, cache, metric, resid_patches(n_layers, T), (n_layers, T), corrupt_cache, per_example)


def patch_heads(
    model, corrupt, cache, metric, n_layers: int, n_heads: int, corrupt_cache=None, *, per_example: bool = False
):
    """``[n_layers, n_heads]``: one head's output (z) patched at every position."""
    patches = head_patches(n_layers, n_heads)
    return _sweep(model, corrupt, cache, metric, patches, (n_layers, n_heads), corrupt_cache, per_example)


def patch_heads_by_pos(
    model, corrupt, cache, metric, n_layers: int, n_heads: int, corrupt_cache=None, *, per_example: bool = False
):
    """``[n_layers, n_heads, T]``: one head's output patched at one position."""
    T = corrupt.shape[1]
    patches = head_pos_patches(n_layers, n_heads, T)
    return _sweep(model, corrupt, cache, metric, patches, (n_layers, n_heads, T), corrupt_cache, per_example)


def patch_layers(model, corrupt, cache, metric, n_layers: int, corrupt_cache=None, *, per_example: bool = False):
    """``[n_layers]``: every head of one layer patched together (all positions)."""
    return _sweep(model, corrupt, cache, metric, layer_patches(n_layers), (n_layers,), corrupt_cache, per_example)


SWEEPS = ("resid", "heads", "by_pos", "layers")


def sweeps(
    model,
    corrupt,
    cache,
    metric,
    n_layers: int,
    n_heads: int,
    corrupt_cache=None,
    *,
    kinds: tuple[str, ...] = ("resid", "heads", "by_pos"),
    per_example: bool = False,
    fast: bool = True,
) -> dict[str, Any]:
    """Several sweeps in one :func:`batched_patch` call (the forwards are shared): ``resid`` [L, T] as
    :func:`patch_resid`, ``heads`` [L, H], ``by_pos`` [L, H, T], ``layers`` [L] (``kinds``, from
    :data:`SWEEPS`); with ``per_example`` a last dim of n."""
    L, H, (n, T) = n_layers, n_heads, corrupt.shape
    lists = dict(
        resid=(resid_patches(L, T), (L, T)),
        heads=(head_patches(L, H), (L, H)),
        by_pos=(head_pos_patches(L, H, T), (L, H, T)),
        layers=(layer_patches(L), (L,)),
    )
    patches = [patch for kind in kinds for patch in lists[kind][0]]
    vals = batched_patch(
        model, corrupt, cache, patches, metric, corrupt_acts=corrupt_cache, per_example=True, fast=fast
    )
    out, start = {}, 0
    for kind in kinds:
        shape = lists[kind][1]
        part = vals[start : start + len(lists[kind][0])]
        start += len(part)
        out[kind] = part.reshape(*shape, n) if per_example else part.mean(1).reshape(*shape)
    return out


# --------------------------------------------------------------------------- references


def tl_patching_reference(model, corrupt, cache, metric):
    """The same sweeps with ``transformer_lens.patching`` (one forward per patch). Raises if unsupported."""
    import contextlib
    import io

    from transformer_lens import patching

    err = io.StringIO()
    with contextlib.redirect_stderr(err):  # tqdm bars
        resid = patching.get_act_patch_resid_pre(model, corrupt, cache, metric)
        heads = patching.get_act_patch_attn_head_out_all_pos(model, corrupt, cache, metric)
        by_pos = patching.get_act_patch_attn_head_out_by_pos(model, corrupt, cache, metric)  # [layer, pos, head]
    return resid, heads, by_pos.permute(0, 2, 1)


def loop_reference(model, corrupt, cache, metric, patches):
    """One forward per patch with a plain hook (the fallback when transformer_lens.patching fails)."""
    import torch

    vals = []
    for name, index in patches:
        idx = index if isinstance(index, tuple) else (index,)

        def hook(act, hook, idx=idx, name=name):
            act = act.clone()
            act[(slice(None), *idx)] = cache[name][(slice(None), *idx)]
            return act

        with torch.no_grad():
            vals.append(metric(model.run_with_hooks(corrupt, fwd_hooks=[(name, hook)])))
    return torch.stack(vals)


# --------------------------------------------------------------------------- everything a patching lab needs


def sweep_corruption(model, clean, corrupt, answer, wrong, n_layers: int, n_heads: int) -> dict[str, Any]:
    """One corruption's metric and batched sweeps, per prompt pair (``*_ex``, last dim = pair) and
    averaged: ``resid`` [L, T], ``heads`` [L, H], ``by_pos`` [L, H, T], ``layers`` [L] (all heads of a
    layer together); ``t_batched`` is the time the sweeps took."""
    import torch

    metric, cache = setup(model, clean, corrupt, answer, wrong)
    with torch.no_grad():
        model(corrupt)  # warm-up, so timings do not include first-call costs
    t = time.perf_counter()
    with torch.no_grad():
        _, ccache = model.run_with_cache(corrupt)
    L, H = n_layers, n_heads
    out: dict[str, Any] = dict(corrupt=corrupt, metric=metric, cache=cache, corrupt_cache=ccache)
    for k, v in sweeps(model, corrupt, cache, metric, L, H, ccache, per_example=True).items():
        out[f"{k}_ex"] = v
    out["t_batched"] = time.perf_counter() - t
    out["layers_ex"] = patch_layers(model, corrupt, cache, metric, L, ccache, per_example=True)
    for k in SWEEPS:
        out[k] = out[f"{k}_ex"].mean(-1)
    return out


def run_patching(
    model,
    spec: PatchingSpec,
    seed: int,
    dev,
    *,
    reference: bool = True,
    corruptions: tuple[str, ...] = ("value", "key"),
) -> dict[str, Any]:
    """The prompt pairs (:func:`~mi_prep.lab.tasks.induction_patching.induction_patching_pairs`, ending on
    the prefix token the seed picks) and :func:`sweep_corruption` for each of ``corruptions`` (``out["value"]``,
    ``out["key"]``). With ``reference``, the value-side sweeps are recomputed one patch per forward
    (``transformer_lens.patching``): ``ref``, ``t_reference``, ``max_abs_diff``."""
    import torch

    from mi_prep.lab.tasks.induction_patching import induction_patching_pairs, seeded_query_index

    L, H = spec.n_layers, spec.n_heads
    g = torch.Generator().manual_seed(30_000 + seed)
    j = seeded_query_index(spec.query_index, spec.period, seed)
    pairs = induction_patching_pairs(spec.n_pairs, g, d_vocab=spec.d_vocab, period=spec.period, query_index=j)
    clean, answer, wrong = pairs.clean.to(dev), pairs.answer.to(dev), pairs.wrong.to(dev)
    out: dict[str, Any] = dict(pairs=pairs, info=pairs.info, clean=clean, answer=answer, wrong=wrong)
    for c in corruptions:
        out[c] = sweep_corruption(model, clean, pairs.corrupt[c].to(dev), answer, wrong, L, H)
    if reference:
        v = out[corruptions[0]]
        corrupt, cache, metric = v["corrupt"], v["cache"], v["metric"]
        t = time.perf_counter()
        try:
            r, h, bp = tl_patching_reference(model, corrupt, cache, metric)
            out["ref_name"] = "transformer_lens.patching"
        except Exception as exc:  # pragma: no cover - depends on the installed transformer-lens
            out["ref_error"] = f"{type(exc).__name__}: {exc}"
            T = corrupt.shape[1]
            r = loop_reference(model, corrupt, cache, metric, resid_patches(L, T)).reshape(L, T)
            h = loop_reference(model, corrupt, cache, metric, head_patches(L, H)).reshape(L, H)
            bp = loop_reference(model, corrupt, cache, metric, head_pos_patches(L, H, T)).reshape(L, H, T)
            out["ref_name"] = "one-patch-per-forward hook loop"
        out["t_reference"] = time.perf_counter() - t
        out["ref"] = (r, h, bp)
        out["max_abs_diff"] = max(
            float((a.to(b.device) - b).abs().max()) for a, b in zip((r, h, bp), (v["resid"], v["heads"], v["by_pos"]))
        )
    return out
