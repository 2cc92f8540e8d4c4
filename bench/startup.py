"""Startup benchmark: time to the first rendered card on a generated 10,000-card collection.

Measured side by side in one run, each in a fresh process, ``--repeat`` times (median shown):

* ``python -c pass``            the interpreter alone (the floor);
* ``mi-prep --version``         the CLI entry point;
* ``TUI: Home rendered``        launch -> the app running headless (``App.run_test``) with Home drawn;
* ``TUI: first card rendered``  launch -> ``r`` pressed on Home -> the Review screen showing card 1.

Times are wall clock from the parent's ``Popen`` to the child's report, and the table prints each
as a ratio to ``python -c pass``. The child also checks that torch / transformer_lens were not imported.

    python bench/startup.py [--cards 10000] [--repeat 5]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from generated_decks import make_collection

CHILD = r"""
import os, sys, time, json, asyncio
launch = float(os.environ["BENCH_LAUNCH"])
from pathlib import Path
from mi_prep.context import AppContext
from mi_prep.tui.app import MiPrepApp
ctx = AppContext(data_dir=Path(os.environ["BENCH_DATA"]), deck_paths=[Path(os.environ["BENCH_DECKS"])])
app = MiPrepApp(ctx, poll_seconds=None)
out = {}
async def main():
    async with app.run_test(size=(100, 34)) as pilot:
        await pilot.pause()
        out["home"] = time.time() - launch
        await pilot.press("r")
        screen = app.screen
        while getattr(screen, "item", None) is None or not screen.query_one("#question").source:
            await pilot.pause(0.005)
            screen = app.screen
        await pilot.pause()  # one more refresh: the card is on screen
        out["card"] = time.time() - launch
        out["item"] = screen.item.item_id
asyncio.run(main())
out["heavy"] = [m for m in ("torch", "transformer_lens") if m in sys.modules]
print("BENCH " + json.dumps(out))
"""


def basic_card(cid: str, i: int, topic: str) -> list[str]:
    return [
        f"  - id: {cid}",
        f"    front: What does feature $f_{{{i}}}$ of layer {i % 12} in the {topic} deck represent?",
        "    back: |",
        f"      A direction $d_{{{i}}}$ in the residual stream; see `card {cid}`.",
        f"    source: generated benchmark card {i}",
        f"    tags: [t{i % 20}]",
    ]


def timed(cmd: list[str], env: dict[str, str]) -> tuple[float, dict]:
    env = dict(env, BENCH_LAUNCH=repr(time.time()))
    start = time.perf_counter()
    res = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    wall = time.perf_counter() - start
    if res.returncode != 0:
        raise SystemExit(f"{' '.join(cmd[:3])} failed:\n{res.stderr[-2000:]}")
    report = {}
    for line in res.stdout.splitlines():
        if line.startswith("BENCH "):
            report = json.loads(line[6:])
    return wall, report


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cards", type=int, default=10_000)
    p.add_argument("--repeat", type=int, default=5)
    args = p.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="mi-prep-bench-"))
    try:
        decks = make_collection(root, args.cards, basic_card)
        env = dict(os.environ, BENCH_DECKS=str(decks), MI_PREP_DECKS=str(decks), MI_PREP_HOME=str(root / "home"))
        py = sys.executable
        mi_prep = [py, "-m", "mi_prep"]
        exe = shutil.which("mi-prep", path=str(Path(py).parent)) or shutil.which("mi-prep")
        if exe:
            mi_prep = [exe]
        rows: dict[str, list[float]] = {
            "python -c pass": [],
            "mi-prep --version": [],
            "TUI: Home rendered": [],
            "TUI: first card rendered": [],
        }
        heavy: set[str] = set()
        first_item = None
        # interleave the commands so drift (cache, CPU frequency) hits all of them alike
        for r in range(args.repeat + 1):
            wall_pass, _ = timed([py, "-c", "pass"], env)
            wall_ver, _ = timed([*mi_prep, "--version"], env)
            data = root / f"data-{r}"  # a fresh store each run (as on a first start)
            _, rep = timed([py, "-c", CHILD], dict(env, BENCH_DATA=str(data)))
            if r == 0:
                continue  # warm-up (bytecode compilation, disk cache)
            rows["python -c pass"].append(wall_pass)
            rows["mi-prep --version"].append(wall_ver)
            rows["TUI: Home rendered"].append(rep["home"])
            rows["TUI: first card rendered"].append(rep["card"])
            heavy.update(rep.get("heavy", []))
            first_item = rep.get("item")
        base = statistics.median(rows["python -c pass"])
        n_files = len(list(decks.glob("*.yaml")))
        print(
            f"mi-prep startup benchmark: {args.cards:,} cards in {n_files} deck files, "
            f"median of {args.repeat} runs (after 1 warm-up), {sys.platform}, Python {sys.version.split()[0]}"
        )
        print(f"{'measure':<28}{'median':>10}{'min':>10}{'max':>10}{'x python -c pass':>20}")
        for name, values in rows.items():
            med = statistics.median(values)
            print(
                f"{name:<28}{med * 1000:>8.0f}ms{min(values) * 1000:>8.0f}ms{max(values) * 1000:>8.0f}ms"
                f"{med / base:>19.1f}x"
            )
        print(f"first card: {first_item}; torch/transformer_lens imported: {sorted(heavy) or 'no'}")
        return 1 if heavy else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
