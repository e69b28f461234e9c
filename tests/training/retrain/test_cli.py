"""`more retrain` on the command line: options, and a clean refusal when there is no data."""

from __future__ import annotations

from pathlib import Path

from typer.testing import CliRunner

from app.store.migrations import upgrade
from more_cli.main import app as more_app


def test_retrain_cli_lists_its_options() -> None:
    result = CliRunner().invoke(more_app, ["retrain", "--help"])
    assert result.exit_code == 0
    for option in ("--database-url", "--base-policy", "--out", "--steps", "--register-url"):
        assert option in result.output


def test_retrain_cli_refuses_to_train_without_logged_turns(
    tmp_path: Path, tiny_lora_dir: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'empty.db'}"
    upgrade(url)
    result = CliRunner().invoke(
        more_app,
        [
            "retrain",
            "--database-url",
            url,
            "--base-policy",
            str(tiny_lora_dir),
            "--out",
            str(tmp_path / "run"),
            "--steps",
            "1",
        ],
    )
    assert result.exit_code == 1
    assert "only 0 logged training rows" in result.output
    assert (tmp_path / "run" / "data" / "logged.jsonl").read_text() == ""


def test_retrain_cronjob_runs_the_cli_with_real_options() -> None:
    """deploy/k8s/retrain-cronjob.yaml, checked statically (no cluster here)."""
    import yaml

    doc = yaml.safe_load(Path("deploy/k8s/retrain-cronjob.yaml").read_text())
    assert doc["kind"] == "CronJob" and doc["spec"]["concurrencyPolicy"] == "Forbid"
    pod = doc["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    assert container["command"] == ["more", "retrain"]
    import typer

    command = typer.main.get_command(more_app).commands["retrain"]  # type: ignore[attr-defined]
    options = {o for p in command.params for o in (*p.opts, *p.secondary_opts)}
    for arg in container["args"]:
        assert arg.split("=")[0] in options, arg
    env = {e["name"] for e in container["env"]}
    assert {"DATABASE_URL", "MORE_ADMIN_API_KEY"} <= env  # the CLI reads both from the env
    mount = container["volumeMounts"][0]["mountPath"]
    assert mount == "/srv/runs" and container["workingDir"] == "/srv"
