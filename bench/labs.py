"""Lab benchmarks, measured side by side in one run (printed, never asserted).

    python bench/labs.py [--labs a,b]   # every lab in the registry: defaults, fresh cache, then from cache

Prints: each lab's default run time (training included) on 1 and 2 torch threads side by side, their
ratio, and the time on the thread count ``lab-threads = auto`` picks (mi_prep.lab.device.AUTO_THREADS),
against the 30 s budget; then from a cached model; batched activation
patching (mi_prep.lab.patching) vs transformer_lens.patching and vs a one-patch-per-forward hook loop
(same results); attribution patching vs exact patching (speed ratio, Pearson r on heads).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main(argv: list[str] | None = None) -> None:
    import argparse

    import torch

    from mi_prep.lab import patching as ap
    from mi_prep.lab import registry
    from mi_prep.lab.api import LabContext
    from mi_prep.lab.device import resolve_threads, use_threads
    from mi_prep.lab.tasks.induction import PatchingSpec, induction_model, patching_pairs

    parser = argparse.ArgumentParser()
    parser.add_argument("--labs", default="", help="comma-separated lab names (default: every lab in the registry)")
    args = parser.parse_args(argv)
    names = args.labs.split(",") if args.labs else list(registry.discover())

    cache = Path(tempfile.mkdtemp(prefix="mi-prep-bench-"))
    chosen = resolve_threads("auto")
    counts = sorted({1, 2, chosen, min(2, os.cpu_count() or 1)})
    print(f"torch {torch.__version__}, cpu count {os.cpu_count()}, load {os.getloadavg()[0]:.2f}, auto -> {chosen}")
    print(f"\n== default runs, trained from scratch, on {' and '.join(map(str, counts))} thread(s) side by side ==")
    print(f"{'lab':22} " + " ".join(f"{str(n) + ' thr':>8}" for n in counts) + "   ratio 2/1   auto (budget 30 s)")
    results = {}
    for name in names:
        lab = registry.get(name)
        times = {}
        for n in counts:  # the same run (seed 0, defaults, fresh cache) on each thread count
            use_threads(n)
            ctx = LabContext(seed=0, device="cpu", params=lab.make_params(), cache_dir=cache / f"{name}-{n}")
            t = time.perf_counter()
            results[(name, "fresh", n)] = lab.run(ctx)
            times[n] = time.perf_counter() - t
        ratio = times[2] / times[1] if 2 in times else float("nan")
        cells = " ".join(f"{times[n]:7.2f}s" for n in counts)
        verdict = "ok" if times[chosen] <= 30 else "OVER"
        print(f"{name:22} {cells}   {ratio:8.2f}x   {times[chosen]:6.2f} s {verdict}")
    use_threads(chosen)
    print(f"\n== the same runs again, same cache ({chosen} thread(s); sae and superposition retrain every run) ==")
    for name in names:
        lab = registry.get(name)
        ctx = LabContext(seed=0, device="cpu", params=lab.make_params(), cache_dir=cache / f"{name}-{chosen}")
        t = time.perf_counter()
        results[(name, "cached")] = lab.run(ctx)
        print(f"{name:22} {time.perf_counter() - t:6.2f} s")

    p = PatchingSpec()
    ctx = LabContext(seed=0, device="cpu", params=p, cache_dir=cache / "activation-patching")  # trained above if run
    model, _, _ = induction_model(ctx, p)
    L, H = p.n_layers, p.n_heads
    g = torch.Generator().manual_seed(1)
    clean, corrupt, a, w, info = patching_pairs(
        p.n_pairs, g, d_vocab=p.d_vocab, period=p.period, query_index=p.query_index
    )
    metric, cc = ap.setup(model, clean, corrupt, a, w)
    T = corrupt.shape[1]
    patches = ap.resid_patches(L, T) + ap.head_patches(L, H) + ap.head_pos_patches(L, H, T)

    def batched():
        with torch.no_grad():
            _, ccache = model.run_with_cache(corrupt)
        return (
            ap.patch_resid(model, corrupt, cc, metric, L, ccache),
            ap.patch_heads(model, corrupt, cc, metric, L, H, ccache),
            ap.patch_heads_by_pos(model, corrupt, cc, metric, L, H, ccache),
        )

    def batched_noskip():
        return (
            ap.patch_resid(model, corrupt, cc, metric, L),
            ap.patch_heads(model, corrupt, cc, metric, L, H),
            ap.patch_heads_by_pos(model, corrupt, cc, metric, L, H),
        )

    def best(fn, n=3):
        out, tbest = None, float("inf")
        for _ in range(n):
            t = time.perf_counter()
            out = fn()
            tbest = min(tbest, time.perf_counter() - t)
        return out, tbest

    with torch.no_grad():
        model(corrupt)
    (b_r, b_h, b_bp), t_b = best(batched)
    _, t_bn = best(batched_noskip)
    (r_r, r_h, r_bp), t_tl = best(lambda: ap.tl_patching_reference(model, corrupt, cc, metric), 2)
    loop, t_loop = best(lambda: ap.loop_reference(model, corrupt, cc, metric, patches), 2)
    diff_tl = max(float((x - y.cpu()).abs().max()) for x, y in ((b_r, r_r), (b_h, r_h), (b_bp, r_bp)))
    flat = torch.cat([b_r.flatten(), b_h.flatten(), b_bp.flatten()])
    diff_loop = float((flat - loop.cpu()).abs().max())
    print(f"\n== activation patching: {len(patches)} patches x {p.n_pairs} pairs, {T} tokens ==")
    print(f"batched (skip no-op patches)   {t_b * 1000:8.1f} ms")
    print(f"batched (every patch computed) {t_bn * 1000:8.1f} ms")
    print(f"transformer_lens.patching      {t_tl * 1000:8.1f} ms   ratio {t_tl / t_b:5.1f}x  max|diff| {diff_tl:.1e}")
    print(
        f"one-patch-per-forward loop     {t_loop * 1000:8.1f} ms   ratio {t_loop / t_b:5.1f}x  max|diff| {diff_loop:.1e}"
    )

    if ("attribution-patching", "cached") not in results or ("induction-heads", "cached") not in results:
        return
    r = results[("attribution-patching", "cached")]
    m = r.metrics
    print("\n== attribution patching (cached run, best of 5) ==")
    print(f"attribution (2 fwd + 1 bwd)    {m['t_attribution'] * 1000:8.1f} ms")
    print(f"batched exact (resid + heads x pos) {m['t_activation'] * 1000:8.1f} ms   ratio {m['speedup']:5.1f}x")
    print(
        f"vs transformer_lens.patching   ratio {t_tl / m['t_attribution']:5.1f}x   vs loop {t_loop / m['t_attribution']:5.1f}x"
    )
    print(f"Pearson r heads x positions {m['pearson_heads']:.3f}; residual stream {m['pearson_resid']:.3f}")
    if "slope_value" in m:
        print(f"slope of attribution on exact (value side) {m['slope_value']:.2f} +- {m['slope_value_sd']:.2f}")
    ind = results[("induction-heads", "cached")].metrics
    print(
        f"\ninduction: prev L0H{int(ind['prev_head'])} ({ind['prev_score']:.2f} on first-copy positions), "
        f"induction L1H{int(ind['ind_head'])} ({ind['ind_score']:.2f}); layer 0 removed from its keys leaves "
        f"{ind['left_k']:.2f} of it, from queries {ind['left_q']:.2f}, from values {ind['left_v']:.2f}; "
        f"OV copying {ind['ov_copying']:.2f}; phase change ~step {ind['phase_change_step']:.0f}"
    )


if __name__ == "__main__":
    main()
