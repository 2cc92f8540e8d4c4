"""The layering the import contract (pyproject ``[tool.importlinter]``) describes, checked at run time too.

Every module under ``mi_prep`` is found by walking the package, so a module that moves or is added is
checked without editing this file. Each layer is imported in a fresh interpreter and must not pull in
what it may not use: core and lab never load torch or a UI toolkit at import time (torch is imported
inside lab functions only, so listing labs and starting the app stay fast).
"""

from __future__ import annotations

import json
import pkgutil
import subprocess
import sys
from pathlib import Path

import pytest

import mi_prep

ROOT = Path(mi_prep.__file__).resolve().parent
LAYERS = ("core", "lab", "context", "cli", "tui", "__main__")
HEAVY = ("torch", "transformer_lens", "safetensors")
UI = ("textual", "rich", "textual_plotext")
FORBIDDEN = {
    "core": HEAVY + UI + ("mi_prep.lab", "mi_prep.context", "mi_prep.cli", "mi_prep.tui"),
    "lab": HEAVY + UI + ("mi_prep.context", "mi_prep.cli", "mi_prep.tui"),
    "context": HEAVY + UI + ("mi_prep.cli", "mi_prep.tui"),
    "cli": HEAVY + UI + ("mi_prep.tui",),
    "tui": HEAVY + ("mi_prep.cli",),
}


def all_modules() -> list[str]:
    names = ["mi_prep.context", "mi_prep.__main__"]
    for info in pkgutil.walk_packages([str(ROOT)], prefix="mi_prep."):
        if ".bundled" not in info.name:
            names.append(info.name)
    return sorted(set(names))


def layer_of(module: str) -> str:
    return module.split(".")[1]


def test_every_module_belongs_to_a_layer():
    modules = all_modules()
    assert len(modules) > 40
    assert {layer_of(m) for m in modules} <= set(LAYERS), "a new top-level module needs a layer in the contract"


def _loaded_after_importing(modules: list[str], then: str = "") -> set[str]:
    code = (
        "\n".join(f"import {m}" for m in modules)
        + "\n"
        + then
        + ("\nimport sys, json\nprint(json.dumps(sorted(sys.modules)))")
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_layer_imports_nothing_it_may_not(layer):
    modules = [m for m in all_modules() if layer_of(m) == layer]
    assert modules
    # the lab layer also loads every lab file, as `mi-prep lab list` does
    then = "from mi_prep.lab import registry\nassert registry.discover()" if layer == "lab" else ""
    loaded = _loaded_after_importing(modules, then)
    bad = sorted(m for m in loaded if any(m == f or m.startswith(f + ".") for f in FORBIDDEN[layer]))
    assert not bad, f"importing mi_prep.{layer} loads {bad[:8]}"


def test_import_contract_is_kept():
    pytest.importorskip("importlinter")
    exe = Path(sys.executable).with_name("lint-imports")
    out = subprocess.run([str(exe)], capture_output=True, text=True, cwd=ROOT.parent, timeout=300)
    assert out.returncode == 0, out.stdout[-3000:] + out.stderr[-2000:]
    assert "0 broken" in out.stdout
