"""Database engine and session factory for PostgreSQL (asyncpg) or the embedded SQLite file."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from sqlalchemy import event, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)


def create_db_engine(
    url: str,
    *,
    pool_size: int = 10,
    sqlite_synchronous: Literal["NORMAL", "FULL"] = "NORMAL",
    lock_timeout_s: float = 5.0,
) -> AsyncEngine:
    """An async engine; for SQLite, creates the file's folder and enables FKs and WAL (with
    `sqlite_synchronous`, the `MORE_SQLITE_SYNCHRONOUS` setting); for PostgreSQL, no
    statement waits longer than `lock_timeout_s` for a lock (`MORE_DB_LOCK_TIMEOUT_S`).

    Both hide statement parameters from errors (`hide_parameters`): they hold personal data.
    """
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        if parsed.database and parsed.database != ":memory:":
            Path(parsed.database).parent.mkdir(parents=True, exist_ok=True)
        engine = create_async_engine(url, connect_args={"timeout": 15}, hide_parameters=True)

        @event.listens_for(engine.sync_engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cursor = dbapi_conn.cursor()
            cursor.execute("PRAGMA foreign_keys=ON")
            # WAL lets readers proceed while a turn is being written.
            cursor.execute("PRAGMA journal_mode=WAL")
            # In WAL mode, NORMAL syncs at checkpoints, not at every commit: a commit
            # survives the process dying, and only an OS crash or power loss can undo the
            # last few (the file stays consistent). Each turn's commit waited on an fsync
            # otherwise: 11 ms p50 per turn's write against 4.5 ms (docs/serving.md).
            cursor.execute(f"PRAGMA synchronous={sqlite_synchronous}")
            cursor.close()

        return engine
    return create_async_engine(
        url,
        # Bound values (names, messages, amounts) never reach an exception's text, and
        # so never a log line or an error message.
        hide_parameters=True,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
        pool_timeout=5,
        connect_args={
            # Fail fast when PostgreSQL is unreachable instead of hanging a request.
            "timeout": 5,
            # A row lock held by a stuck or crashed-but-connected client would otherwise
            # hold every request that needs the row, for as long as it lasts.
            "server_settings": {"lock_timeout": str(round(lock_timeout_s * 1000))},
        },
    )


def create_session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)


async def ping(engine: AsyncEngine) -> None:
    """Raise if the database does not answer `SELECT 1`."""
    async with engine.connect() as conn:
        await conn.execute(text("SELECT 1"))


def one_writer_at_a_time(db: async_sessionmaker[AsyncSession]) -> bool:
    """Whether the database takes one writing transaction at a time (SQLite): its other
    writers wait in a busy handler that sleeps 1, 2, 5, 10, … ms between tries, so under
    concurrent turns a write waited up to ~160 ms (p95 at 32 shoppers) for work that takes
    ~2 ms. Callers queue such writes on an asyncio lock instead, woken the moment the
    previous one commits."""
    bind = db.kw.get("bind")
    return bind is not None and bind.dialect.name == "sqlite"
