"""Batched activation patching, shared by the activation- and attribution-patching labs.

The metric is the normalised logit difference on clean/corrupted prompt pairs
(:func:`mi_prep.lab.tasks.induction.patching_pairs`): logit(B) - logit(D) at the last position, scaled
so the corrupted run is 0 and the clean run is 1. :func:`batched_patch` patches many activations in
few forwards (copy k of the corrupted batch gets patch k); :func:`tl_patching_reference` and
:func:`loop_reference` compute the same numbers one patch per forward, for comparison.

    sweep = run_patching(model, spec, seed, device)        # data, metric, resid / head sweeps
    sweep["heads"]                                         # [n_layers, n_heads]
"""

from __future__ import annotations

import time
from typing import Any

from mi_prep.lab.tasks.induction import PatchingSpec, patching_pairs

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
):
    """Patch many things in few forwards. ``patches[k] = (hook_name, index)`` where ``index`` indexes the
    activation after the batch dim (e.g. ``(pos,)`` for resid, ``(slice(None), head)`` for a head's z
    at all positions, ``(pos, head)``). Copy k of the corrupted batch gets patch k. Returns a tensor [K].

    With ``corrupt_acts`` (the corrupted run's cache), patches that provably cannot change the metric are
    no-ops: they get the unpatched corrupted metric without a forward pass. Two kinds, both exact:

    * the clean and corrupted activations are identical (e.g. positions before the corruption);
    * the patch cannot reach the last position, which is all the metric reads (see :func:`reaches_last`)."""
    import torch

    n, T = corrupt.shape
    per = max(1, max_batch // n)
    values = torch.empty(len(patches))
    todo = list(range(len(patches)))
    if corrupt_acts is not None:
        with torch.no_grad():
            base = float(metric(model(corrupt)))
        todo = []
        for k, (name, index) in enumerate(patches):
            idx = (slice(None), *(index if isinstance(index, tuple) else (index,)))
            if not reaches_last(name, idx[1:], model.cfg.n_layers, T) or torch.equal(
                clean_acts[name][idx], corrupt_acts[name][idx]
            ):
                values[k] = base
            else:
                todo.append(k)
    out = []
    for start in range(0, len(todo), per):
        chunk = [patches[k] for k in todo[start : start + per]]
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
        vals = metric.per_example(logits).reshape(len(chunk), n).mean(1)
        out.append(vals.cpu())
    if todo:
        values[todo] = torch.cat(out)
    return values


def resid_patches(n_layers: int, T: int) -> list[tuple[str, Any]]:
    return [(f"blocks.{l}.hook_resid_pre", (p,)) for l in range(n_layers) for p in range(T)]


def head_patches(n_layers: int, n_heads: int) -> list[tuple[str, Any]]:
    return [(f"blocks.{l}.attn.hook_z", (slice(None), h)) for l in range(n_layers) for h in range(n_heads)]


def head_pos_patches(n_layers: int, n_heads: int, T: int) -> list[tuple[str, Any]]:
    return [(f"blocks.{l}.attn.hook_z", (p, h)) for l in range(n_layers) for h in range(n_heads) for p in range(T)]


def patch_resid(model, corrupt, cache, metric, n_layers: int, corrupt_cache=None):
    """``[n_layers, T]``: resid_pre patched at one (layer, position)."""
    T = corrupt.shape[1]
    patches = resid_patches(n_layers, T)
    return batched_patch(model, corrupt, cache, patches, metric, corrupt_acts=corrupt_cache).reshape(n_layers, T)


def patch_heads(model, corrupt, cache, metric, n_layers: int, n_heads: int, corrupt_cache=None):
    """``[n_layers, n_heads]``: one head's output (z) patched at every position."""
    patches = head_patches(n_layers, n_heads)
    return batched_patch(model, corrupt, cache, patches, metric, corrupt_acts=corrupt_cache).reshape(n_layers, n_heads)


def patch_heads_by_pos(model, corrupt, cache, metric, n_layers: int, n_heads: int, corrupt_cache=None):
    """``[n_layers, n_heads, T]``: one head's output patched at one position."""
    T = corrupt.shape[1]
    patches = head_pos_patches(n_layers, n_heads, T)
    return batched_patch(model, corrupt, cache, patches, metric, corrupt_acts=corrupt_cache).reshape(
        n_layers, n_heads, T
    )


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


def run_patching(model, spec: PatchingSpec, seed: int, dev, *, reference: bool = True) -> dict[str, Any]:
    """Data, metric and the batched sweeps (resid, heads, heads x positions) on ``spec``'s prompt pairs;
    with ``reference`` also the one-patch-per-forward reference, its timing and the max difference."""
    import torch

    L, H = spec.n_layers, spec.n_heads
    g = torch.Generator().manual_seed(30_000 + seed)
    clean, corrupt, answer, wrong, info = patching_pairs(
        spec.n_pairs, g, d_vocab=spec.d_vocab, period=spec.period, query_index=spec.query_index
    )
    clean, corrupt, answer, wrong = clean.to(dev), corrupt.to(dev), answer.to(dev), wrong.to(dev)
    metric, cache = setup(model, clean, corrupt, answer, wrong)
    out: dict[str, Any] = dict(
        clean=clean, corrupt=corrupt, answer=answer, wrong=wrong, info=info, metric=metric, cache=cache
    )
    with torch.no_grad():
        model(corrupt)  # warm-up, so neither method pays first-call costs
    t = time.perf_counter()
    with torch.no_grad():
        _, ccache = model.run_with_cache(corrupt)
    out["resid"] = patch_resid(model, corrupt, cache, metric, L, ccache)
    out["heads"] = patch_heads(model, corrupt, cache, metric, L, H, ccache)
    out["by_pos"] = patch_heads_by_pos(model, corrupt, cache, metric, L, H, ccache)
    out["t_batched"] = time.perf_counter() - t
    if reference:
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
            float((a.to(b.device) - b).abs().max())
            for a, b in zip((r, h, bp), (out["resid"], out["heads"], out["by_pos"]))
        )
    return out
