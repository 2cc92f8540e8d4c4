"""Startup benchmark: how long mi-prep takes to answer, on the bundled decks and on generated 10,000- and
50,000-card collections, measured side by side in one run.

Table 1, wall clock from the parent's ``Popen`` to the child's report, each in a fresh process, median
of ``--repeat`` runs after one warm-up, commands interleaved so drift hits all alike, each as a ratio to
``python -c pass`` (the interpreter alone, the floor):

* ``mi-prep --version``         the CLI entry point;
* ``mi-prep due``               per-deck counts in the plain terminal;
* ``TUI: Home drawn``           launch -> Home's summary line on the terminal;
* ``TUI: first card drawn``     launch -> ``r`` typed as soon as Home is drawn -> card 1's question on
                                the terminal.

The TUI runs as a user runs it: ``mi-prep`` in a pseudo-terminal of 100x30 (``TERM=xterm-256color``);
the bench reads what it draws, strips the escape sequences and watches for the text. (Textual's test
Pilot sleeps 20 ms at a time until the app looks idle, which would add 60-100 ms to each figure.)
For scale the table also shows a three-widget Textual app (Header, Static, Footer) drawn in the same
terminal: the floor any Textual app pays.

Bytecode caching is on in the children (``PYTHONDONTWRITEBYTECODE`` removed), as in any install.
Each collection has its own data folder holding a review history (``--seen`` of its items answered once,
spread over the past 60 days), opened as on any day after the first; the parsed-deck cache is warm (the
warm-up run filled it), as it is on every start after the decks last changed.

Table 2, in this process: ``load_decks`` parsing every file (YAML + validation: what every start did
before the cache, and what a changed file still costs) against reading the same decks from the
parsed-deck cache, and the ratio.

Then which heavy modules the review path imported (torch, transformer_lens, pandas, numpy: none is
allowed). Exit status 1 if any was.

    python bench/startup.py [--sizes 10000,50000] [--repeat 5] [--seen 0.3]
"""

from __future__ import annotations

import argparse
import fcntl
import json
import os
import pty
import re
import select
import shutil
import signal
import statistics
import struct
import subprocess
import sys
import tempfile
import termios
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from generated_decks import make_collection

ROOT = Path(__file__).resolve().parents[1]
HEAVY = ("torch", "transformer_lens", "pandas", "numpy")

TEXTUAL_FLOOR_APP = r"""
from textual.app import App
from textual.widgets import Footer, Header, Static
class Floor(App):
    def compose(self):
        yield Header()
        yield Static("floor app drawn")
        yield Footer()
Floor().run()
"""

ANSI = re.compile(
    rb"\x1b\[[0-9;?<>=$ ]*[A-Za-z~]|\x1b\][^\x07\x1b]*(?:\x07|\x1b\\)|\x1bP[^\x1b]*\x1b\\|\x1b[()][0-9A-Za-z]|\x1b[=>78MDEc]"
)


def in_terminal(
    cmd: list[str], env: dict[str, str], first: bytes, then: bytes | None, keys: bytes = b"r"
) -> list[float]:
    """Run ``cmd`` in a 100x30 pseudo-terminal; seconds from launch until ``first`` is drawn, and (typing
    ``keys`` at that moment) until ``then`` is drawn. The process is killed afterwards."""
    t0 = time.perf_counter()
    pid, fd = pty.fork()
    if pid == 0:  # the child: a terminal of 100x30, then the command
        fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", 30, 100, 0, 0))
        os.execvpe(cmd[0], cmd, env)
    out: list[float] = []
    seen = b""
    wanted = first
    try:
        while time.perf_counter() - t0 < 60:
            ready, _, _ = select.select([fd], [], [], 0.05)
            if not ready:
                continue
            try:
                seen += os.read(fd, 1 << 16)
            except OSError:
                break
            if wanted in ANSI.sub(b"", seen):
                out.append(time.perf_counter() - t0)
                if then is None or len(out) == 2:
                    break
                os.write(fd, keys)
                seen, wanted = b"", then
    finally:
        os.kill(pid, signal.SIGKILL)
        os.waitpid(pid, 0)
        os.close(fd)
    if len(out) != (1 if then is None else 2):
        raise SystemExit(f"{' '.join(cmd)}: {'first' if not out else 'second'} screen never drawn")
    return out


def question_marker(decks: Path, data: Path) -> tuple[str, bytes]:
    """The first card Review will show (as the app picks it) and the opening words of its question: the
    longest run of plain words from the start, which the Markdown renderer prints as written."""
    from mi_prep.core.deck import load_decks
    from mi_prep.core.session import ReviewSession
    from mi_prep.core.store import open_store

    now = datetime.now(UTC)
    store = open_store(data, now=now, daily_backup=False)
    try:
        item = ReviewSession(store, load_decks(decks), now).next_item(now)
    finally:
        store.close()
    if item is None:
        raise SystemExit(f"no card due in {decks}")
    words = re.match(r"[A-Za-z]+(?: [A-Za-z]+)*", item.question())
    if words is None or len(words.group(0)) < 8:
        raise SystemExit(f"card {item.item_id}: its question does not start with plain words")
    return item.item_id, words.group(0)[:40].encode()


