"""`more experiment ...` on the embedded database: create, ramp, list, report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.core.config import Settings
from app.store import experiments as repo
from app.store.db import create_db_engine, create_session_factory
from app.store.migrations import upgrade
from more_cli.main import app as cli


@pytest.fixture
def data_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("MORE_DATA_DIR", str(tmp_path))
    monkeypatch.delenv("DATABASE_URL", raising=False)
    monkeypatch.delenv("REDIS_URL", raising=False)
    settings = Settings()
    upgrade(settings.database_url)

    async def register() -> None:
        engine = create_db_engine(settings.database_url)
        async with create_session_factory(engine)() as db, db.begin():
            for name in ("sft-v1", "more-v1"):
                await repo.ensure_policy_version(db, name=name, base_model="m", adapter_path=None)
        await engine.dispose()

    asyncio.run(register())
    return tmp_path


def test_experiment_cli_create_ramp_list_and_report(data_dir: Path) -> None:
    runner = CliRunner()
    created = runner.invoke(
        cli,
        [
            "experiment",
            "create",
            "cli-ab",
            "--variant",
            "sft=sft-v1:0.9",
            "--variant",
            "more=more-v1:0.1",
            "--start",
        ],
    )
    assert created.exit_code == 0, created.output
    ramped = runner.invoke(
        cli, ["experiment", "update", "cli-ab", "--weight", "sft=0.5", "--weight", "more=0.5"]
    )
    assert ramped.exit_code == 0, ramped.output
    listed = runner.invoke(cli, ["experiment", "list"])
    assert "cli-ab\trunning\tsft=50% (sft-v1), more=50% (more-v1)" in listed.output

    out = data_dir / "report"
    report = runner.invoke(cli, ["experiment", "report", "cli-ab", "--out", str(out)])
    assert report.exit_code == 0, report.output
    assert "Sample-ratio check" in report.output
    body = json.loads((out / "report.json").read_text())
    assert body["control"] == "sft" and body["sessions"] == {"sft": 0, "more": 0}
    assert (out / "report.png").read_bytes()[:4] == b"\x89PNG"

    bad = runner.invoke(cli, ["experiment", "report", "nope", "--out", str(out)])
    assert bad.exit_code != 0
