"""Drive the live HTTP API with simulated customers and emit their outcome events.

SIMULATION. Each session is one simulated shopper (a task example's profile, page
context and message) who asks one question through `POST /v1/chat`. The reply is read
with the reasoning functions (`judge`), the documented outcome model
(`training.simulate.outcomes`) draws what the shopper does next, and the outcome is
reported the way a storefront would: `POST /v1/events` for offers, conversions and
ratings, `POST /v1/sessions/{id}/handoff` when the shopper asks for a human.

An *oracle* arm (a share of sessions, `oracle_share`) answers with the task's gold
reference reply instead of calling the service, standing in for human agents; it
never reaches the server, so it appears only in the simulator's own summary.

Every session has its own rng (`seed`, index), so results do not depend on
concurrency or on the order in which replies come back. Only the HTTP API is used,
through `more_client.AsyncMoreClient` (training code never imports the serving layers).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.domain.rules import Action, Intent
from more_client import AsyncMoreClient, MoreApiError, RetryPolicy
from training.data.schema import TaskExample
from training.simulate.outcomes import Judgement, Outcome, OutcomeModel

ORACLE_ARM = "oracle"
SIMULATION_SOURCE = "simulator"  # stored with every event, so real and simulated data never mix

Judge = Callable[[TaskExample, str], Judgement]


@dataclass(frozen=True)
class SimulationConfig:
    """Settings of one simulator run.

    sessions: number of simulated sessions (one shopper, one question each).
    seed: seeds the task order, the oracle split and every outcome draw.
    concurrency: sessions in flight at once (the service batches generation).
    oracle_share: share of sessions answered with gold reference replies (0 = none).
    user_prefix: simulated user ids are `<prefix>-<seed>-<index>`; never real users.
    max_retries: retries of a failed request (same idempotency key / event id).
    retry_cap_s: longest wait between attempts, a Retry-After header's included.
    """

    sessions: int = 200
    seed: int = 0
    concurrency: int = 4
    oracle_share: float = 0.0
    user_prefix: str = "sim"
    max_retries: int = 3
    retry_cap_s: float = 10.0

    def __post_init__(self) -> None:
        if self.sessions < 1 or self.concurrency < 1:
            raise ValueError("sessions and concurrency must be >= 1")
        if not 0.0 <= self.oracle_share <= 1.0:
            raise ValueError("oracle_share must be in [0, 1]")

    def retry_policy(self) -> RetryPolicy:
        """How the simulator's client retries. Every call it makes is safe to repeat (the
        chat carries an Idempotency-Key, events their event_id, profiles are PUT, handoffs
        are deduplicated), so server and transport errors are retried as well."""
        return RetryPolicy(
            max_attempts=self.max_retries + 1,
            server_errors=True,
            transport_errors=True,
            max_wait_s=self.retry_cap_s,
        )


@dataclass
class SessionRecord:
    """What happened in one simulated session."""

    index: int
    user_id: str
    intent: Intent
    gold: Action
    arm: str | None = None  # the variant the service reported, or "oracle"
    policy_version: str | None = None
    session_id: str | None = None
    reply: str | None = None
    judgement: Judgement | None = None
    outcome: Outcome | None = None
    events_sent: int = 0
    error: str | None = None


@dataclass
class SimulationResult:
    config: SimulationConfig
    records: list[SessionRecord] = field(default_factory=list)

    @property
    def errors(self) -> list[SessionRecord]:
        return [r for r in self.records if r.error is not None]

    @property
    def completed(self) -> list[SessionRecord]:
        return [r for r in self.records if r.error is None and r.outcome is not None]


async def run_simulation(
    api: AsyncMoreClient,
    tasks: Sequence[TaskExample],
    *,
    config: SimulationConfig,
    judge: Judge,
    model: OutcomeModel | None = None,
    on_session: Callable[[SessionRecord], None] | None = None,
) -> SimulationResult:
    """Run `config.sessions` simulated sessions against the API behind `api`.

    `api` needs both keys: the storefront key (chat, events, handoffs) and the admin key
    (profiles); build it with `retry=config.retry_policy()`.
    """
    if not tasks:
        raise ValueError("the simulator needs at least one task example")
    model = model or OutcomeModel()
    result = SimulationResult(config)
    gate = asyncio.Semaphore(config.concurrency)

    async def one(index: int) -> None:
        async with gate:
            record = await simulate_session(
                api, tasks[index % len(tasks)], index=index, config=config, judge=judge, model=model
            )
        result.records.append(record)
        if on_session is not None:
            on_session(record)

    await asyncio.gather(*(one(i) for i in range(config.sessions)))
    result.records.sort(key=lambda r: r.index)
    return result


async def simulate_session(
    api: AsyncMoreClient,
    example: TaskExample,
    *,
    index: int,
    config: SimulationConfig,
    judge: Judge,
    model: OutcomeModel,
) -> SessionRecord:
    """One shopper: profile, question, judged reply, outcome events. Never raises."""
    rng = random.Random(f"{config.seed}:{index}")
    user_id = f"{config.user_prefix}-{config.seed}-{index:06d}"
    record = SessionRecord(
        index=index, user_id=user_id, intent=example.intent, gold=example.decision.action
    )
    oracle = rng.random() < config.oracle_share
    server_handoff = False
    try:
        if oracle:
            record.arm = ORACLE_ARM
            record.reply = rng.choice(example.references)
        else:
            # The path names the user; the body holds the facts only.
            await api.put_profile(
                user_id, example.profile.model_dump(mode="json", exclude={"user_id"})
            )
            reply = await api.chat(
                user_id=user_id,
                message=example.message,
                context=example.context.model_dump(mode="json", exclude_defaults=True),
                idempotency_key=f"{user_id}-{index}-chat",
            )
            record.arm = str(reply.get("variant") or "default")
            record.policy_version = reply.get("policy_version")
            record.session_id = reply["session_id"]
            record.reply = str(reply.get("reply") or "")
            server_handoff = bool(reply.get("handoff"))
        record.judgement = judge(example, record.reply)
        basket = example.context.total if example.context.items else None
        record.outcome = model.sample(
            rng,
            intent=example.intent,
            gold=example.decision.action,
            judgement=record.judgement,
            basket=basket,
        )
        if not oracle:
            record.events_sent = await _report_outcome(
                api, record, currency=example.profile.currency, server_handoff=server_handoff
            )
    except (MoreApiError, httpx.HTTPError, KeyError, ValueError) as exc:
        record.error = f"{type(exc).__name__}: {exc}"
    return record


async def _report_outcome(
    api: AsyncMoreClient, record: SessionRecord, *, currency: str, server_handoff: bool
) -> int:
    """Send the session's outcome the way a storefront would; returns requests sent."""
    assert record.outcome is not None and record.session_id is not None
    outcome, session_id = record.outcome, record.session_id

    def event(kind: str, **fields: Any) -> dict[str, Any]:
        # The id is derived from the session, so a retried POST is deduplicated.
        return {
            "event_id": f"{session_id}:{kind}",
            "type": kind,
            "session_id": session_id,
            "user_id": record.user_id,
            "source": SIMULATION_SOURCE,
            **fields,
        }

    sent = 0
    if outcome.offer_shown:
        await api.post_event(event("offer_shown"))
        sent += 1
    if outcome.converted and outcome.amount is not None:
        await api.post_event(event("conversion", amount=str(outcome.amount), currency=currency))
        sent += 1
    if outcome.handoff and outcome.handoff_reason == "policy":
        # The service logs handoffs it flags itself; a reply the parser reads as a
        # handoff but the service did not flag is logged here, once.
        if not server_handoff:
            await api.post_event(event("handoff", reason="policy"))
            sent += 1
    elif outcome.handoff and outcome.handoff_reason is not None:
        await api.handoff(session_id, reason=outcome.handoff_reason, source=SIMULATION_SOURCE)
        sent += 1
    if outcome.satisfaction is not None:
        await api.post_event(event("satisfaction", score=outcome.satisfaction))
        sent += 1
    return sent
