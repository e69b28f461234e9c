"""Outcome events through a PostgreSQL outage and a Redis crash, as compose runs them.

Four clients post events without pause while a throwaway PostgreSQL is stopped (events
go to the Redis outbox: 202), the throwaway Redis, started with an append-only file as
docker-compose.yml runs it, is killed with SIGKILL and restarted while PostgreSQL is
still down (its outbox must survive), PostgreSQL comes back (the outbox drains), and
Redis is killed once more. Clients behave as documented: an event not accepted (503, or
no answer) is retried with the same event_id. At the end every event the API accepted
(201, 200 or 202) is stored exactly once, and none twice.
"""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import func, select

from app.core.config import Settings
from app.main import create_app
from app.store.db import create_db_engine, create_session_factory
from app.store.migrations import upgrade
from app.store.models import EventRow
from tests.factories import (
    ScriptedEngine,
    bearer,
    chat_body,
    make_profile,
    profile_body,
    serve_in_thread,
)
from tests.throwaway import ThrowawayPostgres, ThrowawayRedis

SHOP_KEY = "fault-test-storefront-key-0123456789"
ADMIN_KEY = "fault-test-admin-key-0123456789"
CLIENTS = 4


@pytest.fixture
def postgres() -> Iterator[ThrowawayPostgres]:
    pg = ThrowawayPostgres()
    try:
        pg.init()
        pg.start()
        upgrade(pg.url)
        yield pg
    finally:
        pg.destroy()


@pytest.fixture
def redis(tmp_path: Path) -> Iterator[ThrowawayRedis]:
    server = ThrowawayRedis(tmp_path, appendonly=True)
    server.start()
    yield server
    server.kill()


class _Producer:
    """One client posting events back to back, each retried until it is accepted."""

    def __init__(self, base: str, worker: int, session_id: str) -> None:
        self.base = base
        self.worker = worker
        self.session_id = session_id
        self.accepted: dict[str, int] = {}  # event id -> the 2xx status that accepted it
        self.statuses: Counter[int | str] = Counter()
        self.stop = asyncio.Event()

    async def run(self) -> None:
        async with httpx.AsyncClient(base_url=self.base, timeout=10) as client:
            n = 0
            while not self.stop.is_set():
                event_id = f"w{self.worker}-e{n}"
                await self._until_accepted(client, event_id)
                n += 1

    async def _until_accepted(self, client: httpx.AsyncClient, event_id: str) -> None:
        body = {
            "event_id": event_id,
            "type": "satisfaction",
            "session_id": self.session_id,
            "score": 4,
        }
        while True:
            try:
                response = await client.post("/v1/events", json=body, headers=bearer(SHOP_KEY))
            except httpx.TransportError:
                self.statuses["no answer"] += 1
            else:
                self.statuses[response.status_code] += 1
                if response.status_code in (200, 201, 202):
                    self.accepted[event_id] = response.status_code
                    return
                assert response.status_code == 503, response.text  # only outages, no bugs
            if self.stop.is_set():
                return  # given up: never accepted, so it may be stored at most once
            await asyncio.sleep(0.05)


async def _stored(url: str) -> Counter[str]:
    engine = create_db_engine(url, pool_size=1)
    try:
        async with create_session_factory(engine)() as db:
            rows = await db.execute(
                select(EventRow.client_event_id, func.count()).group_by(EventRow.client_event_id)
            )
            return Counter({event_id: n for event_id, n in rows})
    finally:
        await engine.dispose()


async def _outbox_pending(redis_url: str, key: str) -> int:
    from redis.asyncio import Redis

    client = Redis.from_url(redis_url, socket_timeout=1)
    try:
        return int(await client.xlen(key))
    finally:
        await client.aclose()


async def test_events_accepted_through_postgres_and_redis_restarts_land_exactly_once(
    postgres: ThrowawayPostgres, redis: ThrowawayRedis
) -> None:
    settings = Settings(
        _env_file=None,  # type: ignore[call-arg]
        DATABASE_URL=postgres.url,
        REDIS_URL=redis.url,
        MORE_DEMO_API_KEY=SHOP_KEY,
        MORE_ADMIN_API_KEY=ADMIN_KEY,
        MORE_GUARD_MODE="off",
        MORE_REDIS_TIMEOUT_S=0.3,
        MORE_DB_POOL_SIZE=4,
        MORE_RATE_LIMIT_EVENTS_PER_KEY=1_000_000,
    )
    outbox_key = f"{settings.MORE_REDIS_PREFIX}events:outbox"
    app = create_app(settings=settings, engine=ScriptedEngine("Happy to help."))
    with serve_in_thread(app) as base:
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            profile = make_profile()
            put = await client.put(
                f"/v1/profiles/{profile.user_id}",
                json=profile_body(profile),
                headers=bearer(ADMIN_KEY),
            )
            assert put.status_code == 201, put.text
            sessions = []
            for _ in range(CLIENTS):
                chat = await client.post(
                    "/v1/chat", json=chat_body(profile.user_id), headers=bearer(SHOP_KEY)
                )
                assert chat.status_code == 200, chat.text
                sessions.append(chat.json()["session_id"])

        producers = [_Producer(base, i, sid) for i, sid in enumerate(sessions)]
        tasks = [asyncio.create_task(p.run()) for p in producers]
        try:
            await asyncio.sleep(1.0)  # normal operation: 201s
            await asyncio.to_thread(postgres.stop, "immediate")  # a crash, not a shutdown
            await asyncio.sleep(1.5)  # events go to the Redis outbox: 202s
            assert await _outbox_pending(redis.url, outbox_key) > 0
            redis.kill()  # SIGKILL with the outbox full and PostgreSQL still down
            await asyncio.sleep(1.0)  # neither can take an event: 503s, clients retry
            redis.start()  # same port and folder: the AOF is replayed
            await asyncio.sleep(1.5)  # 202s again, behind the outbox that survived
            await asyncio.to_thread(postgres.start)
            await asyncio.sleep(2.0)  # 201s; the drainer empties the outbox
            redis.kill()  # and Redis once more, with PostgreSQL up
            await asyncio.sleep(0.5)
            redis.start()
            await asyncio.sleep(1.0)
        finally:
            for producer in producers:
                producer.stop.set()
            await asyncio.gather(*tasks)

        # An item leaves the outbox only after its transaction committed.
        deadline = time.monotonic() + 60
        while await _outbox_pending(redis.url, outbox_key):
            assert time.monotonic() < deadline, "the outbox did not drain"
            await asyncio.sleep(0.5)

    accepted = {eid: status for p in producers for eid, status in p.accepted.items()}
    statuses = sum((p.statuses for p in producers), Counter())
    stored = await _stored(postgres.url)
    # The run went through every state: stored now, queued, and refused while both were down.
    assert statuses[201] and statuses[202] and statuses[503], statuses
    assert len(accepted) > 50, statuses
    lost = sorted(eid for eid in accepted if stored[eid] == 0)
    doubled = sorted(eid for eid, n in stored.items() if n > 1)
    assert lost == [], f"{len(lost)} accepted events lost: {lost[:10]}"
    assert doubled == [], f"{len(doubled)} events stored twice: {doubled[:10]}"
