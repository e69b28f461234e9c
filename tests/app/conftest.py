"""Fixtures for the serving tests: a private PostgreSQL database, Redis key prefixes,
API keys, the transformers engine on the tiny model, and an app + httpx client factory.

PostgreSQL: one fresh database per test session (created, migrated, dropped), since
others share the `test` database. Redis: a unique key prefix per app, removed after.
"""

from __future__ import annotations

import asyncio
import sys
import uuid
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy.engine import make_url

# `from tests.factories import ...` in test modules needs the repository root on the path.
_ROOT = str(Path(__file__).resolve().parents[2])
if _ROOT not in sys.path:
    sys.path.insert(0, _ROOT)

from app.core.config import Settings  # noqa: E402
from app.core.security import Scope  # noqa: E402
from app.engine.base import ChatEngine  # noqa: E402
from tests.factories import TEST_DATABASE_URL, TEST_REDIS_URL, run_sync  # noqa: E402


async def _admin_sql(statement: str) -> None:
    import asyncpg

    url = make_url(TEST_DATABASE_URL)
    conn = await asyncpg.connect(
        host=url.host,
        port=url.port or 5432,
        user=url.username,
        password=url.password,
        database=url.database,
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def fresh_pg_database() -> Iterator[Callable[[], str]]:
    """Factory: a new empty PostgreSQL database URL (all dropped at session end)."""
    created: list[str] = []

    def make() -> str:
        name = f"more_app_test_{uuid.uuid4().hex[:10]}"
        run_sync(asyncio.run, _admin_sql(f'CREATE DATABASE "{name}"'))
        created.append(name)
        return make_url(TEST_DATABASE_URL).set(database=name).render_as_string(hide_password=False)

    yield make
    for name in created:
        run_sync(asyncio.run, _admin_sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.fixture(scope="session")
def pg_url(fresh_pg_database: Callable[[], str]) -> str:
    """The session's PostgreSQL database, migrated to head."""
    from app.store.migrations import upgrade

    url = fresh_pg_database()
    run_sync(upgrade, url)
    return url


@pytest.fixture(scope="session")
def pg_keys(pg_url: str) -> dict[Scope, str]:
    """Keys of the default storefront created the production way (hashed in the DB): a
    storefront key, an admin key that is also an operator (as admin keys from before the
    operator scope are migrated), and an operator-only key."""

    async def create() -> dict[Scope, str]:
        from app.core.security import DEFAULT_STOREFRONT_ID
        from app.store.api_keys import create_api_key
        from app.store.db import create_db_engine, create_session_factory

        engine = create_db_engine(pg_url, pool_size=1)
        keys: dict[Scope, str] = {}
        try:
            async with create_session_factory(engine)() as db, db.begin():
                for scope, scopes in (
                    (Scope.STOREFRONT, {Scope.STOREFRONT}),
                    (Scope.ADMIN, {Scope.ADMIN, Scope.OPERATOR}),
                    (Scope.OPERATOR, {Scope.OPERATOR}),
                ):
                    keys[scope], _ = await create_api_key(
                        db,
                        name=f"test-{scope.value}",
                        storefront_id=DEFAULT_STOREFRONT_ID,
                        scopes=scopes,
                    )
        finally:
            await engine.dispose()
        return keys

    return run_sync(asyncio.run, create())


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A unique Redis key prefix; its keys are deleted after the test."""
    prefix = f"more-test-{uuid.uuid4().hex[:10]}:"
    yield prefix

    async def cleanup() -> None:
        from redis.asyncio import Redis

        client = Redis.from_url(TEST_REDIS_URL)
        try:
            keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
            if keys:
                await client.delete(*keys)
        finally:
            await client.aclose()

    run_sync(asyncio.run, cleanup())


@pytest.fixture
def pg_settings(pg_url: str, redis_prefix: str) -> Callable[..., Settings]:
    """Factory of external-mode settings (PostgreSQL + Redis) with test-sized limits."""

    def make(**overrides: Any) -> Settings:
        values: dict[str, Any] = {
            "DATABASE_URL": pg_url,
            "REDIS_URL": TEST_REDIS_URL,
            "MORE_REDIS_PREFIX": redis_prefix,
            "MORE_MAX_TOKENS": 8,
            "MORE_GENERATION_TIMEOUT_S": 60,
            "MORE_DB_POOL_SIZE": 4,
            # The tiny random model never writes a correct reply: plumbing tests see its
            # raw text; the guard's own tests (test_chat_guard.py) turn it on.
            "MORE_GUARD_MODE": "off",
        }
        values.update(overrides)
        return Settings(_env_file=None, **values)  # type: ignore[call-arg]

    return make


@pytest.fixture(scope="session")
async def tiny_engine(tiny_model_dir: Path) -> AsyncIterator[ChatEngine]:
    """The transformers engine on the tiny random Llama, started once."""
    from app.engine.config import EngineConfig
    from app.engine.factory import create_engine

    engine = create_engine(
        EngineConfig(
            backend="transformers",
            model_path=str(tiny_model_dir),
            warmup=False,
            generation_timeout_s=120,
            max_queue=256,
        )
    )
    await engine.start()
    yield engine
    await engine.close()


ClientFactory = Callable[..., AbstractAsyncContextManager[httpx.AsyncClient]]


@pytest.fixture
def make_client() -> ClientFactory:
    """`async with make_client(settings, engine) as client`: app with its lifespan running."""

    @asynccontextmanager
    async def make(
        settings: Settings, engine: ChatEngine, **kwargs: Any
    ) -> AsyncIterator[httpx.AsyncClient]:
        from app.main import create_app

        app: FastAPI = create_app(settings=settings, engine=engine, **kwargs)
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", timeout=60
            ) as client:
                client.app = app  # type: ignore[attr-defined]  # tests reach app.state
                yield client

    return make
