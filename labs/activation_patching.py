"""Activation patching on the induction model: clean vs corrupted prompts, normalised logit difference,
patch the residual stream (layer x position) and every head's output, batched into one forward per
sweep, checked against ``transformer_lens.patching`` (one forward per patch) for the same numbers.

Task: clean = BOS, P random tokens, then the first j+1 of them again (ends on A, whose earlier copy is
followed by B). Corrupt = the same with that earlier B replaced by a token D not in the prompt.
Clean predicts B, corrupt predicts D; metric = logit(B) - logit(D), normalised so corrupt = 0, clean = 1.
"""

from __future__ import annotations

import time
from typing import Any

from mi_prep.lab.api import Heatmap, Lab, LabContext, LabResult, Table, Text
from mi_prep.lab.api import FreeText, MultipleChoice, Numeric, PickComponent

PATCH_DEFAULTS: dict[str, Any] = {"n_pairs": 32, "period": 10, "query_index": 5}


def head_name(layer: int, head: int) -> str:
    return f"L{layer}H{head}"


# --------------------------------------------------------------------------- data and metric


def make_pairs(n: int, generator, *, d_vocab: int, period: int, query_index: int):
    """``(clean, corrupt, answer, wrong, info)``: tokens [n, 1+P+j+1]; answer B / wrong D per row."""
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
    import torch

    with torch.no_grad():
        clean_logits, clean_cache = model.run_with_cache(clean)
        corrupt_logits = model(corrupt)
    ld_clean = float(logit_diff(clean_logits, answer, wrong).mean())
    ld_corrupt = float(logit_diff(corrupt_logits, answer, wrong).mean())
    return Metric(answer, wrong, ld_clean, ld_corrupt), clean_cache


# --------------------------------------------------------------------------- batched patching


_PER_POSITION_AFTER_ATTN = ("attn.hook_z", "attn.hook_result", "hook_attn_out", "hook_resid_mid", "hook_mlp_out",
                            "hook_resid_post", "mlp.")


def reaches_last(name: str, index: tuple, n_layers: int, T: int) -> bool:
    """Can patching ``name`` at ``index`` change the last position's logits?

    In the last block, everything after the attention pattern has mixed positions (z, head results,
    attention output, MLP, residual) is computed position by position, and so is the unembedding:
    an activation there at a position other than the last never reaches the last position's logits."""
    if not name.startswith(f"blocks.{n_layers - 1}.") or not any(k in name for k in _PER_POSITION_AFTER_ATTN):
        return True
    pos = index[0] if index else slice(None)
    return not isinstance(pos, int) or pos % T == T - 1


def batched_patch(model, corrupt, clean_acts: dict[str, Any], patches: list[tuple[str, Any]], metric: Metric,
                  max_batch: int = 1024, corrupt_acts: dict[str, Any] | None = None):
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
            if not reaches_last(name, idx[1:], model.cfg.n_layers, T) or torch.equal(clean_acts[name][idx], corrupt_acts[name][idx]):
                values[k] = base
            else:
                todo.append(k)
    out = []
    for start in range(0, len(todo), per):
        chunk = [patches[k] for k in todo[start:start + per]]
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


def patch_resid(model, corrupt, cache, metric, n_layers: int, corrupt_cache=None):
    T = corrupt.shape[1]
    patches = [(f"blocks.{l}.hook_resid_pre", (p,)) for l in range(n_layers) for p in range(T)]
    return batched_patch(model, corrupt, cache, patches, metric, corrupt_acts=corrupt_cache).reshape(n_layers, T)


def patch_heads(model, corrupt, cache, metric, n_layers: int, n_heads: int, corrupt_cache=None):
    patches = [(f"blocks.{l}.attn.hook_z", (slice(None), h)) for l in range(n_layers) for h in range(n_heads)]
    return batched_patch(model, corrupt, cache, patches, metric, corrupt_acts=corrupt_cache).reshape(n_layers, n_heads)


