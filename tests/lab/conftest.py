"""Fixtures of the lab tests: torch (skips a test when it is not installed) and one shared,
session-wide small run per (lab, seed), so labs train once however many tests read their results."""

from __future__ import annotations

import pytest

from mi_prep.lab.api import LabResult


@pytest.fixture
def torch():
    """The torch module; the test is skipped (not failed) without the [labs] extra."""
    mod = pytest.importorskip("torch")
    pytest.importorskip("transformer_lens")
    return mod


@pytest.fixture(scope="session")
def small_result(lab_cache):
    """``small_result(name, seed=0) -> LabResult``: the lab run as a drill runs it (small settings,
    CPU, the session's model cache), computed once per session."""
    pytest.importorskip("torch")
    pytest.importorskip("transformer_lens")
    from mi_prep.lab import registry
    from mi_prep.lab.runner import merge_params, run_lab

    done: dict[tuple[str, int], LabResult] = {}

    def get(name: str, seed: int = 0) -> LabResult:
        if (name, seed) not in done:
            lab = registry.get(name)
            run = run_lab(lab, seed=seed, device="cpu", params=merge_params(lab, small=True), cache_dir=lab_cache)
            assert run.ok, f"{name} seed {seed}: {run.error}"
            done[name, seed] = run.result
        return done[name, seed]

    return get
