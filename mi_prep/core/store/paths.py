"""Where the database lives: ``<data dir>/mi-prep.db``; the data dir is ``--data-dir``, else ``$MI_PREP_HOME``,
else platformdirs' user data dir. Backups go to ``<data dir>/backups/``."""

from __future__ import annotations

import os
from pathlib import Path

DB_NAME = "mi-prep.db"


def default_data_dir() -> Path:
    env = os.environ.get("MI_PREP_HOME")
    if env:
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("mi-prep", appauthor=False))


def db_path_in(data_dir: Path | str | None) -> Path:
    return (Path(data_dir) if data_dir is not None else default_data_dir()) / DB_NAME
