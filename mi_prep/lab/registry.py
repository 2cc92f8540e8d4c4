"""Discover labs: every ``labs/*.py`` that defines ``LAB`` (a :class:`mi_prep.lab.api.Lab`).

Importing a lab file must not import torch (labs import it inside ``run``), so listing labs is cheap.
Adding a lab is adding one file: the CLI, the TUI, drills, the contract tests and the benchmarks all
iterate over :func:`discover`.
The labs directory is :func:`mi_prep.core.locations.labs_dir`.
"""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from mi_prep.core.locations import labs_dir
from mi_prep.lab.api import Lab


@dataclass(frozen=True)
class LoadError:
    path: Path
    error: str


_MODULES: dict[Path, ModuleType] = {}


def load_module(path: Path) -> ModuleType:
    """Import a lab file once per process (as ``mi_prep_labs_<stem>``)."""
    path = Path(path).resolve()
    if path in _MODULES:
        return _MODULES[path]
    name = f"mi_prep_labs_{path.stem}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    mod = importlib.util.module_from_spec(spec)
    sys.modules[name] = mod  # dataclasses and pickling look modules up by name
    try:
        spec.loader.exec_module(mod)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    _MODULES[path] = mod
    return mod


def discover(directory: Path | None = None, errors: list[LoadError] | None = None) -> dict[str, Lab]:
    """``{lab.name: lab}`` sorted by name. Files that fail to import are skipped (and listed in ``errors``)."""
    directory = directory or labs_dir()
    found: dict[str, Lab] = {}
    for path in sorted(Path(directory).glob("*.py")):
        if path.name.startswith("_"):
            continue
        try:
            mod = load_module(path)
        except Exception as exc:  # a broken lab must not break the app
            if errors is not None:
                errors.append(LoadError(path, f"{type(exc).__name__}: {exc}"))
            continue
        lab = getattr(mod, "LAB", None)
        if isinstance(lab, Lab) and lab.name:
            found[lab.name] = lab
    return dict(sorted(found.items()))


all_labs = discover


def get(name: str, directory: Path | None = None) -> Lab:
    labs = discover(directory)
    if name in labs:
        return labs[name]
    # accept underscores / file stems
    alt = name.replace("_", "-")
    if alt in labs:
        return labs[alt]
    raise KeyError(f"no lab named {name!r}; available: {', '.join(labs) or '(none)'}")


def module_of(name: str, directory: Path | None = None) -> ModuleType:
    """The module of the file defining lab ``name`` (tests reach a lab's pure helpers through it).
    Labs never load each other: code two labs share lives in :mod:`mi_prep.lab` (tasks, patching, ...)."""
    return sys.modules[type(get(name, directory)).__module__]
