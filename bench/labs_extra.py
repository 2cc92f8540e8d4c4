"""Time every lab's default run on CPU against the 30 s budget (labs from the registry).

    .venv/bin/python bench/labs_extra.py [--seed 0] [--labs superposition,sae,steering]

Each lab runs in a fresh temporary cache directory (so every model is trained), with its default
params and a fixed seed. Prints wall time, the lab's own phase timings and the ratio to 30 s.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 30.0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--labs", default="", help="comma-separated lab names (default: every lab in the registry)")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    import torch

    from mi_prep.lab import registry
    from mi_prep.lab.api import LabContext

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device cpu, budget {BUDGET:.0f} s")
    worst = 0.0
    for name in args.labs.split(",") if args.labs else list(registry.discover()):
        lab = registry.get(name)
        with tempfile.TemporaryDirectory() as tmp:
            ctx = LabContext(seed=args.seed, device="cpu", params=lab.make_params(), cache_dir=Path(tmp))
            t = time.perf_counter()
            res = lab.run(ctx)
            wall = time.perf_counter() - t
        worst = max(worst, wall / BUDGET)
        phases = ", ".join(f"{k} {v:.1f}" for k, v in res.timings.items())
        print(f"{name:14s} {wall:6.1f} s   {wall / BUDGET:5.2f} x budget   ({phases})")
    print(f"worst ratio {worst:.2f} ({'within' if worst <= 1 else 'OVER'} budget)")
    return 0 if worst <= 1 else 1


if __name__ == "__main__":
    raise SystemExit(main())
