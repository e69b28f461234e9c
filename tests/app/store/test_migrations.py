"""Alembic on PostgreSQL: upgrade creates exactly the models' schema; downgrade removes it."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

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
