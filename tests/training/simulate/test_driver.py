"""The simulator driver against a fake service (httpx.MockTransport), no network."""

from __future__ import annotations

import json
import zlib
from collections import Counter
from pathlib import Path
from typing import Any

import httpx
import pytest

from app.domain.rules import Action
from more_client import AsyncMoreClient
from training.data.schema import TaskExample
from training.simulate.driver import ORACLE_ARM, SimulationConfig, run_simulation
from training.simulate.outcomes import Judgement
from training.simulate.summary import (
    ArmSummary,
    Rate,
    oracle_recovery,
    plot_arms,
    summarise,
    to_markdown,
)
from training.simulate.tasks import simulation_tasks

GOOD, BAD = "GOOD REPLY", "BAD REPLY"


@pytest.fixture(scope="module")
def tasks() -> list[TaskExample]:
    return simulation_tasks(60, seed=3)


def fake_judge(example: TaskExample, reply: str) -> Judgement:
    """GOOD replies (and gold references) are right and clear; anything else is wrong."""
    right = reply == GOOD or reply in example.references
    return Judgement(
        stance=example.decision.action if right else None,
        decision=1.0 if right else 0.0,
        numeric=1.0 if right else 0.0,
        state=1.0,
        handoff=1.0 if right else 0.0,
        words=12,
    )


class FakeService:
    """Just enough of the API: profiles, chat (two variants), events, handoffs."""

    def __init__(
        self, *, fail_first_events: int = 0, chat_status: int = 200, drop_first_chats: int = 0
    ) -> None:
        self.profiles: dict[str, dict[str, Any]] = {}
        self.events: dict[str, dict[str, Any]] = {}
        self.handoffs: list[tuple[str, str]] = []
        self.calls: Counter[str] = Counter()
        self.fail_first_events = fail_first_events
        self.chat_status = chat_status
        self.drop_first_chats = drop_first_chats  # read timeouts after the chat was applied
        self.chat_keys: list[str] = []
        self.sessions: dict[str, str] = {}

    def __call__(self, request: httpx.Request) -> httpx.Response:
        path, method = request.url.path, request.method
        self.calls[f"{method} {path.split('/')[2]}"] += 1
        auth = request.headers.get("Authorization")
        if path.startswith("/v1/profiles/"):
            assert auth == "Bearer admin"
            body = json.loads(request.content)
            assert "user_id" not in body and body["currency"]
            self.profiles[path.rsplit("/", 1)[1]] = body
            return httpx.Response(200, json=body)
        assert auth == "Bearer store"
        if path == "/v1/chat":
            if self.chat_status != 200:
                return httpx.Response(self.chat_status, json={"error": {"message": "no"}})
            body = json.loads(request.content)
            assert body["user_id"] in self.profiles
            assert request.headers["Idempotency-Key"]
            self.chat_keys.append(request.headers["Idempotency-Key"])
            if self.drop_first_chats > 0:
                self.drop_first_chats -= 1
                raise httpx.ReadTimeout("the reply was lost", request=request)
            variant = "more" if zlib.crc32(body["user_id"].encode()) % 2 else "sft"
            session_id = f"s-{body['user_id']}"
            self.sessions[session_id] = variant
            return httpx.Response(
                200,
                json={
                    "session_id": session_id,
                    "reply": GOOD if variant == "more" else BAD,
                    "variant": variant,
                    "policy_version": f"{variant}-v1",
                    "handoff": False,
                },
            )
        if path == "/v1/events":
            if self.fail_first_events > 0:
                self.fail_first_events -= 1
                return httpx.Response(503, headers={"Retry-After": "0"})
            body = json.loads(request.content)
            assert body["session_id"] in self.sessions
            self.events.setdefault(body["event_id"], body)  # idempotent by event id
            return httpx.Response(202, json={"accepted": True})
        if path.endswith("/handoff"):
            session_id = path.split("/")[3]
            self.handoffs.append((session_id, json.loads(request.content)["reason"]))
            return httpx.Response(200, json={"session_id": session_id, "status": "human"})
        return httpx.Response(404)


async def _run(service: FakeService, tasks, **config: Any):
    async def no_sleep(_: float) -> None:
        return None

    settings = SimulationConfig(**config)
    async with AsyncMoreClient(
        "http://sim",
        "store",
        admin_key="admin",
        retry=settings.retry_policy(),
        transport=httpx.MockTransport(service),
        sleep=no_sleep,
    ) as api:
        return await run_simulation(api, tasks, config=settings, judge=fake_judge)