def patch_heads_by_pos(model, corrupt, cache, metric, n_layers: int, n_heads: int, corrupt_cache=None):
    T = corrupt.shape[1]
    patches = [(f"blocks.{l}.attn.hook_z", (p, h)) for l in range(n_layers) for h in range(n_heads) for p in range(T)]
    return batched_patch(model, corrupt, cache, patches, metric, corrupt_acts=corrupt_cache).reshape(n_layers, n_heads, T)


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


def run_patching(model, p: dict[str, Any], seed: int, dev, *, reference: bool = True) -> dict[str, Any]:
    """Everything both patching labs need: data, metric, batched sweeps (+ the reference and timings)."""
    import torch

    L, H = int(p["n_layers"]), int(p["n_heads"])
    g = torch.Generator().manual_seed(30_000 + seed)
    clean, corrupt, answer, wrong, info = make_pairs(int(p["n_pairs"]), g, d_vocab=int(p["d_vocab"]),
                                                    period=int(p["period"]), query_index=int(p["query_index"]))
    clean, corrupt, answer, wrong = clean.to(dev), corrupt.to(dev), answer.to(dev), wrong.to(dev)
    metric, cache = setup(model, clean, corrupt, answer, wrong)
    out: dict[str, Any] = dict(clean=clean, corrupt=corrupt, answer=answer, wrong=wrong, info=info, metric=metric,
                               cache=cache)
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
            r = loop_reference(model, corrupt, cache, metric,
                               [(f"blocks.{l}.hook_resid_pre", (q,)) for l in range(L) for q in range(T)]).reshape(L, T)
            h = loop_reference(model, corrupt, cache, metric,
                               [(f"blocks.{l}.attn.hook_z", (slice(None), hh)) for l in range(L) for hh in range(H)]).reshape(L, H)
            bp = loop_reference(model, corrupt, cache, metric,
                                [(f"blocks.{l}.attn.hook_z", (q, hh)) for l in range(L) for hh in range(H) for q in range(T)]).reshape(L, H, T)
            out["ref_name"] = "one-patch-per-forward hook loop"
        out["t_reference"] = time.perf_counter() - t
        out["ref"] = (r, h, bp)
        out["max_abs_diff"] = max(float((a.to(b.device) - b).abs().max()) for a, b in zip((r, h, bp), (out["resid"], out["heads"], out["by_pos"])))
    return out


# --------------------------------------------------------------------------- the lab


