"""Attribution patching (gradient x activation difference) and the checks that say where, and why, the
linear estimate misses the exact patching result.

* :func:`attribution`: every resid / head-output / attention-pattern estimate from one corrupted forward
  and one backward (the clean forward is the clean cache), per prompt pair.
* :func:`interpolate`: the exact metric along the straight line from a head's corrupted output to its
  clean output (alpha = 0 .. 1), optionally with the final LayerNorm's scale frozen at the corrupted run's:
  its slope at 0 is what attribution uses, its value at 1 is what activation patching measures.
* :func:`analyse`: all of the above for both corruptions of :func:`mi_prep.lab.patching.run_patching`;
  :func:`scale_story` says in words what the final LayerNorm's scale did along the path;
  :func:`time_both`: attribution vs exact patching, side by side (shown, never graded).
* :func:`patch_patterns`: exact effect of patching one layer's whole attention pattern (all heads), i.e.
  of everything that reaches the metric through where that layer attends.
"""

from __future__ import annotations

import time
from typing import Any

LN_SCALE = "ln_final.hook_scale"


def attribution(model, clean_cache, corrupt, metric, n_layers: int, *, freeze_ln: bool = False) -> dict[str, Any]:
    """Linear estimates of patching each clean activation into the corrupted run, per prompt pair:
    ``resid [L, T, n]``, ``heads [L, H, T, n]`` (z), ``pattern [L, n]`` (a layer's whole pattern).
    ``freeze_ln``: treat the final LayerNorm's scale as a constant in the backward pass."""
    import torch

    acts: dict[str, Any] = {}

    def keeper(name):
        def keep(act, hook):
            act.retain_grad()
            acts[name] = act
            return act

        return keep

    names = [f"blocks.{l}.{k}" for l in range(n_layers) for k in ("hook_resid_pre", "attn.hook_z", "attn.hook_pattern")]
    hooks: list[tuple[str, Any]] = [(name, keeper(name)) for name in names]
    if freeze_ln:
        hooks.append((LN_SCALE, lambda act, hook: act.detach()))
    n = corrupt.shape[0]
    with torch.enable_grad():
        logits = model.run_with_hooks(corrupt, fwd_hooks=hooks)
        m = metric(logits) * n  # the sum over pairs: each pair's gradient is its own metric's
        model.zero_grad(set_to_none=True)
        m.backward()

    def est(name, keep_dims):
        a = acts[name]
        return ((clean_cache[name] - a.detach()) * a.grad).sum(keep_dims).detach()

    resid = torch.stack([est(f"blocks.{l}.hook_resid_pre", -1) for l in range(n_layers)]).permute(0, 2, 1)
    heads = torch.stack([est(f"blocks.{l}.attn.hook_z", -1) for l in range(n_layers)]).permute(0, 3, 2, 1)
    pattern = torch.stack([est(f"blocks.{l}.attn.hook_pattern", (1, 2, 3)) for l in range(n_layers)])
    model.zero_grad(set_to_none=True)
    return dict(resid=resid.cpu(), heads=heads.cpu(), pattern=pattern.cpu())


