"""`more storefront`, `more apikey` and `more db purge` against an embedded SQLite file:
the operator's commands, audited as `cli:<os user>`."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select, update
from typer.testing import CliRunner

from app.core.config import Settings
from app.core.errors import AuthenticationError
from app.core.security import Scope
from app.services.auth import Authenticator
from app.store import audit
from app.store.db import create_db_engine, create_session_factory
from app.store.models import MessageRow, utcnow
from more_cli.main import app as more
from tests.factories import run_sync


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str | None]:
    env: dict[str, str | None] = {
        "MORE_DATA_DIR": str(tmp_path / "data"),
        "DATABASE_URL": None,
        "REDIS_URL": None,
    }
    upgraded = CliRunner().invoke(more, ["db", "upgrade"], env=env)
    assert upgraded.exit_code == 0, upgraded.output
    return env


def _url(env: dict[str, str | None]) -> str:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=None,
        REDIS_URL=None,
        MORE_DATA_DIR=Path(str(env["MORE_DATA_DIR"])),
    )
    return settings.database_url


def _who(env: dict[str, str | None], key: str) -> tuple[str, str, frozenset[Scope]] | None:
    async def run() -> tuple[str, str, frozenset[Scope]] | None:
        engine = create_db_engine(_url(env))
        try:
            auth = Authenticator(
                db=create_session_factory(engine), storefront_key=None, admin_key=None
            )
            try:
                p = await auth.identify(key)
            except AuthenticationError:
                return None
            return p.key_name, p.storefront_id, p.scopes
        finally:
            await engine.dispose()

    return run_sync(asyncio.run, run())  # type: ignore[no-any-return]


def _audit(env: dict[str, str | None]) -> list[audit.AuditEntry]:
    async def run() -> list[audit.AuditEntry]:
        engine = create_db_engine(_url(env))
        try:
            async with create_session_factory(engine)() as db:
                return await audit.list_entries(db, storefront_id=None)
        finally:
            await engine.dispose()

    return run_sync(asyncio.run, run())  # type: ignore[no-any-return]


def test_cli_storefronts_and_key_lifecycle(env: dict[str, str | None]) -> None:
    runner = CliRunner()
    created = runner.invoke(more, ["storefront", "create", "acme", "--name", "ACME"], env=env)
    assert created.exit_code == 0, created.output
    again = runner.invoke(more, ["storefront", "create", "acme"], env=env)
    assert again.exit_code == 1 and "exists" in again.output
    bad = runner.invoke(more, ["storefront", "create", "Not Valid"], env=env)
    assert bad.exit_code == 1 and "must match" in bad.output
    listed = runner.invoke(more, ["storefront", "list"], env=env)
    assert "acme" in listed.output and "default" in listed.output

    made = runner.invoke(
        more,
        [
            *("apikey", "create", "--name", "acme-ops", "--storefront", "acme"),
            *("--scope", "admin", "--scope", "operator"),
        ],
        env=env,
    )
    assert made.exit_code == 0, made.output
    key = made.output.strip().splitlines()[-1]
    assert _who(env, key) == ("acme-ops", "acme", {Scope.ADMIN, Scope.OPERATOR})
    unknown = runner.invoke(
        more, ["apikey", "create", "--name", "x", "--storefront", "nope"], env=env
    )
    assert unknown.exit_code == 1 and "unknown storefront" in unknown.output

    rotated = runner.invoke(more, ["apikey", "rotate", "acme-ops", "--grace-seconds", "0"], env=env)
    assert rotated.exit_code == 0, rotated.output
    new_key = rotated.output.strip().splitlines()[-1]
    assert new_key != key and _who(env, key) is None
    assert _who(env, new_key) is not None

    listing = runner.invoke(more, ["apikey", "list", "--storefront", "acme"], env=env)
    assert listing.exit_code == 0 and "acme-ops" in listing.output and "rotated" in listing.output
    assert key not in listing.output and new_key not in listing.output

    revoked = runner.invoke(more, ["apikey", "revoke", "acme-ops"], env=env)
    assert revoked.exit_code == 0, revoked.output
    assert _who(env, new_key) is None
    assert "revoked" in runner.invoke(more, ["apikey", "list"], env=env).output
    missing = runner.invoke(more, ["apikey", "revoke", "acme-ops"], env=env)
    assert missing.exit_code == 1 and "no active API key" in missing.output

    actions = [(e.action, e.target) for e in reversed(_audit(env))]
    assert actions == [
        ("storefront.create", "acme"),
        ("apikey.create", "acme-ops"),
        ("apikey.rotate", "acme-ops"),
        ("apikey.revoke", "acme-ops"),
    ]
    assert all(e.actor.startswith("cli:") for e in _audit(env))


def test_cli_db_purge_deletes_messages_past_the_retention(env: dict[str, str | None]) -> None:
    runner = CliRunner()
    assert runner.invoke(more, ["seed-demo"], env=env).exit_code == 0
    no_retention = runner.invoke(more, ["db", "purge"], env=env)
    assert no_retention.exit_code == 2 and "MORE_MESSAGE_RETENTION_DAYS" in no_retention.output

    async def seed_messages() -> None:
        from app.core.security import DEFAULT_STOREFRONT_ID
        from app.store import conversations

        engine = create_db_engine(_url(env))
        try:
            async with create_session_factory(engine)() as db, db.begin():
                for sid in ("old", "new"):
                    await conversations.record_turn(
                        db,
                        storefront_id=DEFAULT_STOREFRONT_ID,
                        session_id=sid,
                        user_id="demo-eligible",
                        variant="default",
                        policy_version="base",
                        experiment=None,
                        api_key_name="k",
                        turn=conversations.TurnRecord("hi", "hello", 1, 1, 1.0, False),
                    )
                await db.execute(
                    update(MessageRow)
                    .where(MessageRow.session_id == "old")
                    .values(created_at=utcnow() - timedelta(days=10))
                )
        finally:
            await engine.dispose()

    async def count() -> int:
        engine = create_db_engine(_url(env))
        try:
            async with create_session_factory(engine)() as db:
                return int(await db.scalar(select(func.count()).select_from(MessageRow)) or 0)
        finally:
            await engine.dispose()

    run_sync(asyncio.run, seed_messages())
    purged = runner.invoke(more, ["db", "purge"], env={**env, "MORE_MESSAGE_RETENTION_DAYS": "7"})
    assert purged.exit_code == 0, purged.output
    assert "deleted 2 message(s) older than 7 days" in purged.output
    assert run_sync(asyncio.run, count()) == 2
