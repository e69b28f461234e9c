"""Alembic on PostgreSQL and SQLite: upgrade creates exactly the models' schema; downgrade
removes it; existing rows survive the tenancy revision, attached to the default storefront."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect, text

from app.store.db import create_db_engine
from app.store.migrations import downgrade, upgrade
from app.store.models import Base
from tests.factories import run_sync

# Every table the models declare (later revisions add theirs), plus Alembic's own.
EXPECTED_TABLES = set(Base.metadata.tables) | {"alembic_version"}
FOUNDATION_TABLES = {
    "profiles",
    "sessions",
    "messages",
    "api_keys",
    "idempotency_records",
    "events",
    "policy_versions",
    "experiments",
    "experiment_variants",
    "storefronts",
    "admin_audit",
}


def test_models_declare_the_foundation_tables() -> None:
    assert FOUNDATION_TABLES <= EXPECTED_TABLES


def _inspect(url: str) -> tuple[set[str], list]:  # type: ignore[type-arg]
    async def run() -> tuple[set[str], list]:  # type: ignore[type-arg]
        engine = create_db_engine(url, pool_size=1)
        try:
            async with engine.connect() as conn:

                def sync(connection):  # type: ignore[no-untyped-def]
                    tables = set(inspect(connection).get_table_names())
                    diff = []
                    if "profiles" in tables:
                        ctx = MigrationContext.configure(connection, opts={"compare_type": True})
                        diff = compare_metadata(ctx, Base.metadata)
                    return tables, diff

                return await conn.run_sync(sync)
        finally:
            await engine.dispose()

    return run_sync(asyncio.run, run())


def test_migrations_upgrade_matches_models_and_downgrade_cleans_up_on_postgres(
    fresh_pg_database: Callable[[], str],
) -> None:
    url = fresh_pg_database()
    run_sync(upgrade, url)
    tables, diff = _inspect(url)
    assert tables == EXPECTED_TABLES
    assert diff == [], diff  # the migration and the models describe the same schema

    run_sync(downgrade, url, "base")
    tables, _ = _inspect(url)
    assert tables == {"alembic_version"}

    run_sync(upgrade, url)  # and back up again
    assert _inspect(url)[0] == EXPECTED_TABLES


def test_migrations_upgrade_matches_models_on_sqlite(tmp_path) -> None:  # type: ignore[no-untyped-def]
    url = f"sqlite+aiosqlite:///{tmp_path / 'more.db'}"
    run_sync(upgrade, url)
    tables, diff = _inspect(url)
    assert tables == EXPECTED_TABLES
    assert diff == [], diff


def _run(url: str, statements: list[str]) -> list[list[tuple]]:  # type: ignore[type-arg]
    """Execute SQL statements in one transaction; the rows of each SELECT."""

    async def run() -> list[list[tuple]]:  # type: ignore[type-arg]
        engine = create_db_engine(url, pool_size=1)
        try:
            async with engine.begin() as conn:
                results = []
                for statement in statements:
                    result = await conn.execute(text(statement))
                    results.append([tuple(r) for r in result] if result.returns_rows else [])
                return results
        finally:
            await engine.dispose()

    return run_sync(asyncio.run, run())


_PRE_TENANCY_ROWS = [
    "INSERT INTO profiles (user_id, account_standing, identity_verified, region, age_band, "
    "membership_tier, currency, credit_limit, outstanding_balance, fraud_review) VALUES "
    "('u-1', 'good', true, 'US', '25_34', 'gold', 'USD', 1500, 300, false)",
    "INSERT INTO sessions (id, user_id, variant, policy_version, status) "
    "VALUES ('s-1', 'u-1', 'default', 'base', 'active')",
    "INSERT INTO messages (session_id, role, content) VALUES ('s-1', 'user', 'hi'), "
    "('s-1', 'assistant', 'hello')",
    "INSERT INTO events (client_event_id, type, session_id, user_id, payload) VALUES "
    "('ord-1', 'conversion', 's-1', 'u-1', '{}'), ('takeover:s-1', 'handoff', 's-1', 'u-1', '{}')",
    "INSERT INTO api_keys (name, key_hash, scope) VALUES ('ops', 'h1', 'admin'), "
    "('shop', 'h2', 'storefront')",
    "INSERT INTO idempotency_records (owner, key, route, request_hash) "
    "VALUES ('shop', 'k', 'chat', 'h')",
]


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_migrations_attach_existing_rows_to_the_default_storefront(
    backend: str, tmp_path, fresh_pg_database: Callable[[], str]
) -> None:  # type: ignore[no-untyped-def]
    if backend == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'more.db'}"
    else:
        url = fresh_pg_database()
    run_sync(upgrade, url, "0004_reply_guard")
    _run(url, _PRE_TENANCY_ROWS)

    run_sync(upgrade, url)
    storefronts, sessions, messages, events, keys, claims = _run(
        url,
        [
            "SELECT id FROM storefronts",
            "SELECT storefront_id, user_id FROM sessions",
            "SELECT count(*) FROM messages",  # rebuilding sessions must not cascade
            "SELECT storefront_id, origin, client_event_id FROM events ORDER BY id",
            "SELECT name, storefront_id, scope FROM api_keys ORDER BY name",
            "SELECT storefront_id FROM idempotency_records",
        ],
    )
    assert storefronts == [("default",)]
    assert sessions == [("default", "u-1")]
    assert messages == [(2,)]
    assert events == [("default", "client", "ord-1"), ("default", "server", "takeover:s-1")]
    # Admin keys keep the registry rights they had (now the operator scope).
    assert keys == [("ops", "default", "admin operator"), ("shop", "default", "storefront")]
    assert claims == [("default",)]

    run_sync(downgrade, url, "0004_reply_guard")
    (profiles, messages, keys) = _run(
        url,
        [
            "SELECT user_id FROM profiles",
            "SELECT count(*) FROM messages",
            "SELECT name, scope FROM api_keys ORDER BY name",
        ],
    )
    assert profiles == [("u-1",)] and messages == [(2,)]
    assert keys == [("ops", "admin"), ("shop", "storefront")]