async def test_driver_sends_profiles_chats_and_outcome_events(tasks) -> None:
    service = FakeService()
    result = await _run(service, tasks, sessions=200, seed=11, concurrency=8)
    assert not result.errors
    assert len(service.profiles) == 200
    assert service.calls["POST chat"] == 200
    events = list(service.events.values())
    assert all(e["source"] == "simulator" for e in events)
    assert all(e["event_id"].startswith(e["session_id"]) for e in events)
    conversions = [e for e in events if e["type"] == "conversion"]
    assert conversions and all(e["amount"] and e["currency"] for e in conversions)
    assert all(1 <= e["score"] <= 5 for e in events if e["type"] == "satisfaction")
    # Every sent event landed once; escalations went through the takeover endpoint.
    assert sum(r.events_sent for r in result.records) == len(events) + len(service.handoffs)
    assert {reason for _, reason in service.handoffs} <= {"customer_request", "unresolved"}
    # The variant answering right and clearly converts more and hands off less.
    arms = summarise(result)
    assert arms["more"].conversion.value > arms["sft"].conversion.value
    assert arms["more"].handoff.value < arms["sft"].handoff.value
    assert arms["more"].decision_accuracy == 1.0


async def test_driver_outcomes_do_not_depend_on_concurrency(tasks) -> None:
    one = await _run(FakeService(), tasks, sessions=80, seed=5, concurrency=1)
    many = await _run(FakeService(), tasks, sessions=80, seed=5, concurrency=16)
    assert [(r.arm, r.outcome) for r in one.records] == [(r.arm, r.outcome) for r in many.records]
    other = await _run(FakeService(), tasks, sessions=80, seed=6, concurrency=16)
    assert [r.outcome for r in other.records] != [r.outcome for r in many.records]


async def test_driver_retries_with_the_same_event_id(tasks) -> None:
    service = FakeService(fail_first_events=3)
    result = await _run(service, tasks, sessions=30, seed=2, concurrency=1)
    assert not result.errors
    sent_events = sum(r.events_sent for r in result.records) - len(service.handoffs)
    assert service.calls["POST events"] == sent_events + 3  # three 503s retried
    assert len(service.events) == sent_events


async def test_driver_retries_a_lost_chat_reply_with_the_same_idempotency_key(tasks) -> None:
    service = FakeService(drop_first_chats=2)
    result = await _run(service, tasks, sessions=5, seed=2, concurrency=1)
    assert not result.errors
    assert len(service.chat_keys) == 5 + 2
    assert service.chat_keys[0] == service.chat_keys[1] == service.chat_keys[2]  # one turn
    assert len(set(service.chat_keys)) == 5


async def test_driver_oracle_arm_answers_with_references_without_the_service(tasks) -> None:
    service = FakeService()
    result = await _run(service, tasks, sessions=40, seed=1, oracle_share=1.0)
    assert sum(service.calls.values()) == 0
    assert {r.arm for r in result.records} == {ORACLE_ARM}
    assert all(r.judgement.decision == 1.0 for r in result.records)


async def test_driver_records_failed_sessions_and_carries_on(tasks) -> None:
    service = FakeService(chat_status=422)
    result = await _run(service, tasks, sessions=10, seed=1)
    assert len(result.errors) == 10
    assert "422" in result.errors[0].error
    assert not service.events


async def test_summary_reports_oracle_recovery_and_renders(tasks, tmp_path: Path) -> None:
    result = await _run(FakeService(), tasks, sessions=300, seed=4, oracle_share=0.3)
    arms = summarise(result)
    assert set(arms) == {"sft", "more", ORACLE_ARM}
    share = oracle_recovery(arms, baseline="sft", variant="more")
    # "more" answers as well as the oracle in the fake service, so it recovers a large,
    # positive share of the oracle's lift (about 100 sessions per arm: noisy).
    assert share is not None and share > 0.3
    text = to_markdown(result, arms)
    assert text.startswith("**SIMULATION**")
    assert plot_arms(arms, tmp_path / "arms.png").stat().st_size > 1000
    gold = [r for r in result.records if r.arm == ORACLE_ARM]
    assert all(r.gold is Action(r.judgement.stance) for r in gold if r.judgement.stance)


def test_summary_oracle_recovery_is_the_share_of_the_oracle_lift() -> None:
    def arm(name: str, conversions: int) -> ArmSummary:
        rate = Rate.of(conversions, 1000)
        return ArmSummary(name, 1000, rate, rate, Rate.of(0, 1000), None, 0, None)

    arms = {"sft": arm("sft", 100), "more": arm("more", 160), ORACLE_ARM: arm(ORACLE_ARM, 200)}
    # (0.16 - 0.10) / (0.20 - 0.10) = 0.6: the paper's "~60% of the human agents' lift".
    assert oracle_recovery(arms, baseline="sft", variant="more") == pytest.approx(0.6)
    assert oracle_recovery({"sft": arms["sft"]}, baseline="sft", variant="more") is None
