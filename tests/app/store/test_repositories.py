"""Repositories on the embedded SQLite file: exact money, keyword-only calls, turns."""

from __future__ import annotations

from collections.abc import AsyncIterator
from decimal import Decimal
from pathlib import Path

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.security import DEFAULT_STOREFRONT_ID as SF
from app.store import conversations, profiles
from app.store.db import create_db_engine, create_session_factory
from app.store.migrations import upgrade
from tests.factories import make_profile, run_sync


async def test_repositories_money_roundtrips_exactly_and_turns_are_recorded(
    tmp_path: Path,
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'more.db'}"
    run_sync(upgrade, url)
    engine = create_db_engine(url)
    db = create_session_factory(engine)
    try:
        profile = make_profile(
            credit_limit=Decimal("123456789012.34"), outstanding_balance=Decimal("0.10")
        )
        async with db() as s, s.begin():
            _, created = await profiles.upsert_profile(s, storefront_id=SF, profile=profile)
        assert created
        async with db() as s:
            loaded = await profiles.get_profile(s, storefront_id=SF, user_id=profile.user_id)
        assert loaded == profile
        assert loaded.credit_limit == Decimal("123456789012.34")
        assert loaded.available_credit == Decimal("123456789012.24")

        turn = conversations.TurnRecord("hi", "hello", 10, 2, 12.5, False)
        for _ in range(3):
            async with db() as s, s.begin():
                await conversations.record_turn(
                    s,
                    storefront_id=SF,
                    session_id="s-1",
                    user_id=profile.user_id,
                    variant="default",
                    policy_version="base",
                    experiment=None,
                    api_key_name="k",
                    turn=turn,
                )
        async with db() as s:
            assert await conversations.count_messages(s, storefront_id=SF, session_id="s-1") == 6
            recent = await conversations.recent_history(
                s, storefront_id=SF, session_id="s-1", max_messages=3
            )
            session = await conversations.get_session(s, storefront_id=SF, session_id="s-1")
            # Another storefront sees none of it.
            assert (
                await conversations.get_session(s, storefront_id="other", session_id="s-1") is None
            )
            assert (
                await conversations.count_messages(s, storefront_id="other", session_id="s-1") == 0
            )
            assert not await conversations.recent_history(
                s, storefront_id="other", session_id="s-1", max_messages=3
            )
            assert (
                await profiles.get_profile(s, storefront_id="other", user_id=profile.user_id)
                is None
            )
        assert [m["role"] for m in recent] == ["assistant", "user", "assistant"]
        assert session is not None and session.user_id == profile.user_id
    finally:
        await engine.dispose()


@pytest.fixture
async def shopper_db(tmp_path: Path) -> AsyncIterator[tuple[async_sessionmaker[AsyncSession], str]]:
    """A migrated embedded SQLite file with one shopper: (session factory, user id)."""
    url = f"sqlite+aiosqlite:///{tmp_path / 'more.db'}"
    run_sync(upgrade, url)
    engine = create_db_engine(url)
    db = create_session_factory(engine)
    profile = make_profile()
    async with db() as s, s.begin():
        await profiles.upsert_profile(s, storefront_id=SF, profile=profile)
    yield db, profile.user_id
    await engine.dispose()


async def test_a_turn_is_written_with_what_the_caller_knows_of_its_session(
    shopper_db: tuple[async_sessionmaker[AsyncSession], str],
) -> None:
    """The chat service says whether the session is new (no lookup); either way a turn
    lands as two rows, the reply's columns on the assistant's row only, and documents that
    are missing are SQL NULL, not JSON `null`."""
    from sqlalchemy import text

    db, user_id = shopper_db
    context = {"items": [{"title": "Pixel 9 phone", "price": "299.00", "quantity": 1}]}
    turn = conversations.TurnRecord(
        "Can I pay monthly?", "Yes: $49.83 a month over 6 months.", 120, 14, 900.0, False,
        context=context, intent="purchase_fit", guard_passed=True, intervention="none",
    )  # fmt: skip
    for is_new in (True, False, None):
        async with db() as s, s.begin():
            await conversations.record_turn(
                s,
                storefront_id=SF,
                session_id="s-1",
                user_id=user_id,
                variant="default",
                policy_version="base",
                experiment=None,
                api_key_name="k",
                turn=turn,
                is_new=is_new,
            )
    async with db() as s:
        rows = (
            await s.execute(
                text(
                    "SELECT role, context IS NULL, profile_snapshot IS NULL, guard IS NULL, "
                    "intent, completion_tokens FROM messages ORDER BY id"
                )
            )
        ).all()
        stored = await conversations.latest_context(s, storefront_id=SF, session_id="s-1")
        sessions = (await s.execute(text("SELECT count(*) FROM sessions"))).scalar_one()
    assert stored == context and sessions == 1
    assert [tuple(r) for r in rows] == [
        ("user", 0, 1, 1, None, None),
        ("assistant", 1, 1, 1, "purchase_fit", 14),
    ] * 3


async def test_sqlite_turns_are_written_one_after_another(
    shopper_db: tuple[async_sessionmaker[AsyncSession], str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """SQLite takes one writer at a time and makes the others sleep in its busy handler:
    concurrent turns queue on the turn log's lock instead, and all of them land."""
    import asyncio

    from app.services.idempotency import IdempotencyService
    from app.services.policies import Policy
    from app.services.turn_log import TurnLog
    from app.store.db import one_writer_at_a_time
    from app.store.sessions import InMemorySessionCache

    db, user_id = shopper_db
    postgres = create_db_engine("postgresql+asyncpg://u@127.0.0.1:1/x")
    assert one_writer_at_a_time(db) and not one_writer_at_a_time(create_session_factory(postgres))
    await postgres.dispose()
    writing, most = 0, 0
    record_turn = conversations.record_turn

    async def counted(*args: object, **kwargs: object) -> None:
        nonlocal writing, most
        writing += 1
        most = max(most, writing)
        await asyncio.sleep(0.001)  # let the others try
        await record_turn(*args, **kwargs)  # type: ignore[arg-type]
        writing -= 1

    monkeypatch.setattr(conversations, "record_turn", counted)
    log = TurnLog(
        db=db,
        cache=InMemorySessionCache(ttl_s=60, max_messages=8),
        idempotency=IdempotencyService(db=db),
    )
    turn = conversations.TurnRecord("hi", "hello", 1, 1, 1.0, False)
    await asyncio.gather(
        *(
            log.record(
                storefront_id=SF,
                session_id=f"s-{i}",
                user_id=user_id,
                policy=Policy("default", "base", None),
                api_key_name="k",
                turn=turn,
                claim=None,
                response={},
                history=[],
                history_from_cache=True,
                is_new=True,
            )
            for i in range(16)
        )
    )
    assert most == 1
    async with db() as s:
        counts = [
            await conversations.count_messages(s, storefront_id=SF, session_id=f"s-{i}")
            for i in range(16)
        ]
    assert counts == [2] * 16
