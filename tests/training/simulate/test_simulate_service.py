"""The simulator against the real API (in process, scripted engine): events land, the
server's report agrees with what the simulator sent."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest

from app.core.config import Settings
from app.main import create_app
from app.store import experiments as repo
from app.store.migrations import upgrade
from more_client import AsyncMoreClient
from tests.factories import ScriptedEngine
from training.simulate.driver import SimulationConfig, run_simulation
from training.simulate.judge import judge_reply
from training.simulate.summary import summarise
from training.simulate.tasks import simulation_tasks


def _reply(messages: Any) -> str:
    # Approve when the facts say eligible-looking, else hand off: a crude but varied bot.
    facts = messages[0]["content"]
    if "Account standing: good" in facts and "Identity verified: yes" in facts:
        return "Yes, you can pay for it in instalments."
    return "I'll connect you with a human agent who can help."


@pytest.fixture(scope="module")
def settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    cfg = Settings(MORE_DATA_DIR=tmp_path_factory.mktemp("simulate-api"))
    upgrade(cfg.database_url)  # alembic runs its own event loop: outside the async fixture
    return cfg


def _api(transport: httpx.AsyncBaseTransport, config: SimulationConfig) -> AsyncMoreClient:
    """The simulator's client, both keys, on the app in process."""
    return AsyncMoreClient(
        "http://sim",
        "demo-storefront-key",
        admin_key="demo-admin-key",
        retry=config.retry_policy(),
        transport=transport,
    )


@pytest.fixture(scope="module")
async def transport(settings: Settings) -> AsyncIterator[httpx.AsyncBaseTransport]:
    app = create_app(settings, engine=ScriptedEngine(_reply))
    async with app.router.lifespan_context(app):
        async with app.state.services.db() as db, db.begin():
            await repo.ensure_policy_version(db, name="base", base_model="s", adapter_path=None)
            await repo.ensure_policy_version(db, name="base-2", base_model="s", adapter_path=None)
        transport = httpx.ASGITransport(app=app)
        async with _api(transport, SimulationConfig()) as api:
            created = await api.create_experiment(
                name="sim-ab",
                status="running",
                variants=[
                    {"name": "a", "weight": 1, "policy_version": "base"},
                    {"name": "b", "weight": 1, "policy_version": "base-2"},
                ],
            )
            assert created["status"] == "running", created
        yield transport


async def test_simulator_end_to_end_against_the_api(
    transport: httpx.AsyncBaseTransport,
) -> None:
    config = SimulationConfig(sessions=60, seed=9, concurrency=4, oracle_share=0.2)
    tasks = simulation_tasks(60, seed=9)
    async with _api(transport, config) as api:
        result = await run_simulation(api, tasks, config=config, judge=judge_reply)
        report = await api.experiment_report("sim-ab")
        png = await api.experiment_report_png("sim-ab")
    assert not result.errors, result.errors[0].error
    arms = summarise(result)
    assert set(arms) == {"a", "b", "oracle"}

    served = [r for r in result.records if r.arm in ("a", "b")]
    for variant in ("a", "b"):
        mine = [r for r in served if r.arm == variant]
        assert report["sessions"][variant] == len(mine)
        est = report["variants"][variant]
        assert est["conversion_rate"]["value"] == pytest.approx(
            sum(r.outcome.converted for r in mine) / len(mine)
        )
        # The server counts a session as handed off when the shopper escalated or the
        # reply handed off (its own detector); the simulator's view must be a subset.
        handed = sum(r.outcome.handoff and r.outcome.handoff_reason != "policy" for r in mine)
        assert est["handoff_rate"]["value"] * len(mine) >= handed
        assert est["reached_conversion_rate"]["n"] == sum(r.outcome.offer_shown for r in mine)
    assert png[:4] == b"\x89PNG"


@pytest.fixture(scope="module")
async def tiny_transport(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir
) -> AsyncIterator[httpx.AsyncBaseTransport]:  # type: ignore[no-untyped-def]
    from app.engine.config import EngineConfig
    from app.engine.factory import create_engine

    settings = Settings(MORE_DATA_DIR=tmp_path_factory.mktemp("simulate-tiny"), MORE_MAX_TOKENS=16)
    await asyncio.to_thread(upgrade, settings.database_url)
    engine = create_engine(
        EngineConfig(
            backend="transformers",
            model_path=str(tiny_model_dir),
            warmup=False,
            generation_timeout_s=120,
        )
    )
    await engine.start()
    app = create_app(settings, engine=engine)
    try:
        async with app.router.lifespan_context(app):
            yield httpx.ASGITransport(app=app)
    finally:
        await engine.close()


async def test_simulator_end_to_end_on_the_tiny_model(
    tiny_transport: httpx.AsyncBaseTransport,
) -> None:
    """A real (random, tiny) model behind the API: every session completes, its replies are
    judged, and outcome events land; the default policy serves without an experiment."""
    config = SimulationConfig(sessions=8, seed=3, concurrency=2)
    async with _api(tiny_transport, config) as api:
        before = await _sessions_started(api)
        result = await run_simulation(
            api, simulation_tasks(8, seed=3), config=config, judge=judge_reply
        )
        after = await _sessions_started(api)
    assert not result.errors, result.errors[0].error
    assert {r.arm for r in result.records} == {"default"}
    assert all(r.judgement is not None and r.session_id for r in result.records)
    assert after == before + 8


async def _sessions_started(api: AsyncMoreClient) -> float:
    """The process-wide counter (other tests may have moved it before)."""
    text = (await api.request("GET", "/metrics")).text
    for line in text.splitlines():
        if line.startswith('more_sessions_started_total{variant="default"}'):
            return float(line.rsplit(" ", 1)[1])
    return 0.0
