"""Lab benchmarks, measured side by side in one run (printed, never asserted).

    python bench/labs.py [--labs a,b]   # every lab in the registry: defaults, fresh cache, then from cache

Prints: each lab's default run time (training included) on 1 and 2 torch threads side by side, their
ratio, and the time on the thread count ``lab-threads = auto`` picks (mi_prep.lab.device.AUTO_THREADS),
against the 30 s budget; then from a cached model; activation patching (mi_prep.lab.patching, every
patch computed) vs transformer_lens.patching, same results (bench/patching.py, which also compares
attribution with exact patching at bigger model sizes); the attribution lab's own timing of attribution
vs exact patching (speed ratio, Pearson r on heads).
"""

from __future__ import annotations

import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def _bench_patching():
    """bench/patching.py as a module (bench/ is not a package)."""
    import importlib.util

    spec = importlib.util.spec_from_file_location("bench_patching", Path(__file__).with_name("patching.py"))
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main(argv: list[str] | None = None) -> None:
    import argparse

    import torch

    from mi_prep.lab import registry
    from mi_prep.lab.api import LabContext
    from mi_prep.lab.device import resolve_threads, use_threads
    from mi_prep.lab.tasks.induction import PatchingSpec, induction_model

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
    print(f"\n(patching below on torch.get_num_threads() = {torch.get_num_threads()}; more in bench/patching.py)")
    _bench_patching().compare_activation(model, p, repeats=3)

    if ("attribution-patching", "cached") not in results or ("induction-heads", "cached") not in results:
        return
    r = results[("attribution-patching", "cached")]
    m = r.metrics
    print("\n== attribution patching (the lab's cached default run, best of its repeats) ==")
    print(f"attribution (clean fwd + corrupted fwd + bwd)       {m['t_attribution'] * 1000:8.1f} ms")
    print(
        f"exact (clean fwd + every resid, heads x pos patch)  {m['t_activation'] * 1000:8.1f} ms   ratio {m['speedup']:5.1f}x"
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
