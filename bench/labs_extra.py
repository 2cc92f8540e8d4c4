"""Time the superposition, SAE and steering labs' default runs on CPU against the 30 s budget.

    /work/venv/bin/python bench/labs_extra.py [--seed 0] [--labs superposition,sae,steering]

Each lab runs in a fresh temporary cache directory (so steering trains its model), with its
``defaults`` and a fixed seed. Prints wall time, the lab's own phase timings and the ratio to 30 s.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BUDGET = 30.0


def load(name: str):
    spec = importlib.util.spec_from_file_location(f"bench_lab_{name}", ROOT / "labs" / f"{name}.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.LAB


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--labs", default="superposition,sae,steering")
    args = ap.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    from mi_prep.lab.api import LabContext

    import torch

    print(f"torch {torch.__version__}, threads {torch.get_num_threads()}, device cpu, budget {BUDGET:.0f} s")
    worst = 0.0
    for name in args.labs.split(","):
        lab = load(name)
        with tempfile.TemporaryDirectory() as tmp:
            ctx = LabContext(seed=args.seed, device="cpu", params=dict(lab.defaults), cache_dir=Path(tmp))
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
