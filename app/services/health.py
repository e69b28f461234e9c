"""Readiness: can this replica serve? The database and engine are required; the session
cache is not (turns fall back to the database), so its loss only degrades."""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncEngine

from app.core import metrics
from app.engine.base import ChatEngine
from app.store.db import ping as ping_db
from app.store.sessions import SessionCache

logger = logging.getLogger(__name__)

CheckStatus = Literal["ok", "down"]
_CHECK_TIMEOUT_S = 2.0


@dataclass(frozen=True)
class Readiness:
    status: Literal["ok", "degraded", "unavailable"]
    checks: dict[str, CheckStatus]

    @property
    def serving(self) -> bool:
        return self.status != "unavailable"


async def _check(name: str, probe) -> CheckStatus:  # type: ignore[no-untyped-def]
    try:
        async with asyncio.timeout(_CHECK_TIMEOUT_S):
            ok = await probe
        status: CheckStatus = "down" if ok is False else "ok"
    except Exception as exc:
        logger.warning("readiness: %s is down: %s", name, exc)
        status = "down"
    metrics.DEPENDENCY_UP.labels(name).set(1 if status == "ok" else 0)
    return status


async def check_readiness(
    *, db_engine: AsyncEngine, cache: SessionCache, engine: ChatEngine
) -> Readiness:
    database, cache_status, engine_status = await asyncio.gather(
        _check("database", ping_db(db_engine)),
        _check("cache", cache.ping()),
        _check("engine", engine.is_ready()),
    )
    checks: dict[str, CheckStatus] = {
        "database": database,
        "cache": cache_status,
        "engine": engine_status,
    }
    if database == "down" or engine_status == "down":
        status: Literal["ok", "degraded", "unavailable"] = "unavailable"
    elif cache_status == "down":
        status = "degraded"
    else:
        status = "ok"
    return Readiness(status=status, checks=checks)
