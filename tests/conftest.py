"""Fixtures shared by every test directory."""

from __future__ import annotations

import os
import tempfile

import pytest


@pytest.fixture(scope="session")
def lab_cache(tmp_path_factory):
    """One model cache for every lab test in the session (labs train once, then load)."""
    return tmp_path_factory.mktemp("models")


LAB_PACKAGES = ("torch", "transformer_lens", "safetensors")


def _missing_lab_packages() -> list[str]:
    import importlib.util

    return [m for m in LAB_PACKAGES if importlib.util.find_spec(m) is None]


def pytest_configure(config):
    """The caches (parsed decks, lab models) go to a folder of this run unless $MI_PREP_CACHE says where,
    never to the user's own cache folder.

    Without the ``[labs]`` extra the lab snapshots are skipped, so they are unused: that must not fail
    the run (syrupy fails on unused snapshots by default, which still catches stale ones with torch)."""
    if not os.environ.get("MI_PREP_CACHE"):
        os.environ["MI_PREP_CACHE"] = tempfile.mkdtemp(prefix="mi-prep-test-cache-")
    if _missing_lab_packages() and hasattr(config.option, "warn_unused_snapshots"):
        config.option.warn_unused_snapshots = True


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.needs_torch`` tests are skipped, not failed, without the ``[labs]`` extra."""
    missing = _missing_lab_packages()
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"needs the [labs] extra ({', '.join(missing)} not installed)")
    for item in items:
        if "needs_torch" in item.keywords:
            item.add_marker(skip)
