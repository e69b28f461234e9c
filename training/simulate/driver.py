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
concurrency or on the order in which replies come back. Only the HTTP API is used
(training code never imports the serving layers).
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import httpx

from app.domain.rules import Action, Intent
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
    retry_cap_s: longest wait honoured from a Retry-After header.
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


class SimulationError(RuntimeError):
    """A request failed for good (after retries)."""


class ApiClient:
    """The few calls a storefront makes, with retries that keep idempotency keys."""

    def __init__(
        self,
        client: httpx.AsyncClient,
        *,
        api_key: str,
        admin_key: str,
        max_retries: int = 3,
        retry_cap_s: float = 10.0,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self._client = client
        self._api = {"Authorization": f"Bearer {api_key}"}
        self._admin = {"Authorization": f"Bearer {admin_key}"}
        self._max_retries = max_retries
        self._retry_cap_s = retry_cap_s
        self._sleep = sleep

    async def put_profile(self, profile: dict[str, Any]) -> None:
        """Create or replace the shopper's profile (the user id goes in the path only)."""
        body = {k: v for k, v in profile.items() if k != "user_id"}
        await self._request(
            "PUT", f"/v1/profiles/{profile['user_id']}", json=body, headers=self._admin
        )

    async def chat(self, body: dict[str, Any], *, idempotency_key: str) -> dict[str, Any]:
        return await self._request(
            "POST",
            "/v1/chat",
            json=body,
            headers={**self._api, "Idempotency-Key": idempotency_key},
        )

    async def event(self, body: dict[str, Any]) -> dict[str, Any]:
        return await self._request("POST", "/v1/events", json=body, headers=self._api)

    async def handoff(self, session_id: str, *, reason: str) -> dict[str, Any]:
        return await self._request(
            "POST",
            f"/v1/sessions/{session_id}/handoff",
            json={"reason": reason, "source": SIMULATION_SOURCE},
            headers=self._api,
        )

    async def report(self, experiment: str) -> dict[str, Any]:
        return await self._request(
            "GET", f"/v1/experiments/{experiment}/report", headers=self._admin
        )

    async def report_png(self, experiment: str) -> bytes:
        response = await self._send(
            "GET", f"/v1/experiments/{experiment}/report.png", headers=self._admin
        )
        return response.content

    async def _request(self, method: str, url: str, **kwargs: Any) -> dict[str, Any]:
        response = await self._send(method, url, **kwargs)
        return response.json() if response.content else {}

    async def _send(self, method: str, url: str, **kwargs: Any) -> httpx.Response:
        last = ""
        for attempt in range(self._max_retries + 1):
            try:
                response = await self._client.request(method, url, **kwargs)
            except httpx.TransportError as exc:  # connection refused, reset, timeout
                last = f"{type(exc).__name__}: {exc}"
                await self._sleep(min(2.0**attempt, self._retry_cap_s))
                continue
            if response.status_code in (429, 502, 503, 504):
                last = f"{response.status_code} {response.text[:200]}"
                wait = _retry_after(response) or 2.0**attempt
                await self._sleep(min(wait, self._retry_cap_s))
                continue
            if response.status_code >= 400:
                raise SimulationError(
                    f"{method} {url} -> {response.status_code}: {response.text[:300]}"
                )
            return response
        raise SimulationError(f"{method} {url} failed after retries: {last}")


async def run_simulation(
    api: ApiClient,
    tasks: Sequence[TaskExample],
    *,
    config: SimulationConfig,
    judge: Judge,
    model: OutcomeModel | None = None,
    on_session: Callable[[SessionRecord], None] | None = None,
) -> SimulationResult:
    """Run `config.sessions` simulated sessions against the API behind `api`."""
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
    api: ApiClient,
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
            profile = example.profile.model_copy(update={"user_id": user_id})
            await api.put_profile(profile.model_dump(mode="json"))
            body: dict[str, Any] = {"user_id": user_id, "message": example.message}
            if example.context.model_dump(exclude_defaults=True):
                body["context"] = example.context.model_dump(mode="json", exclude_defaults=True)
            reply = await api.chat(body, idempotency_key=f"{user_id}-{index}-chat")
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
    except (SimulationError, KeyError, ValueError) as exc:
        record.error = f"{type(exc).__name__}: {exc}"
    return record


async def _report_outcome(
    api: ApiClient, record: SessionRecord, *, currency: str, server_handoff: bool
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
        await api.event(event("offer_shown"))
        sent += 1
    if outcome.converted and outcome.amount is not None:
        await api.event(event("conversion", amount=str(outcome.amount), currency=currency))
        sent += 1
    if outcome.handoff and outcome.handoff_reason == "policy":
        # The service logs handoffs it flags itself; a reply the parser reads as a
        # handoff but the service did not flag is logged here, once.
        if not server_handoff:
            await api.event(event("handoff", reason="policy"))
            sent += 1
    elif outcome.handoff and outcome.handoff_reason is not None:
        await api.handoff(session_id, reason=outcome.handoff_reason)
        sent += 1
    if outcome.satisfaction is not None:
        await api.event(event("satisfaction", score=outcome.satisfaction))
        sent += 1
    return sent


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None
