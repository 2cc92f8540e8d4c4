"""Where things are: the only module that reads mi-prep's environment variables or finds bundled content.

* data dir (database, backups): ``--data-dir``, else ``$MI_PREP_HOME``, else the platform's user data dir;
* cache dir (lab model checkpoints, parsed decks): ``$MI_PREP_CACHE/{models,decks}``, else the
  platform's user cache dir;
* decks: ``--decks``, else ``$MI_PREP_DECKS`` (``os.pathsep``-separated), else the bundled decks;
* labs: ``$MI_PREP_LABS``, else the bundled labs;
* the editor for "edit this card": ``$VISUAL``, else ``$EDITOR``;
* the user's time zone (IANA name) when the ``timezone`` setting is ``auto``: ``$TZ``, else the
  ``/etc/localtime`` link, else ``/etc/timezone``.

Bundled content: an installed wheel carries ``decks/`` and ``labs/`` as ``mi_prep/bundled/{decks,labs}``
(``setup.py`` copies them at build time); a source checkout (editable install) uses the top-level folders.
"""

from __future__ import annotations

import os
from pathlib import Path

ENV_HOME = "MI_PREP_HOME"
ENV_CACHE = "MI_PREP_CACHE"
ENV_DECKS = "MI_PREP_DECKS"
ENV_LABS = "MI_PREP_LABS"
APP_NAME = "mi-prep"

_PACKAGE = Path(__file__).resolve().parent.parent


def _bundled(name: str) -> Path:
    installed = _PACKAGE / "bundled" / name
    if installed.is_dir():
        return installed
    return _PACKAGE.parent / name  # a source checkout


def bundled_decks_dir() -> Path:
    """The decks shipped with mi-prep."""
    return _bundled("decks")


def bundled_labs_dir() -> Path:
    """The labs shipped with mi-prep."""
    return _bundled("labs")


def default_deck_paths() -> list[Path]:
    env = os.environ.get(ENV_DECKS)
    if env:
        return [Path(p).expanduser() for p in env.split(os.pathsep) if p]
    return [bundled_decks_dir()]


def labs_dir() -> Path:
    env = os.environ.get(ENV_LABS)
    if env:
        return Path(env).expanduser()
    return bundled_labs_dir()


def default_data_dir() -> Path:
    env = os.environ.get(ENV_HOME)
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir(APP_NAME, appauthor=False))


def default_cache_dir() -> Path:
    """Where lab model checkpoints are cached."""
    root = os.environ.get(ENV_CACHE)
    if root:
        return Path(root).expanduser() / "models"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME)) / "models"


def deck_cache_dir() -> Path:
    """Where parsed decks are cached (:mod:`mi_prep.core.deck.cache`)."""
    root = os.environ.get(ENV_CACHE)
    if root:
        return Path(root).expanduser() / "decks"
    import platformdirs

    return Path(platformdirs.user_cache_dir(APP_NAME)) / "decks"


def editor_command() -> str | None:
    return os.environ.get("VISUAL") or os.environ.get("EDITOR") or None


def system_zone_name() -> str | None:
    """The system's IANA time zone name (``Europe/Berlin``), or None when it cannot be told (then the
    clock falls back to the current fixed UTC offset)."""
    from mi_prep.core.settings import zone_exists

    candidates: list[str] = []
    tz = os.environ.get("TZ", "").strip().lstrip(":")
    if tz:
        candidates.append(tz.removeprefix("/usr/share/zoneinfo/"))
    try:
        target = os.readlink("/etc/localtime")
        if "zoneinfo/" in target:
            candidates.append(target.split("zoneinfo/", 1)[1])
    except OSError:
        pass
    try:
        candidates.append(Path("/etc/timezone").read_text(encoding="utf-8").strip())
    except (OSError, UnicodeDecodeError):
        pass
    return next((c for c in candidates if zone_exists(c)), None)
