"""The events outbox under a real PostgreSQL outage (a throwaway instance of our own).

Events accepted while the database is down all land once it returns, exactly once,
whether they were retried, repeated or queued in a spool folder or a Redis stream.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

import pytest
from sqlalchemy import func, select

from app.core.security import DEFAULT_STOREFRONT_ID
from app.services.events import EventService, EventType, OutcomeEvent, RecordStatus
from app.services.outbox import Outbox, RedisStreamOutbox, SpoolOutbox
from app.store.db import create_db_engine, create_session_factory
from app.store.migrations import upgrade
from app.store.models import EventRow, ProfileRow, SessionRow
from tests.conftest import TEST_REDIS_URL

PG_BIN = Path("/usr/lib/postgresql/15/bin")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def _as_postgres(*args: str) -> list[str]:
    """initdb refuses to run as root: run PostgreSQL tools as the `postgres` user then."""
    if os.geteuid() == 0:
        return ["runuser", "-u", "postgres", "--", *args]
    return list(args)


class ThrowawayPostgres:
    def __init__(self, root: Path) -> None:
        self.data = root / "data"
        self.log = root / "pg.log"
        self.port = _free_port()
        self.root = root

    @property
    def url(self) -> str:
        return f"postgresql+asyncpg://postgres@127.0.0.1:{self.port}/postgres"

    def init(self) -> None:
        tool = shutil.which("initdb") or str(PG_BIN / "initdb")
        subprocess.run(
            _as_postgres(tool, "-D", str(self.data), "-A", "trust", "-U", "postgres"),
            check=True,
            capture_output=True,
        )

    def start(self) -> None:
        tool = shutil.which("pg_ctl") or str(PG_BIN / "pg_ctl")
        options = f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
        subprocess.run(
            _as_postgres(
                tool, "-D", str(self.data), "-o", options, "-l", str(self.log), "-w", "start"
            ),
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        tool = shutil.which("pg_ctl") or str(PG_BIN / "pg_ctl")
        subprocess.run(
            _as_postgres(tool, "-D", str(self.data), "-m", "fast", "-w", "stop"),
            check=False,
            capture_output=True,
        )


@pytest.fixture(scope="module")
def postgres() -> Iterator[ThrowawayPostgres]:
    if not (shutil.which("initdb") or (PG_BIN / "initdb").exists()):
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed")
    # Not pytest's tmp dir: its parents are private to root, and as root the server
    # runs as `postgres`, which must reach its data folder.
    root = Path(tempfile.mkdtemp(prefix="more-throwaway-pg-"))
    if os.geteuid() == 0:
        shutil.chown(root, "postgres", "postgres")
    pg = ThrowawayPostgres(root)
    try:
        pg.init()
        pg.start()
        upgrade(pg.url)  # the real migrations, on PostgreSQL
        yield pg
    finally:
        pg.stop()
        shutil.rmtree(root, ignore_errors=True)


@pytest.fixture
async def db(postgres: ThrowawayPostgres) -> AsyncIterator:
    engine = create_db_engine(postgres.url, pool_size=2)
    factory = create_session_factory(engine)
    yield factory
    await engine.dispose()


async def _session(db, *, variant: str) -> str:  # type: ignore[no-untyped-def]
    user_id, session_id = f"u-{uuid.uuid4().hex[:8]}", str(uuid.uuid4())
    async with db() as s, s.begin():
        s.add(
            ProfileRow(
                user_id=user_id,
                account_standing="good",
                identity_verified=True,
                region="US",
                age_band="25_34",
                membership_tier="gold",
                currency="USD",
                credit_limit=1000,
                outstanding_balance=0,
            )
        )
        await s.flush()
        s.add(
            SessionRow(
                id=session_id,
                user_id=user_id,
                variant=variant,
                policy_version="more-v1",
                experiment="outage",
            )
        )
    return session_id


def _event(session_id: str, kind: str, n: int) -> OutcomeEvent:
    payload = {"score": 4} if kind == "satisfaction" else {}
    return OutcomeEvent(
        event_id=f"{session_id}:{kind}:{n}",
        type=EventType(kind),
        session_id=session_id,
        storefront_id=DEFAULT_STOREFRONT_ID,
        payload=payload,
    )


async def _stored(db, session_ids: list[str]) -> dict[str, int]:  # type: ignore[no-untyped-def]
    async with db() as s:
        rows = await s.execute(
            select(EventRow.client_event_id, func.count())
            .where(EventRow.session_id.in_(session_ids))
            .group_by(EventRow.client_event_id)
        )
        return {event_id: n for event_id, n in rows}


@pytest.fixture(params=["spool", "redis"])
async def outbox(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[Outbox]:
    if request.param == "spool":
        box: Outbox = SpoolOutbox(tmp_path / "outbox")
    else:
        box = RedisStreamOutbox(TEST_REDIS_URL, key=f"test:outbox:{uuid.uuid4().hex}")
        try:
            await box.pending()
        except Exception as exc:  # pragma: no cover - only without the shared Redis
            pytest.skip(f"Redis not reachable: {exc}")
    yield box
    if isinstance(box, RedisStreamOutbox):
        await box._redis.delete(box.key)
    await box.close()


async def test_outbox_events_accepted_during_outage_land_exactly_once(
    postgres: ThrowawayPostgres, db, outbox: Outbox
) -> None:  # type: ignore[no-untyped-def]
    service = EventService(db=db, outbox=outbox)
    sessions = [await _session(db, variant=v) for v in ("control", "more", "more")]
    before = _event(sessions[0], "offer_shown", 0)
    assert (await service.record(before)).status is RecordStatus.RECORDED

    postgres.stop()
    try:
        during = [
            _event(sid, kind, 1) for sid in sessions for kind in ("conversion", "satisfaction")
        ]
        results = []
        for event in [*during, *during[:3], before]:  # retries and an already-stored event
            results.append(await service.record(event))
        assert {r.status for r in results} == {RecordStatus.QUEUED}
        assert await outbox.pending() == len(during) + 4
        with pytest.raises(Exception):  # noqa: B017 - any driver error: the DB is down
            await service.drain_once()
        assert await outbox.pending() == len(during) + 4  # nothing acknowledged
    finally:
        postgres.start()

    assert await service.drain_all() == len(during) + 4
    assert await outbox.pending() == 0
    stored = await _stored(db, sessions)
    assert stored == {e.event_id: 1 for e in [before, *during]}
    async with db() as s:
        variants = dict(
            (
                await s.execute(
                    select(EventRow.client_event_id, EventRow.variant).where(
                        EventRow.session_id.in_(sessions)
                    )
                )
            ).all()
        )
    assert variants[during[0].event_id] == "control"  # resolved from the session at drain
    # A replay of the same events after the outage changes nothing.
    assert (await service.record(during[0])).status is RecordStatus.DUPLICATE


async def test_outbox_background_drainer_writes_when_the_database_returns(
    postgres: ThrowawayPostgres, db, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    outbox = SpoolOutbox(tmp_path / "spool")
    service = EventService(db=db, outbox=outbox, drain_interval_s=0.05)
    session_id = await _session(db, variant="control")
    postgres.stop()
    try:
        events = [_event(session_id, "satisfaction", n) for n in range(5)]
        for event in events:
            assert (await service.record(event)).status is RecordStatus.QUEUED
        drainer = asyncio.create_task(service.run_drainer())
        await asyncio.sleep(0.3)  # the drainer retries against the stopped database
        assert not drainer.done()
    finally:
        postgres.start()
    try:
        while await outbox.pending():
            await asyncio.sleep(0.05)
    finally:
        drainer.cancel()
    assert await _stored(db, [session_id]) == {e.event_id: 1 for e in events}


async def test_outbox_event_for_unknown_session_is_kept_not_dropped(
    postgres: ThrowawayPostgres, db, tmp_path: Path
) -> None:  # type: ignore[no-untyped-def]
    outbox = SpoolOutbox(tmp_path / "spool")
    service = EventService(db=db, outbox=outbox)
    ghost = OutcomeEvent(
        event_id=f"ghost-{uuid.uuid4()}",
        type=EventType.OFFER_SHOWN,
        session_id="gone",
        storefront_id=DEFAULT_STOREFRONT_ID,
    )
    await outbox.put(ghost.to_json())
    assert await service.drain_all() == 1
    async with db() as s:
        row = await s.scalar(select(EventRow).where(EventRow.client_event_id == ghost.event_id))
    assert row is not None and row.session_id is None
    assert row.payload["unresolved_session_id"] == "gone"


async def test_outbox_unavailable_too_means_503_not_a_silent_loss() -> None:
    from app.core.errors import ServiceUnavailableError

    closed = _free_port()  # nothing listens here: both the database and Redis are "down"
    engine = create_db_engine(f"postgresql+asyncpg://postgres@127.0.0.1:{closed}/x", pool_size=1)
    outbox = RedisStreamOutbox(f"redis://127.0.0.1:{closed}/0", key="never", timeout_s=0.2)
    service = EventService(db=create_session_factory(engine), outbox=outbox)
    try:
        with pytest.raises(ServiceUnavailableError) as err:
            await service.record(_event("s-1", "offer_shown", 0))
        assert err.value.retry_after_s and "retry" in err.value.message
    finally:
        await outbox.close()
        await engine.dispose()


async def test_outbox_item_the_database_refuses_is_dead_lettered_not_blocking(
    postgres: ThrowawayPostgres, db, outbox: Outbox
) -> None:  # type: ignore[no-untyped-def]
    service = EventService(db=db, outbox=outbox)
    session_id = await _session(db, variant="control")
    good = [_event(session_id, "satisfaction", n) for n in range(3)]
    poison = OutcomeEvent(  # longer than the column: PostgreSQL refuses it on every replay
        event_id="x" * 300,
        type=EventType.OFFER_SHOWN,
        session_id=session_id,
        storefront_id=DEFAULT_STOREFRONT_ID,
    )
    await outbox.put(good[0].to_json())
    await outbox.put(poison.to_json())
    await outbox.put({"not": "an event"})
    for event in good[1:]:
        await outbox.put(event.to_json())
    await service.drain_all()
    assert await outbox.pending() == 0
    assert await _stored(db, [session_id]) == {e.event_id: 1 for e in good}
    # Both kept for inspection, out of the way.
    if isinstance(outbox, SpoolOutbox):
        assert len(list((outbox.directory / "dead").iterdir())) == 2
    else:
        assert isinstance(outbox, RedisStreamOutbox)
        assert await outbox._redis.xlen(f"{outbox.key}:dead") == 2
        await outbox._redis.delete(f"{outbox.key}:dead")