TUI_MODULES_CHILD = r"""
import asyncio, json, os, sys
from pathlib import Path
from mi_prep.context import AppContext
from mi_prep.tui.app import MiPrepApp
ctx = AppContext(data_dir=Path(os.environ["MI_PREP_HOME"]), deck_paths=[Path(os.environ["MI_PREP_DECKS"])])
app = MiPrepApp(ctx, poll_seconds=None)
async def main():
    async with app.run_test(size=(100, 30)) as pilot:
        await pilot.pause()
        await pilot.press("r")
        await pilot.pause()
        assert app.screen.item is not None
asyncio.run(main())
print("BENCH " + json.dumps({"heavy": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))

LOAD_CHILD = r"""
import json, os, sys, time
from pathlib import Path
from mi_prep.core.deck import DeckCache, load_decks
cache = DeckCache(Path(os.environ["BENCH_LOAD_CACHE"])) if os.environ["BENCH_LOAD_CACHE"] else None
t = time.perf_counter()
ds = load_decks(Path(os.environ["MI_PREP_DECKS"]), cache=cache)
took = time.perf_counter() - t
assert cache is None or cache.misses == 0
print("BENCH " + json.dumps({"load": took, "cards": len(list(ds.cards()))}))
"""

DUE_CHILD = r"""
import sys, io, contextlib
from mi_prep.__main__ import main
with contextlib.redirect_stdout(io.StringIO()):
    main(["due"])
