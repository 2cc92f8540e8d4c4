"""How a drill gets its lab section: one real lab run, small settings, a cached model.

``make_lab_provider(...)`` returns ``provider(topics, seed, on_progress=None, cancel=None) ->
LabSection | LabSkipped`` (:mod:`mi_prep.core.drill.lab_section`). It picks the lab covering the
weakest topic (:func:`pick_lab`), runs it with its ``small`` settings on a model seed from
:data:`MODEL_SEEDS` (so a drill reuses one of a few cached models instead of training a new one
under every drill's random seed) and returns the lab's questions together with the result blocks
they are about. Every reason the lab cannot run (torch missing, no labs, an unusable device, the run
failed or was cancelled) comes back as ``LabSkipped(reason)``; nothing is retried, on another
device or with another cache.
"""

from __future__ import annotations

import importlib.util
import random
import threading
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from mi_prep.core.drill import LabOutcome, LabProvider, LabSection, LabSkipped
from mi_prep.lab.api import Lab, LabUnavailable, Progress

MODEL_SEEDS = (0, 1, 2)
"""The lab seeds drills use: drill seed ``s`` runs the lab at ``MODEL_SEEDS[s % 3]``."""


def lab_seed(drill_seed: int) -> int:
    return MODEL_SEEDS[drill_seed % len(MODEL_SEEDS)]


def pick_lab(labs: Sequence[Any], topics: Sequence[str], seed: int) -> Any:
    """The lab covering the weakest topic (``topics`` weakest first); ties and no overlap: by seed."""
    labs = sorted(labs, key=lambda lab: lab.name)
    for t in topics:
        hits = [lab for lab in labs if t in lab.topics]
        if hits:
            return hits[random.Random(seed).randrange(len(hits))]
    return labs[random.Random(seed).randrange(len(labs))]


def make_lab_provider(
    *,
    device: str | None = None,
    labs_dir: Path | None = None,
    cache_dir: Path | None = None,
    threads: int | str | None = None,
) -> LabProvider:
    """The real provider (see the module docstring). ``labs_dir``: the registry's by default;
    ``cache_dir``: the lab model cache (``$MI_PREP_CACHE/models`` by default); ``threads``: the
    ``lab-threads`` setting."""

    def provider(
        topics: Sequence[str],
        seed: int,
        *,
        on_progress: Callable[[Progress], None] | None = None,
        cancel: threading.Event | None = None,
    ) -> LabOutcome:
        from mi_prep.lab import registry
        from mi_prep.lab.runner import merge_params, run_lab

        if importlib.util.find_spec("torch") is None:
            return LabSkipped("torch is not installed (pip install 'mi-prep[labs]')")
        labs: list[Lab] = list(registry.discover(labs_dir).values())
        if not labs:
            return LabSkipped("no labs found")
        lab = pick_lab(labs, topics, seed)
        try:
            run = run_lab(
                lab,
                seed=lab_seed(seed),
                device=device,
                params=merge_params(lab, small=True),
                cache_dir=cache_dir,
                on_progress=on_progress,
                cancel=cancel,
                threads=threads,
            )
        except LabUnavailable as exc:  # e.g. the device asked for is not there
            return LabSkipped(f"{lab.name}: {exc}")
        if run.status == "cancelled":
            return LabSkipped(f"{lab.name} was cancelled")
        if not run.ok:
            first = run.error.splitlines()[0] if run.error else run.status
            return LabSkipped(f"{lab.name} failed ({first})")
        assert run.result is not None
        return LabSection(lab.name, list(run.result.questions), tuple(lab.topics), blocks=list(run.result.blocks))

    return provider
