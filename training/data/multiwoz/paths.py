"""Where the MultiWOZ files live: explicit arguments, then env variables, then the repo neighbours.

The shared data folder sits next to the repository (`../shared/data/...`), so a clean
clone on this machine finds it without configuration; elsewhere users set the env vars.
"""

from __future__ import annotations

import os
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parents[3]
_SHARED = REPO_ROOT.parent / "shared" / "data"

ENV_MULTIWOZ22 = "MORE_MULTIWOZ_DIR"  # root of the official 2.2 layout (train/ dev/ test/ ...)
ENV_MULTIWOZ21 = "MORE_MULTIWOZ21_DIR"  # folder holding ConvLab-2's {val,test,train}.json.zip
ENV_DB = "MORE_MULTIWOZ_DB_DIR"  # folder holding {restaurant,hotel,...}_db.json


class MultiWozDataMissingError(FileNotFoundError):
    """A MultiWOZ file or folder is not where the configuration says."""


def _resolve(explicit: str | Path | None, env: str, default: Path, what: str) -> Path:
    path = Path(explicit) if explicit else Path(os.environ[env]) if os.environ.get(env) else default
    if not path.exists():
        raise MultiWozDataMissingError(f"{what} not found at {path}; pass its path or set {env}")
    return path


def multiwoz22_dir(explicit: str | Path | None = None) -> Path:
    """Root of the official MultiWOZ 2.2 release (the folder holding `schema.json`)."""
    return _resolve(
        explicit, ENV_MULTIWOZ22, _SHARED / "multiwoz22" / "MultiWOZ_2.2", "MultiWOZ 2.2"
    )


def multiwoz21_dir(explicit: str | Path | None = None) -> Path:
    """Folder with ConvLab-2's MultiWOZ 2.1 zips."""
    return _resolve(
        explicit, ENV_MULTIWOZ21, _SHARED / "multiwoz21-convlab2", "MultiWOZ 2.1 (ConvLab-2)"
    )


def db_dir(explicit: str | Path | None = None, *, data_root: Path | None = None) -> Path:
    """Venue DB folder: explicit, env, `<2.2 root>/db`, its parent's `db/`, the shared copy."""
    if explicit or os.environ.get(ENV_DB):
        return _resolve(explicit, ENV_DB, Path(), "MultiWOZ venue DB")
    for candidate in (
        *((data_root / "db", data_root.parent / "db") if data_root else ()),
        _SHARED / "multiwoz22" / "db",
    ):
        if (candidate / "restaurant_db.json").exists():
            return candidate
    raise MultiWozDataMissingError(f"MultiWOZ venue DB not found; set {ENV_DB}")
