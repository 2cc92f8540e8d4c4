"""Fixtures shared by every test directory."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def lab_cache(tmp_path_factory):
    """One model cache for every lab test in the session (labs train once, then load)."""
    return tmp_path_factory.mktemp("models")
