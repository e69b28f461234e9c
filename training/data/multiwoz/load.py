"""One entry point over both releases, so commands take `--data` and work with either."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from training.data.multiwoz import convlab21, official22
from training.data.multiwoz.db import VenueDB, load_db
from training.data.multiwoz.paths import ENV_MULTIWOZ22, db_dir, multiwoz22_dir
from training.data.multiwoz.turn import MultiWozTurn

DataName = Literal["auto", "multiwoz22", "multiwoz21"]
LABELS = {
    "multiwoz22": "MultiWOZ 2.2",
    "multiwoz21": "MultiWOZ 2.1, ConvLab-2 copy",
}


def resolve_data(data: DataName, root: str | Path | None) -> Literal["multiwoz22", "multiwoz21"]:
    """`auto`: 2.2 when a 2.2 root is given or configured, else the ConvLab-2 2.1 copy."""
    if data != "auto":
        return data
    return "multiwoz22" if root or os.environ.get(ENV_MULTIWOZ22) else "multiwoz21"


def open_db(data: str, root: str | Path | None, db: str | Path | None) -> VenueDB:
    if db:
        return load_db(str(db))
    if data == "multiwoz22":
        return load_db(str(db_dir(data_root=multiwoz22_dir(root))))
    return load_db(str(db_dir()))


def load_turns(
    data: DataName,
    split: str,
    *,
    root: str | Path | None = None,
    db: VenueDB | None = None,
    limit: int | None = None,
    progress: bool = False,
    goals: Literal["derived", "multiwoz21"] = "derived",
    goals_root: str | Path | None = None,
) -> list[MultiWozTurn]:
    """All system turns of `split` ("train", "dev", "test") from the chosen release.

    `goals` (2.2 only): "derived" rebuilds goals from the annotations; "multiwoz21" takes
    the 2.1 goals of the same dialogues from the ConvLab-2 copy (`goals_root`), as the
    standard evaluator does.
    """
    name = resolve_data(data, root)
    if name == "multiwoz22":
        real_goals = (
            official22.convlab21_goals(split, goals_root) if goals == "multiwoz21" else None
        )
        return list(
            official22.iter_turns(
                split, root, db=db, goals=real_goals, limit=limit, progress=progress
            )
        )
    return list(convlab21.iter_turns(split, root, db=db, limit=limit, progress=progress))
