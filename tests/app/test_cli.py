"""`more` serving subcommands against an embedded SQLite file."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import pytest
from typer.testing import CliRunner

from app.core.security import Scope
from more_cli.main import app as more


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    # None unsets a variable inside the runner: embedded mode whatever the outer env says.
    return {"MORE_DATA_DIR": str(tmp_path / "data"), "DATABASE_URL": None, "REDIS_URL": None}


def test_cli_db_seed_and_apikey_roundtrip(env: dict[str, str | None]) -> None:
    runner = CliRunner()
    upgraded = runner.invoke(more, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    assert "more.db" in upgraded.output

    seeded = runner.invoke(more, ["seed-demo"], env=env)
    assert seeded.exit_code == 0, seeded.output
    for user, decision in (
        ("demo-eligible", "approve"),
        ("demo-short", "decline (insufficient_credit)"),
        ("demo-fraud", "handoff"),
    ):
        assert re.search(rf"{user}\s+{re.escape(decision)}", seeded.output), seeded.output

    created = runner.invoke(
        more, ["apikey", "create", "--name", "shop-1", "--scope", "admin"], env=env
    )
    assert created.exit_code == 0, created.output
    key = created.output.strip().splitlines()[-1]
    assert key.startswith("more_")
    duplicate = runner.invoke(more, ["apikey", "create", "--name", "shop-1"], env=env)
    assert duplicate.exit_code == 1 and "already exists" in duplicate.output

    async def lookup() -> frozenset[Scope]:
        from app.core.config import Settings
        from app.services.auth import Authenticator
        from app.store.db import create_db_engine, create_session_factory

        settings = Settings(
            _env_file=None,  # type: ignore[call-arg]
            DATABASE_URL=None,
            REDIS_URL=None,
            MORE_DATA_DIR=Path(str(env["MORE_DATA_DIR"])),
        )
        engine = create_db_engine(settings.database_url)
        try:
            auth = Authenticator(
                db=create_session_factory(engine), storefront_key=None, admin_key=None
            )
            return (await auth.authenticate(key, needed=Scope.ADMIN)).scopes
        finally:
            await engine.dispose()

    from tests.factories import run_sync

    assert run_sync(asyncio.run, lookup()) == {Scope.ADMIN}

    downgraded = runner.invoke(more, ["db", "downgrade", "base"], env=env)
    assert downgraded.exit_code == 0, downgraded.output


def test_cli_refuses_demo_keys_with_external_database() -> None:
    result = CliRunner().invoke(
        more,
        ["db", "upgrade"],
        env={
            "DATABASE_URL": "postgresql://x@127.0.0.1:1/x",
            "MORE_DEMO_API_KEY": "demo-storefront-key",
        },
    )
    assert result.exit_code == 2
    assert "MORE_ALLOW_DEMO_KEYS" in result.output


def test_cli_curl_example_is_a_working_request_shape() -> None:
    from app.cli import curl_example
    from app.core.config import Settings

    text = curl_example(Settings(_env_file=None, MORE_PORT=8123))  # type: ignore[call-arg]
    assert "http://127.0.0.1:8123/v1/chat" in text and "ready" in text
    assert "Bearer demo-storefront-key" in text and "demo-eligible" in text
