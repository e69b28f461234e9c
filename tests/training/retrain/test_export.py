"""Export from a real database: the app (embedded SQLite, migrated by Alembic) logs turns
and outcome events through its API; the export turns them into labelled TaskExamples."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from app.core.config import Settings
from app.domain.profile import AccountStanding, StorefrontContext
from app.domain.rules import Action, DeclineReason, Intent
from app.main import create_app
from app.store.db import create_db_engine
from app.store.migrations import upgrade
from app.store.models import MessageRow, SessionRow
from tests.factories import ScriptedEngine, make_profile
from tests.training.retrain.logs import PHONE, chat, correct_reply, event, put_profile
from training.data.ecommerce.io import load_split
from training.data.schema import GoldDecision, Split
from training.retrain.export import (
    ExportResult,
    ExportStats,
    LoggedTurn,
    build_examples,
    export_logs,
    split_of,
    training_rows,
)

GOOD = make_profile("u-good")  # eligible, gold tier, $1,200.00 available
LATE = make_profile("u-late", account_standing=AccountStanding.LATE)
HUMAN = make_profile("u-human")

BUY = "Can I buy the Pixel 9 phone on instalments?"
LIMIT = "What's my credit limit?"
ELIGIBLE = "Can I pay in instalments?"
AGENT = "I want to speak to a human agent."
REPLIES = {
    BUY: correct_reply(GOOD, PHONE, Intent.PURCHASE_FIT),
    LIMIT: "Your credit limit is $9,999.00.",  # wrong: it is $1,500.00
    ELIGIBLE: "Yes, you can pay in instalments.",  # wrong: the account is late
    AGENT: "I'm putting you through to a human agent now.",
}


def _reply(messages: Sequence[Any]) -> str:
    return REPLIES.get(messages[-1]["content"], "Happy to help.")


@dataclass
class Logged:
    settings: Settings
    sessions: dict[str, str]  # name -> session id
    result: ExportResult
    out: Path


async def _legacy_session(url: str) -> None:
    """A turn logged before migration 0003: no context, no profile snapshot."""
    engine = create_db_engine(url, pool_size=1)
    try:
        async with engine.begin() as conn:
            await conn.execute(
                SessionRow.__table__.insert().values(
                    id="legacy-session", user_id="u-good", variant="default", policy_version="base"
                )
            )
            await conn.execute(
                MessageRow.__table__.insert(),
                [
                    {"session_id": "legacy-session", "role": "user", "content": ELIGIBLE},
                    {"session_id": "legacy-session", "role": "assistant", "content": "Sure."},
                ],
            )
    finally:
        await engine.dispose()


@pytest.fixture(scope="module")
async def logged(tmp_path_factory: pytest.TempPathFactory, intent_classifier: Any) -> Logged:
    root = tmp_path_factory.mktemp("retrain-export")
    # Monitor mode: the policy's (scripted, partly wrong) replies are what gets logged.
    settings = Settings(MORE_DATA_DIR=root / "service", MORE_GUARD_MODE="monitor", _env_file=None)  # type: ignore[call-arg]
    await asyncio.to_thread(upgrade, settings.database_url)  # runs its own event loop
    app = create_app(settings, engine=ScriptedEngine(_reply))
    sessions: dict[str, str] = {}
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for profile in (GOOD, LATE, HUMAN):
                await put_profile(client, profile)
            first = await chat(client, GOOD.user_id, BUY, PHONE)
            sid = sessions["good"] = first["session_id"]
            await chat(client, GOOD.user_id, LIMIT, session_id=sid)
            await event(client, sid, "offer_shown")
            await event(client, sid, "conversion", amount="299.00", currency="USD")
            await event(client, sid, "satisfaction", score=5)

            sid = sessions["late"] = (await chat(client, LATE.user_id, ELIGIBLE))["session_id"]
            await event(client, sid, "handoff", reason="unresolved")
            await event(client, sid, "satisfaction", score=1)

            sessions["human"] = (await chat(client, HUMAN.user_id, AGENT))["session_id"]
    await _legacy_session(settings.database_url)
    out = root / "export"
    result = await export_logs(
        settings.database_url,
        out,
        dev_fraction=0.0,
        progress=False,
        classify=intent_classifier.classify_many,
    )
    return Logged(settings, sessions, result, out)


def _by_session(logged: Logged, name: str) -> list[Any]:
    items = [e for e in logged.result.examples if e.session_id == logged.sessions[name]]
    return sorted(items, key=lambda e: e.example.id)


async def test_chat_logs_context_and_profile_snapshot_with_user_turns(logged: Logged) -> None:
    engine = create_db_engine(logged.settings.database_url, pool_size=1)
    try:
        async with engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(MessageRow.role, MessageRow.context, MessageRow.profile_snapshot)
                    .where(MessageRow.session_id == logged.sessions["good"])
                    .order_by(MessageRow.id)
                )
            ).all()
    finally:
        await engine.dispose()
    assert [r.role for r in rows] == ["user", "assistant", "user", "assistant"]
    first_user = rows[0]
    assert StorefrontContext.model_validate(first_user.context) == PHONE
    assert first_user.profile_snapshot["user_id"] == "u-good"
    assert Decimal(first_user.profile_snapshot["credit_limit"]) == GOOD.credit_limit
    # The follow-up was sent without `context`: it is answered, and stored, on the page
    # of the turn before (what the shopper still sees).
    assert StorefrontContext.model_validate(rows[2].context) == PHONE
    assert rows[1].context is None and rows[1].profile_snapshot is None  # assistant rows


def test_export_labels_each_logged_turn_with_rules(logged: Logged) -> None:
    stats = logged.result.stats
    assert stats.sessions == 4 and stats.user_turns == 5 and stats.exported == 4
    assert stats.skipped == {"no_snapshot": 1}  # the pre-0003 turn

    buy, limit = _by_session(logged, "good")
    assert buy.example.intent is Intent.PURCHASE_FIT
    assert buy.example.decision.action is Action.APPROVE
    assert buy.example.decision.amounts["price"] == Decimal("299.00")
    assert buy.example.context == PHONE and buy.example.profile == GOOD
    assert limit.example.intent is Intent.CREDIT_INFO
    assert limit.example.decision.action is Action.INFORM
    # The second turn's prompt history is the first turn as logged.
    assert limit.example.history == [
        {"role": "user", "content": BUY},
        {"role": "assistant", "content": REPLIES[BUY]},
    ]

    (late,) = _by_session(logged, "late")
    assert late.example.intent is Intent.INSTALMENT_ELIGIBILITY
    assert late.example.decision.action is Action.DECLINE
    assert late.example.decision.reason is DeclineReason.ACCOUNT_STANDING

    (human,) = _by_session(logged, "human")
    assert human.example.intent is Intent.HUMAN_REQUEST
    assert human.example.decision.action is Action.HANDOFF

    for item in logged.result.examples:
        ex = item.example
        assert ex.decision == GoldDecision.from_decision(ex.redecide())
        assert ex.reasoning == list(ex.redecide().reasoning)
        assert ex.references and ex.split is Split.TRAIN and "logged" in ex.tags


def test_export_attaches_outcome_labels(logged: Logged) -> None:
    buy, limit = _by_session(logged, "good")
    assert buy.outcome.converted and buy.outcome.offer_shown and buy.outcome.satisfaction == 5
    assert buy.outcome.positive and not buy.outcome.handed_off
    assert {"outcome:converted", "outcome:positive", "satisfaction:5"} <= set(buy.example.tags)
    assert limit.outcome == buy.outcome  # outcomes belong to the session

    (late,) = _by_session(logged, "late")
    assert late.outcome.handed_off and late.outcome.satisfaction == 1 and late.outcome.negative
    assert not late.outcome.converted

    (human,) = _by_session(logged, "human")
    # A reply that handed off is a policy handoff event, and is flagged on the message.
    assert human.outcome.handed_off and human.outcome.satisfaction is None


def test_export_promotes_only_correct_replies_of_good_sessions(logged: Logged) -> None:
    buy, limit = _by_session(logged, "good")
    assert buy.logged_reply_correct
    assert buy.example.references[0] == REPLIES[BUY] and "logged_reference" in buy.example.tags
    # Same good session, but the reply invents a limit: never a reference.
    assert not limit.logged_reply_correct and REPLIES[LIMIT] not in limit.example.references
    (late,) = _by_session(logged, "late")
    assert not late.logged_reply_correct and REPLIES[ELIGIBLE] not in late.example.references
    assert logged.result.stats.logged_references == 1


def test_export_training_rows_repeat_badly_ended_sessions(logged: Logged) -> None:
    rows = training_rows(logged.result.examples, negative_repeat=2)
    (late,) = _by_session(logged, "late")
    (human,) = _by_session(logged, "human")
    assert sum(r.id == late.example.id for r in rows) == 2
    # handed off without converting counts as a bad outcome too
    assert sum(r.id == human.example.id for r in rows) == 2
    buy, _ = _by_session(logged, "good")
    assert sum(r.id == buy.example.id for r in rows) == 1


def test_export_writes_task_example_jsonl(logged: Logged) -> None:
    train = load_split(logged.out / "logged_train.jsonl")
    assert sorted(e.id for e in train) == sorted(e.example.id for e in logged.result.examples)
    assert (logged.out / "logged_dev.jsonl").read_text() == ""
    assert len((logged.out / "logged.jsonl").read_text().splitlines()) == 4


def test_export_split_is_stable_per_session() -> None:
    ids = [f"session-{i}" for i in range(2000)]
    dev = [s for s in ids if split_of(s, 0.1) is Split.DEV]
    assert 0.07 < len(dev) / len(ids) < 0.13
    assert dev == [s for s in ids if split_of(s, 0.1) is Split.DEV]
    assert all(split_of(s, 0.0) is Split.TRAIN for s in ids)


async def test_export_reads_only_sessions_since(logged: Logged) -> None:
    from datetime import UTC, datetime, timedelta

    from training.retrain.export import read_logs

    url = logged.settings.database_url
    past, _ = await read_logs(url, since=datetime.now(UTC) - timedelta(days=1))
    assert len(past) == 5
    future, outcomes = await read_logs(url, since=datetime.now(UTC) + timedelta(days=1))
    assert future == [] and outcomes == {}


async def test_guard_interventions_export_as_preference_pairs(
    tmp_path: Path, intent_classifier: Any
) -> None:
    """Enforce mode replaces the wrong replies; the export pairs each replacement (chosen)
    with the policy's own reply (rejected), prompted as the policy saw the turn."""
    import json

    settings = Settings(MORE_DATA_DIR=tmp_path / "service", _env_file=None)  # type: ignore[call-arg]
    await asyncio.to_thread(upgrade, settings.database_url)
    app = create_app(settings, engine=ScriptedEngine(_reply), intents=intent_classifier)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            for profile in (GOOD, LATE):
                await put_profile(client, profile)
            fixed = await chat(client, LATE.user_id, ELIGIBLE)  # "Yes" to a late account
            kept = await chat(client, GOOD.user_id, BUY, PHONE)  # correct: not a pair
    assert fixed["reply"] != REPLIES[ELIGIBLE] and kept["reply"] == REPLIES[BUY]
    result = await export_logs(
        settings.database_url,
        tmp_path / "export",
        dev_fraction=0.0,
        progress=False,
        classify=intent_classifier.classify_many,
    )
    pairs = [json.loads(line) for line in result.paths["interventions"].read_text().splitlines()]
    assert result.stats.interventions == len(pairs) == 1
    (pair,) = pairs
    assert pair["rejected"][0]["content"] == REPLIES[ELIGIBLE]
    assert pair["chosen"][0]["content"] == fixed["reply"]
    assert pair["intervention"] in ("resample", "fallback")
    assert pair["prompt"][-1]["content"] == ELIGIBLE
    assert "Verdict: decline" in pair["prompt"][0]["content"]


