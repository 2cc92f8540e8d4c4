"""Where the database lives: ``<data dir>/mi-prep.db``; the data dir is ``--data-dir``, else ``$MI_PREP_HOME``,
else platformdirs' user data dir. Backups go to ``<data dir>/backups/``."""

from __future__ import annotations

from pathlib import Path

from mi_prep.core.locations import default_data_dir

DB_NAME = "mi-prep.db"

__all__ = ["DB_NAME", "db_path_in", "default_data_dir"]


def db_path_in(data_dir: Path | str | None) -> Path:
    return (Path(data_dir) if data_dir is not None else default_data_dir()) / DB_NAME