def interpolate(model, corrupt, clean_cache, corrupt_cache, metric, layer: int, head: int, alphas, *, freeze_ln=False):
    """``(metric [len(alphas), n], scale [len(alphas)])``: the metric with head ``(layer, head)``'s z (all
    positions) set to corrupt + alpha * (clean - corrupt), and the mean final-LayerNorm scale at the last
    position. ``freeze_ln``: the final LayerNorm divides by the corrupted run's scale instead of
    recomputing it (everything after a last-layer head is then linear in alpha)."""
    import torch

    n = corrupt.shape[0]
    name = f"blocks.{layer}.attn.hook_z"
    a = torch.as_tensor(alphas, dtype=clean_cache[name].dtype, device=corrupt.device)
    cz, kz = clean_cache[name][:, :, head], corrupt_cache[name][:, :, head]  # [n, T, d_head]
    mixed = (kz[None] + a[:, None, None, None] * (cz - kz)[None]).reshape(-1, *kz.shape[1:])
    frozen = corrupt_cache[LN_SCALE].repeat(len(a), *([1] * (corrupt_cache[LN_SCALE].dim() - 1)))
    seen: dict[str, Any] = {}

    def set_z(act, hook):
        act = act.clone()
        act[:, :, head] = mixed
        return act

    def scale_hook(act, hook):
        act = frozen if freeze_ln else act
        seen["scale"] = act.detach()
        return act

    with torch.no_grad():
        logits = model.run_with_hooks(corrupt.repeat(len(a), 1), fwd_hooks=[(name, set_z), (LN_SCALE, scale_hook)])
    scale = seen["scale"][:, -1].reshape(len(a), n, -1)[..., 0].mean(1)
    return metric.per_example(logits).reshape(len(a), n).cpu(), scale.cpu()


def patch_patterns(model, corrupt, clean_cache, metric, n_layers: int):
    """``[n_layers, n]``: exact metric with one layer's attention pattern (every head, every query)
    taken from the clean run; the values (what the heads move) stay the corrupted run's."""
    from mi_prep.lab.patching import batched_patch

    patches = [(f"blocks.{l}.attn.hook_pattern", (slice(None),)) for l in range(n_layers)]
    return batched_patch(model, corrupt, clean_cache, patches, metric, per_example=True)


def ln_scale_at_end(cache):
    """``[n]``: the final LayerNorm's scale (root mean square of the centred residual) at the last position."""
    return cache[LN_SCALE][:, -1].reshape(cache[LN_SCALE].shape[0], -1)[:, 0].cpu()


def analyse(model, exact: dict[str, Any], n_layers: int, seed: int, n_alpha: int = 11) -> dict[str, Any]:
    """Attribution vs exact patching for both corruptions of :func:`mi_prep.lab.patching.run_patching`'s
    result ``exact``, with the bootstrap spreads and the checks of where the linearisation misses:

    * value side: slope / r of attribution on exact (heads x positions), the strongest last-layer head's
      path from corrupted to clean output (exact, exact with the final LayerNorm scale frozen, tangent),
      its attribution with that scale frozen, the final LayerNorm scale along the path, and the exact and
      estimated effect of patching each layer's attention pattern;
    * key side: the same slope / r and pattern effects, the layer-0 heads the data rank first, and the
      attention the strongest last-layer head pays to B at the last position, clean vs corrupted."""
    import torch

    from mi_prep.lab import patching_stats as ps

    L = n_layers
    b = exact["info"]["b_pos"]
    out: dict[str, Any] = {}
    for c in ("value", "key"):
        s = exact[c]
        n = s["corrupt"].shape[0]
        idx = ps.boot_indices(n, seed=seed)
        att = attribution(model, s["cache"], s["corrupt"], s["metric"], L)
        ex_x, at_x = s["by_pos_ex"].cpu().reshape(-1, n), att["heads"].reshape(-1, n)
        pat_exact = patch_patterns(model, s["corrupt"], s["cache"], s["metric"], L)
        d: dict[str, Any] = dict(
            attr=att,
            slope=ps.slope(ex_x.mean(-1), at_x.mean(-1)),
            slope_sd=float(ps.boot_slope(ex_x, at_x, idx).std()),
            r_heads=ps.pearson(ex_x.mean(-1), at_x.mean(-1)),
            r_resid=ps.pearson(s["resid"].cpu(), att["resid"].mean(-1)),
            heads_attr=att["heads"].sum(2).mean(-1),  # [L, H]: all positions
            pattern_exact=pat_exact.mean(-1),
            pattern_attr=att["pattern"].mean(-1),
            l0_best=ps.near_best(s["heads_ex"][0].cpu(), idx),
        )
        top = int(s["heads"][L - 1].argmax())
        d["top"] = top
        pat_c = s["cache"][f"blocks.{L - 1}.attn.hook_pattern"][:, top, -1, b]
        pat_k = s["corrupt_cache"][f"blocks.{L - 1}.attn.hook_pattern"][:, top, -1, b]
        d["attn_to_b_clean"], d["attn_to_b_corrupt"] = float(pat_c.mean()), float(pat_k.mean())
        out[c] = d
    v, s = out["value"], exact["value"]
    n = s["corrupt"].shape[0]
    idx = ps.boot_indices(n, seed=seed)
    top = v["top"]
    alphas = torch.linspace(0, 1, n_alpha)
    args = (model, s["corrupt"], s["cache"], s["corrupt_cache"], s["metric"], L - 1, top, alphas)
    curve, scale = interpolate(*args)
    frozen_curve, _ = interpolate(*args, freeze_ln=True)
    frozen = attribution(model, s["cache"], s["corrupt"], s["metric"], L, freeze_ln=True)
    top_frozen_ex = frozen["heads"][L - 1, top].sum(0)  # [n]
    top_attr_ex = v["attr"]["heads"][L - 1, top].sum(0)
    v.update(
        alphas=alphas.tolist(),
        curve=curve.mean(-1).tolist(),
        frozen_curve=frozen_curve.mean(-1).tolist(),
        scale=scale.tolist(),
        top_exact=float(s["heads"][L - 1, top]),
        top_attr=float(top_attr_ex.mean()),
        top_frozen=float(top_frozen_ex.mean()),
        top_frozen_sd=float(ps.boot_sd(top_frozen_ex, idx)),
        top_exact_sd=float(ps.boot_sd(s["heads_ex"][L - 1, top].cpu(), idx)),
    )
    return out