def test_export_reads_an_unplaceable_follow_up_as_the_earlier_request() -> None:
    """As serving does: "why not?" after a purchase question is labelled as that purchase,
    not skipped as unclear; on its own it stays unclear."""
    from app.engine.intent import IntentGuess

    ask = "Can I buy the phone on instalments?"
    known = {ask: Intent.PURCHASE_FIT}

    def classify(messages: Sequence[str], _users: Sequence[str]) -> list[IntentGuess]:
        return [IntentGuess(known.get(m.replace("item", "phone")), 0.9, 1.0) for m in messages]

    def turn(session: str, history: list[dict[str, str]]) -> LoggedTurn:
        return LoggedTurn(
            session_id=session, turn_no=len(history) // 2, user_id="u-good", message="why not?",
            reply="", reply_handoff=False, context=PHONE.model_dump(mode="json"),
            profile=GOOD.model_dump(mode="json"), history=history, policy_version="more-v1",
            variant="default", created_at=None,
        )  # fmt: skip

    follow_up = turn(
        "s-1", [{"role": "user", "content": ask}, {"role": "assistant", "content": "…"}]
    )
    alone = turn("s-2", [])
    stats = ExportStats()
    (exported,) = build_examples([follow_up, alone], {}, classify=classify, stats=stats)
    assert exported.example.intent is Intent.PURCHASE_FIT
    assert exported.example.decision.action is Action.APPROVE
    assert stats.skipped == {"intent_unclear": 1}
