"""Alembic environment: async engine, metadata from `app.store.models`, URL from Settings.

URL precedence: `-x url=...`, then `sqlalchemy.url` in the config, then the settings
(`DATABASE_URL`, else the embedded SQLite file). SQLite runs in batch mode so later
ALTERs work there too.
"""

from __future__ import annotations

import asyncio
import logging.config

from alembic import context
from sqlalchemy.engine import Connection

from app.store.db import create_db_engine
from app.store.models import Base

config = context.config
if config.config_file_name is not None and config.attributes.get("configure_logging", True):
    logging.config.fileConfig(config.config_file_name, disable_existing_loggers=False)

target_metadata = Base.metadata


def _url() -> str:
    url = context.get_x_argument(as_dictionary=True).get("url") or config.get_main_option(
        "sqlalchemy.url"
    )
    if url:
        return url
    from app.core.config import Settings

    return Settings().database_url


def _configure(**kwargs: object) -> None:
    context.configure(target_metadata=target_metadata, compare_type=True, **kwargs)  # type: ignore[arg-type]


def run_migrations_offline() -> None:
    url = _url()
    _configure(
        url=url,
        literal_binds=True,
        dialect_opts={"paramstyle": "named"},
        render_as_batch=url.startswith("sqlite"),
    )
    with context.begin_transaction():
        context.run_migrations()


def _run_sync(connection: Connection) -> None:
    _configure(connection=connection, render_as_batch=connection.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()


def _check_sqlite_foreign_keys(connection: Connection) -> None:
    # Enforcement was off while tables were rebuilt: prove nothing dangles now.
    problems = connection.exec_driver_sql("PRAGMA foreign_key_check").fetchall()
    if problems:
        raise RuntimeError(f"foreign key violations after migrating: {problems[:5]}")


async def run_migrations_online() -> None:
    # With the service's lock timeout (5 s on PostgreSQL): a migration that cannot take its
    # table lock fails and can be retried, instead of queueing every request behind it.
    engine = create_db_engine(_url(), pool_size=1)
    try:
        async with engine.connect() as connection:
            sqlite = connection.dialect.name == "sqlite"
            if sqlite:
                # Batch mode rebuilds a table by copy, drop and rename; with foreign keys
                # enforced, dropping a parent table cascades to its children (Alembic's
                # advice). The pragma only works outside a transaction: first statement.
                await connection.exec_driver_sql("PRAGMA foreign_keys=OFF")
            await connection.run_sync(_run_sync)
            if sqlite:
                await connection.run_sync(_check_sqlite_foreign_keys)
            await connection.commit()
            if sqlite:
                await connection.exec_driver_sql("PRAGMA foreign_keys=ON")
    finally:
        await engine.dispose()


if context.is_offline_mode():
    run_migrations_offline()
else:
    asyncio.run(run_migrations_online())
