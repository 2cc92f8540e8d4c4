"""Fixtures shared by every test directory."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lab_cache(tmp_path_factory):
    """One model cache for every lab test in the session (labs train once, then load)."""
    return tmp_path_factory.mktemp("models")


LAB_PACKAGES = ("torch", "transformer_lens", "safetensors")


def pytest_collection_modifyitems(config, items):
    """``@pytest.mark.needs_torch`` tests are skipped, not failed, without the ``[labs]`` extra."""
    import importlib.util

    missing = [m for m in LAB_PACKAGES if importlib.util.find_spec(m) is None]
    if not missing:
        return
    skip = pytest.mark.skip(reason=f"needs the [labs] extra ({', '.join(missing)} not installed)")
    for item in items:
        if "needs_torch" in item.keywords:
            item.add_marker(skip)
