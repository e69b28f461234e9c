"""Idempotency claims left by a process that died mid-request are taken over, not stuck."""

from __future__ import annotations

import uuid
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import update

from app.store import idempotency as repo
from app.store.db import create_db_engine, create_session_factory
from app.store.migrations import upgrade
from app.store.models import IdempotencyRow, utcnow
from tests.factories import run_sync


@pytest.fixture(params=["sqlite", "postgresql"])
async def db(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite+aiosqlite:///{tmp_path / 'more.db'}"
        run_sync(upgrade, url)
    else:
        url = request.getfixturevalue("pg_url")
    engine = create_db_engine(url)
    yield create_session_factory(engine)
    await engine.dispose()


async def _age(db, key: str, seconds: float) -> None:  # type: ignore[no-untyped-def]
    async with db() as s, s.begin():
        await s.execute(
            update(IdempotencyRow)
            .where(IdempotencyRow.key == key)
            .values(created_at=utcnow() - timedelta(seconds=seconds))
        )


async def test_a_stale_unfinished_claim_is_taken_over_by_the_same_request(db) -> None:  # type: ignore[no-untyped-def]
    key = f"k-{uuid.uuid4().hex}"
    claim = {
        "storefront_id": "default",
        "owner": "shop",
        "key": key,
        "route": "/v1/chat",
        "request_hash": "h1",
    }
    async with db() as s:
        assert await repo.claim(s, **claim, stale_after_s=60) is None
    async with db() as s:  # a live request: still in progress
        running = await repo.claim(s, **claim, stale_after_s=60)
    assert running is not None and running.status_code is None

    await _age(db, key, 120)  # its process died: nobody will finish or release it
    async with db() as s:
        other_body = await repo.claim(s, **{**claim, "request_hash": "h2"}, stale_after_s=60)
    assert other_body is not None and other_body.request_hash == "h1"  # never hijacked
    async with db() as s:
        assert await repo.claim(s, **claim, stale_after_s=60) is None  # taken over
    async with db() as s:  # and the new claim is fresh: a second retry waits for it
        again = await repo.claim(s, **claim, stale_after_s=60)
    assert again is not None and again.status_code is None


async def test_without_a_stale_age_claims_wait_and_finished_ones_replay(db) -> None:  # type: ignore[no-untyped-def]
    key = f"k-{uuid.uuid4().hex}"
    claim = {
        "storefront_id": "default",
        "owner": "shop",
        "key": key,
        "route": "/v1/chat",
        "request_hash": "h1",
    }
    async with db() as s:
        assert await repo.claim(s, **claim) is None
    await _age(db, key, 3600)
    async with db() as s:
        waiting = await repo.claim(s, **claim)
    assert waiting is not None and waiting.status_code is None
    async with db() as s, s.begin():
        await repo.complete(
            s,
            storefront_id="default",
            owner="shop",
            key=key,
            status_code=200,
            response={"ok": True},
        )
    async with db() as s:  # an old finished response is replayed, never re-run
        done = await repo.claim(s, **claim, stale_after_s=60)
    assert done is not None and done.response == {"ok": True}
