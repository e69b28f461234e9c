"""`more experiment ...` on the embedded database: create, ramp, list, report."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from app.core.config import Settings
from app.store import experiments as repo
from app.store.db import create_db_engine, create_session_factory
from app.store.migrations import upgrade
from more_cli.main import app as cli
from more_client import MoreClient


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


class FakeAdminApi:
    """The experiment admin endpoints the CLI calls with `--url`, recording each request."""

    def __init__(self) -> None:
        self.requests: list[httpx.Request] = []

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        assert request.headers["Authorization"] == "Bearer admin-key"
        path = request.url.path
        if path == "/v1/experiments/nope/report":
            error = {"type": "not_found_error", "code": "not_found", "message": "no experiment"}
            return httpx.Response(404, json={"error": {**error, "param": None}})
        if path.endswith("/report"):
            return httpx.Response(200, json={"control": "sft", "markdown": "# Report ab"})
        if path.endswith("/report.png"):
            return httpx.Response(200, content=b"\x89PNG fake")
        if request.method == "GET":
            variants = [
                {"name": "sft", "share": 0.9, "policy_version": "sft-v1"},
                {"name": "more", "share": 0.1, "policy_version": "more-v1"},
            ]
            row = {"name": "ab", "status": "running", "variants": variants}
            return httpx.Response(200, json={"data": [row], "count": 1})
        return httpx.Response(201 if request.method == "POST" else 200, json={"name": "ab"})


def test_experiment_cli_with_url_uses_the_admin_api(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from app import experiment_cli

    fake = FakeAdminApi()

    def client(url: str, admin_key: str) -> MoreClient:
        return MoreClient(url, admin_key=admin_key, transport=httpx.MockTransport(fake))

    monkeypatch.setattr(experiment_cli, "_client", client)
    runner = CliRunner()
    url = ["--url", "http://more.test", "--admin-key", "admin-key"]
    created = runner.invoke(
        cli, ["experiment", "create", "ab", "--variant", "sft=sft-v1:0.9", "--start", *url]
    )
    assert created.exit_code == 0, created.output
    ramped = runner.invoke(cli, ["experiment", "update", "ab", "--status", "stopped", *url])
    assert ramped.exit_code == 0, ramped.output
    listed = runner.invoke(cli, ["experiment", "list", *url])
    assert "ab\trunning\tsft=90% (sft-v1), more=10% (more-v1)" in listed.output
    out = tmp_path / "report"
    report = runner.invoke(cli, ["experiment", "report", "ab", "--out", str(out), *url])
    assert report.exit_code == 0, report.output
    assert json.loads((out / "report.json").read_text()) == {"control": "sft"}
    assert (out / "report.md").read_text() == "# Report ab\n"
    assert (out / "report.png").read_bytes() == b"\x89PNG fake"

    create, update = fake.requests[:2]
    assert (create.method, create.url.path) == ("POST", "/v1/experiments")
    assert json.loads(create.content) == {
        "name": "ab",
        "status": "running",
        "variants": [{"name": "sft", "policy_version": "sft-v1", "weight": 0.9}],
    }
    assert (update.method, update.url.path) == ("PATCH", "/v1/experiments/ab")
    assert json.loads(update.content) == {"status": "stopped"}
    assert fake.requests[-1].url.params["alpha"] == "0.05"

    bad = runner.invoke(cli, ["experiment", "report", "nope", "--out", str(out), *url])
    assert bad.exit_code == 1
    assert "404 not_found: no experiment" in bad.output
