"""The embedded SQLite file: WAL, foreign keys, and the sync on commit the settings ask for."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import text

from app.core.config import Settings
from app.store.db import create_db_engine

# PRAGMA synchronous reads back as a number: 1 NORMAL, 2 FULL.
SYNC_LEVEL = {"NORMAL": 1, "FULL": 2}


@pytest.mark.parametrize("synchronous", ["NORMAL", "FULL"])
async def test_sqlite_commits_sync_as_configured(synchronous: str, tmp_path: Path) -> None:
    engine = create_db_engine(
        f"sqlite+aiosqlite:///{tmp_path}/m.db",
        sqlite_synchronous=synchronous,  # type: ignore[arg-type]
    )
    try:
        async with engine.connect() as conn:
            pragma = {
                name: (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "foreign_keys")
            }
    finally:
        await engine.dispose()
    assert pragma == {
        "journal_mode": "wal",
        "synchronous": SYNC_LEVEL[synchronous],
        "foreign_keys": 1,
    }


def test_embedded_default_skips_the_fsync_per_commit() -> None:
    assert Settings().MORE_SQLITE_SYNCHRONOUS == "NORMAL"
    with pytest.raises(ValueError, match="MORE_SQLITE_SYNCHRONOUS"):
        Settings(MORE_SQLITE_SYNCHRONOUS="OFF")  # type: ignore[arg-type]


def test_the_turn_write_benchmark_runs_and_reports_both_settings(tmp_path: Path) -> None:
    import json
    import subprocess
    import sys

    root = Path(__file__).resolve().parents[3]
    script = root / "benchmarks" / "turn_write.py"
    subprocess.run(
        [sys.executable, str(script), "--turns", "4", "--rounds", "1", "--out", str(tmp_path)],
        check=True,
        capture_output=True,
    )
    (result,) = tmp_path.glob("turn_write-*.json")
    rows = json.loads(result.read_text())["rows"]
    assert [(r["synchronous"], r["turns"]) for r in rows] == [("FULL", 4), ("NORMAL", 4)]
    assert all(r["p50_ms"] > 0 for r in rows)
    assert (tmp_path / result.name.replace(".json", ".md")).is_file()