class ActivationPatchingLab(Lab):
    name = "activation-patching"
    title = "Activation patching"
    summary = ("Clean vs corrupted repeated-token prompts on the induction model: patch the residual stream "
               "and every head (batched), compare with transformer_lens.patching.")
    topics = ("patching", "activation-patching", "causal-interventions", "induction-heads", "circuits")
    defaults: dict[str, Any] = {
        "n_layers": 2, "d_model": 64, "n_heads": 3, "d_head": 16, "d_vocab": 48, "n_ctx": 40,
        "batch": 32, "steps": 600, "lr": 2e-3, "min_period": 6, "max_period": 16,
        **PATCH_DEFAULTS, "compare": True,
    }
    small: dict[str, Any] = {"steps": 400, "n_pairs": 16}

    def run(self, ctx: LabContext) -> LabResult:
        from mi_prep.lab.models import induction_model

        p = {**self.defaults, **ctx.params}
        L, H = int(p["n_layers"]), int(p["n_heads"])
        t0 = time.perf_counter()
        model, losses, was_cached = induction_model(ctx, p)
        t_train = time.perf_counter() - t0
        ctx.check_cancelled()
        ctx.progress(0, 2, message="patching")
        t1 = time.perf_counter()
        dev = next(model.parameters()).device
        r = run_patching(model, p, ctx.seed, dev, reference=bool(p["compare"]))
        ctx.progress(1, 2, message="patching")
        info, metric = r["info"], r["metric"]
        resid, heads, by_pos = r["resid"].cpu(), r["heads"].cpu(), r["by_pos"].cpu()
        labels = info["labels"]
        T = len(labels)

        top = max(((l, h) for l in range(L) for h in range(H)), key=lambda lh: float(heads[lh]))
        top_val = float(heads[top])
        top_ok = tuple(head_name(l, h) for l in range(L) for h in range(H) if float(heads[l, h]) >= 0.9 * top_val)
        best_pos_l1 = int(resid[L - 1].argmax())
        best_pos_l0 = int(resid[0].argmax())
        metrics: dict[str, float] = {
            "ld_clean": metric.ld_clean, "ld_corrupt": metric.ld_corrupt,
            "top_head_layer": float(top[0]), "top_head": float(top[1]), "top_head_recovery": top_val,
            "resid_best_pos_last_layer": float(best_pos_l1), "resid_best_pos_layer0": float(best_pos_l0),
            "b_pos": float(info["b_pos"]), "end_pos": float(info["end"]),
            "resid_end_last_layer": float(resid[L - 1, info["end"]]),
            "resid_bpos_last_layer": float(resid[L - 1, info["b_pos"]]),
            "t_batched": r["t_batched"], "was_cached": float(was_cached),
            "n_patches": float(L * T + L * H + L * H * T),
        }
        if "ref" in r:
            metrics.update(t_reference=r["t_reference"], max_abs_diff=r["max_abs_diff"],
                           speedup=r["t_reference"] / max(r["t_batched"], 1e-9))
        for l in range(L):
            for h in range(H):
                metrics[f"head_{head_name(l, h)}"] = float(heads[l, h])

        blocks: list[Any] = [
            Text(title="Setup", body=(
                f"Induction model ({L} layers x {H} heads, {'cached' if was_cached else 'trained now'}). "
                f"{int(p['n_pairs'])} prompt pairs of {T} tokens: BOS, {p['period']} random tokens, then the first "
                f"{int(p['query_index']) + 1} again. Clean: the earlier A is followed by B; corrupt: by D. "
                f"Logit diff B-D: clean {metric.ld_clean:.2f}, corrupt {metric.ld_corrupt:.2f}. "
                "Patched values are normalised: 0 = corrupt, 1 = clean.")),
            Heatmap(title="Patch residual stream (resid_pre) by layer and position", values=resid.tolist(),
                    row_labels=[f"L{l}" for l in range(L)], col_labels=labels,
                    caption="Clean activation copied into the corrupted run at one (layer, position)."),
            Heatmap(title="Patch each head's output (all positions)", values=heads.tolist(),
                    row_labels=[f"L{l}" for l in range(L)], col_labels=[f"H{h}" for h in range(H)]),
            Heatmap(title="Patch each head's output at one position", values=by_pos.reshape(L * H, T).tolist(),
                    row_labels=[head_name(l, h) for l in range(L) for h in range(H)], col_labels=labels),
        ]
        if "ref" in r:
            blocks.append(Table(
                title="Batched patching vs reference", columns=["method", "forwards", "seconds", "max |diff|"],
                rows=[["batched (this lab)", "few (no-op patches skipped)", round(r["t_batched"], 4), "-"],
                      [r["ref_name"], int(metrics["n_patches"]), round(r["t_reference"], 4), f"{r['max_abs_diff']:.2e}"]],
                caption=(f"Speed-up {metrics['speedup']:.1f}x for identical results."
                         + (f" transformer_lens.patching failed ({r['ref_error']}); compared with a hook loop." if "ref_error" in r else ""))))
        ctx.progress(2, 2, message="done")
        return LabResult(blocks=blocks, metrics=metrics, questions=build_questions(metrics, labels, L, H, top_ok),
                         timings={"train": t_train, "experiments": time.perf_counter() - t1,
                                  "total": time.perf_counter() - t0})