def scale_story(m: dict[str, float]) -> str:
    """What the final LayerNorm's scale does along the path, as this run measured it."""
    c, mid, end = m["scale_corrupt"], m["scale_mid"], m["scale_patched"]
    if mid < min(c, end):
        return (
            f"The scale dips in between: the gradient at alpha = 0 sees only the start of the dip, a shrinking "
            f"residual that would scale up the corrupted run's large logit difference ({m['ld_corrupt']:.1f}), "
            f"so it extrapolates a loss the full patch does not have (the scale ends at {end / c:.0%} of its start)."
        )
    return f"The scale ends at {end / c:.0%} of its start, without a dip in between."


def time_both(model, exact, L: int, H: int, repeats: int, check_cancelled=lambda: None) -> tuple[float, float]:
    """Best-of-``repeats`` seconds, side by side on the value-side pairs, each from the tokens: attribution
    (clean forward + corrupted forward and backward) vs exact batched patching of the same activations
    (clean forward + every resid and heads x positions patch, :func:`mi_prep.lab.patching.sweeps`)."""
    import torch

    from mi_prep.lab import patching

    s, clean = exact["value"], exact["clean"]
    corrupt, metric = s["corrupt"], s["metric"]
    names = {f"blocks.{l}.{k}" for l in range(L) for k in ("hook_resid_pre", "attn.hook_z", "attn.hook_pattern")}
    t_attr = t_act = float("inf")
    for _ in range(repeats):
        check_cancelled()
        t = time.perf_counter()
        with torch.no_grad():
            _, cache = model.run_with_cache(clean, names_filter=lambda name: name in names)
        attribution(model, cache, corrupt, metric, L)
        t_attr = min(t_attr, time.perf_counter() - t)
        t = time.perf_counter()
        with torch.no_grad():
            _, cache = model.run_with_cache(clean, names_filter=lambda name: name in names)
        patching.sweeps(model, corrupt, cache, metric, L, H, kinds=("resid", "by_pos"))
        t_act = min(t_act, time.perf_counter() - t)
    return t_attr, t_act