print("BENCH " + __import__("json").dumps({"heavy": [m for m in HEAVY if m in sys.modules]}))
""".replace("HEAVY", repr(HEAVY))


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


def seed_history(data: Path, decks: Path, share: float) -> int:
    """Answer ``share`` of the collection's items once each (Good, or Again for every 9th), spread over
    the past 60 days, in one transaction. Returns the number answered."""
    from mi_prep.core.deck import load_decks
    from mi_prep.core.session import items_for
    from mi_prep.core.store import open_store

    items = items_for(load_decks(decks))
    step = max(1, round(1 / share)) if share > 0 else 0
    chosen = items[::step] if step else []
    now = datetime.now(UTC)
    store = open_store(data, now=now)
    try:
        with store.transaction():
            for k, item in enumerate(chosen):
                when = now - timedelta(days=60) + timedelta(minutes=k * 60 * 24 * 59 / max(1, len(chosen)))
                store.answer(item.item_id, 1 if k % 9 == 0 else 3, when, card_id=item.card.id, elapsed_ms=5000)
    finally:
        store.close()
    return len(chosen)


def load_times(decks: Path, cache_dir: Path, repeat: int) -> tuple[float, float, int]:
    """Median seconds of ``load_decks`` parsing every file, and through a warm cache; the card count."""
    from mi_prep.core.deck import DeckCache, load_decks

    load_decks(decks, cache=DeckCache(cache_dir))  # fill the cache
    parse, cached = [], []
    n = 0
    for _ in range(repeat):
        t = time.perf_counter()
        ds = load_decks(decks)
        parse.append(time.perf_counter() - t)
        cache = DeckCache(cache_dir)
        t = time.perf_counter()
        ds2 = load_decks(decks, cache=cache)
        cached.append(time.perf_counter() - t)
        if cache.misses or [c for _, c in ds.cards()] != [c for _, c in ds2.cards()]:
            raise SystemExit("the cache missed or read back other cards")
        n = sum(len(d.deck.cards) for d in ds.decks)
    return statistics.median(parse), statistics.median(cached), n


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sizes", default="10000,50000", help="generated collection sizes (the bundled decks always)")
    p.add_argument("--repeat", type=int, default=5)
    p.add_argument("--seen", type=float, default=0.3, help="share of items with a review history")
    args = p.parse_args(argv)

    root = Path(tempfile.mkdtemp(prefix="mi-prep-bench-"))
    py = sys.executable
    exe = shutil.which("mi-prep", path=str(Path(py).parent))
    mi_prep = [exe] if exe else [py, "-m", "mi_prep"]
    try:
        collections: dict[str, Path] = {"bundled": ROOT / "decks"}
        for size in (int(s) for s in args.sizes.split(",") if s):
            collections[f"{size:,}"] = make_collection(root / f"gen-{size}", size, basic_card)
        base_env = dict(os.environ, MI_PREP_CACHE=str(root / "cache"))
        base_env.pop("MI_PREP_DECKS", None)
        # bytecode is cached as in any install (pip compiles it; an editable install writes it on first run)
        base_env.pop("PYTHONDONTWRITEBYTECODE", None)
        seeded = {}
        for name, decks in collections.items():
            seeded[name] = seed_history(root / f"data-{name}", decks, args.seen)

        markers = {name: question_marker(decks, root / f"data-{name}") for name, decks in collections.items()}
        from mi_prep.core.deck import DeckCache, load_decks

        for name, decks in collections.items():  # the fresh-process "cached" rows read this cache
            load_decks(decks, cache=DeckCache(root / f"loadcache-{name}"))
        rows: dict[tuple[str, str], list[float]] = {}
        heavy: set[str] = set()
        for r in range(args.repeat + 1):  # round 0 is the warm-up (bytecode, disk cache, deck cache)
            walls: dict[tuple[str, str], float] = {}
            walls["python -c pass", ""], _ = timed([py, "-c", "pass"], base_env)
            walls["mi-prep --version", ""], _ = timed([*mi_prep, "--version"], base_env)
            (walls["Textual floor app drawn", ""],) = in_terminal(
                [py, "-c", TEXTUAL_FLOOR_APP], base_env, b"floor app drawn", None
            )
            for name, decks in collections.items():
                env = dict(base_env, MI_PREP_HOME=str(root / f"data-{name}"), MI_PREP_DECKS=str(decks))
                walls["mi-prep due", name], _ = timed([*mi_prep, "due"], env)
                home, card = in_terminal(mi_prep, env, b"left today", markers[name][1])
                walls["TUI: Home drawn", name] = home
                walls["TUI: first card drawn", name] = card
                for cache in ("", str(root / f"loadcache-{name}")):
                    _, rep = timed([py, "-c", LOAD_CHILD], dict(env, BENCH_LOAD_CACHE=cache))
                    walls["load decks, fresh process: " + ("cached" if cache else "parse"), name] = rep["load"]
                if r == 0:
                    for child in (DUE_CHILD, TUI_MODULES_CHILD):
                        _, rep = timed([py, "-c", child], env)
                        heavy.update(rep.get("heavy", []))
            if r == 0:
                continue
            for key, value in walls.items():
                rows.setdefault(key, []).append(value)

        base = statistics.median(rows["python -c pass", ""])
        names = list(collections)
        n_cards = {}
        loads = {}
        for name, decks in collections.items():
            parse, cached, n = load_times(decks, root / f"loadcache-{name}", args.repeat)
            loads[name] = (parse, cached)
            n_cards[name] = n
        print(
            f"mi-prep startup benchmark: median of {args.repeat} runs (after 1 warm-up), {sys.platform}, "
            f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs"
        )
        print(
            "collections: " + "; ".join(f"{n}: {n_cards[n]:,} cards, {seeded[n]:,} items with history" for n in names)
        )
        print("cells: median wall time, and its ratio to `python -c pass`")
        head = f"{'measure':<27}" + "".join(f"{n:>20}" for n in names)
        print(head)
        print("-" * len(head))
        for measure in ("python -c pass", "mi-prep --version", "Textual floor app drawn"):
            med = statistics.median(rows[measure, ""])
            print(f"{measure:<27}{med * 1000:>9.0f} ms {med / base:>5.1f}x   (no decks read)")
        for measure in ("mi-prep due", "TUI: Home drawn", "TUI: first card drawn"):
            cells = ""
            for name in names:
                med = statistics.median(rows[measure, name])
                cells += f"{med * 1000:>9.0f} ms {med / base:>5.1f}x  "
            print(f"{measure:<27}{cells}")
        print()
        print("Loading the decks (load_decks): parsing every file (YAML + validation, what every start did")
        print("before the cache) vs reading the parsed-deck cache; in a fresh process (imports included: the")
        print("cached path imports neither YAML nor pydantic) and in this process (modules already loaded)")
        print(
            f"{'collection':<12}{'cards':>8}{'fresh: parse':>15}{'cached':>10}{'speed-up':>10}{'in process: parse':>20}{'cached':>10}{'speed-up':>10}"
        )
        for name in names:
            fp = statistics.median(rows["load decks, fresh process: parse", name])
            fc = statistics.median(rows["load decks, fresh process: cached", name])
            parse, cached = loads[name]
            print(
                f"{name:<12}{n_cards[name]:>8,}{fp * 1000:>12.1f} ms{fc * 1000:>7.1f} ms{fp / fc:>9.1f}x"
                f"{parse * 1000:>17.1f} ms{cached * 1000:>7.1f} ms{parse / cached:>9.1f}x"
            )
        print()
        print("first card drawn: " + ", ".join(f"{n}: {markers[n][0]} ({markers[n][1].decode()!r})" for n in names))
        print(f"heavy modules imported on the review path ({', '.join(HEAVY)}): {sorted(heavy) or 'none'}")
        return 1 if heavy else 0
    finally:
        shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