def build_questions(m: dict[str, float], labels: list[str], L: int, H: int, top_ok: tuple[str, ...]) -> list:
    heads = tuple(head_name(l, h) for l in range(L) for h in range(H))
    top = head_name(int(m["top_head_layer"]), int(m["top_head"]))
    head_list = ", ".join(f"{n} {m[f'head_{n}']:.2f}" for n in heads)
    b, end = int(m["b_pos"]), int(m["end_pos"])
    best = int(m["resid_best_pos_last_layer"])
    options = (f"{labels[b]} (position {b}, the corrupted token)", f"{labels[end]} (position {end}, the last token)",
               f"{labels[b - 1]} (position {b - 1}, the earlier A)", "BOS (position 0)")
    pos_for = [b, end, b - 1, 0]
    correct = pos_for.index(best) if best in pos_for else 0
    return [
        PickComponent(
            id="top-head", components=heads, correct=top_ok, any_of=True,
            prompt="Patching which single head's output (all positions) restores the most logit difference?",
            explanation=f"Normalised recovery per head: {head_list}. {top} restores {m['top_head_recovery']:.2f}.",
        ),
        Numeric(
            id="top-head-recovery", answer=round(m["top_head_recovery"], 3), abs_tol=0.1, rel_tol=0.0,
            prompt="What fraction of the clean logit difference does patching that best head alone recover (0 to 1)?",
            explanation=(f"{m['top_head_recovery']:.2f} (normalised: corrupt logit diff {m['ld_corrupt']:.2f} -> 0, "
                         f"clean {m['ld_clean']:.2f} -> 1)."),
        ),
        MultipleChoice(
            id="resid-position", options=options, correct=correct,
            prompt=f"Patching resid_pre of layer {L - 1}: which position restores the metric most?",
            explanation=(f"In layer {L - 1} the best position is {best} ({labels[best]}): resid there recovers "
                         f"{m['resid_bpos_last_layer']:.2f} at the corrupted position vs {m['resid_end_last_layer']:.2f} at "
                         f"the last token. B/D still sits at its own position before layer {L - 1}; the induction head moves it "
                         "to the end in the last layer."),
        ),
        MultipleChoice(
            id="agreement", options=("They agree to about 1e-4 or better", "They differ by about 1%", "They differ a lot"),
            correct=0 if m.get("max_abs_diff", 0.0) <= 1e-4 else (1 if m.get("max_abs_diff", 0.0) < 0.05 else 2),
            prompt="How do the batched patching results compare with one-forward-per-patch patching?",
            explanation=(f"Max |difference| {m.get('max_abs_diff', float('nan')):.1e}; batched took {m['t_batched']:.3f} s vs "
                         f"{m.get('t_reference', float('nan')):.3f} s ({m.get('speedup', float('nan')):.1f}x). Each copy of the "
                         "batch gets exactly one patch, so the forward is the same computation."),
        ),
        FreeText(
            id="noising-vs-denoising",
            prompt="Here we patched clean activations into the corrupted run. What does that show, and what would patching corrupt into clean show instead?",
            model_answer=("Clean-into-corrupt (denoising) shows which activations are sufficient to restore the behaviour. "
                          "Corrupt-into-clean (noising) shows which are necessary: breaking them hurts. They differ when a "
                          "circuit has redundant parts (backup heads, OR) or needs several parts together (AND)."),
            key_points=("denoising: clean into corrupt finds sufficient components", "noising: corrupt into clean finds necessary components",
                        "they differ with redundancy/backup (OR) or conjunctions (AND)"),
            terms=(("sufficien", "restor", "denois"), ("necessar", "break", "noising", "hurt"),
                   ("redundan", "backup", "conjunction", "both needed", "several parts")),
            explanation=f"In this run patching {top} alone restores {m['top_head_recovery']:.2f} of the logit difference.",
        ),
    ]


LAB = ActivationPatchingLab()
