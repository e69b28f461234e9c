"""`more retrain` end to end on the tiny model: logs written by a running app (transformers
engine) -> MORE for 2 steps from the registered policy's adapter -> dev evaluation ->
registered through the admin API (not promoted) -> promoted and served without restart."""

from __future__ import annotations

import asyncio
import json
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml

from app.core.config import Settings
from app.domain.profile import AccountStanding, StorefrontContext
from app.main import create_app
from app.store.migrations import upgrade
from more_client import AsyncMoreClient
from tests.factories import make_profile
from tests.training.retrain.logs import ADMIN, PHONE, chat, event, put_profile
from training.retrain.pipeline import (
    RetrainConfig,
    RetrainError,
    RetrainSummary,
    resolve_base_policy,
    retrain,
)

pytestmark = pytest.mark.slow

CUSTOMERS = [
    (make_profile("u-r1"), "Can I buy the Pixel 9 phone on instalments?", PHONE),
    (
        make_profile("u-r2", account_standing=AccountStanding.LATE),
        "Can I pay in instalments?",
        None,
    ),
    (make_profile("u-r3"), "What's my credit limit?", None),
    (
        make_profile("u-r4"),
        "Where is my order?",
        StorefrontContext(order_id="ord-1", order_status="shipped"),
    ),
]


@dataclass
class Service:
    client: httpx.AsyncClient
    settings: Settings
    engine: Any
    transport: httpx.AsyncBaseTransport
    api: AsyncMoreClient  # what the job uses: the admin key, on the same app


@pytest.fixture(scope="module")
async def service(
    tmp_path_factory: pytest.TempPathFactory, tiny_model_dir: Path, tiny_lora_dir: Path
) -> AsyncIterator[Service]:
    from app.engine.config import EngineConfig
    from app.engine.hf import TransformersEngine

    root = tmp_path_factory.mktemp("retrain-service")
    settings = Settings(  # type: ignore[call-arg]
        MORE_DATA_DIR=root,
        # adapters (the tiny LoRA, retrained versions) live under pytest's temporary folder
        MORE_ADAPTERS_ROOT=tmp_path_factory.getbasetemp(),
        MORE_ENGINE="transformers",
        MORE_MODEL_PATH=str(tiny_model_dir),
        MORE_MAX_TOKENS=8,
        _env_file=None,
    )
    await asyncio.to_thread(upgrade, settings.database_url)
    engine = TransformersEngine(
        EngineConfig(
            backend="transformers", model_path=str(tiny_model_dir), warmup=False, cpu_threads=1
        )
    )
    await engine.start()
    app = create_app(settings, engine=engine)
    try:
        async with app.router.lifespan_context(app):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(
                transport=transport, base_url="http://test", timeout=300
            ) as client:
                # The current policy: an adapter registered and promoted earlier.
                r = await client.post(
                    "/v1/policies",
                    json={"name": "tiny-v1", "adapter_path": str(tiny_lora_dir)},
                    headers=ADMIN,
                )
                assert r.status_code == 201, r.text
                r = await client.post("/v1/policies/tiny-v1/promote", headers=ADMIN)
                assert r.status_code == 200, r.text
                for i, (profile, message, context) in enumerate(CUSTOMERS):
                    await put_profile(client, profile)
                    reply = await chat(client, profile.user_id, message, context)
                    assert reply["policy_version"] == "tiny-v1"
                    sid = reply["session_id"]
                    await event(client, sid, "satisfaction", score=5 if i % 2 == 0 else 1)
                async with AsyncMoreClient(
                    "http://test", admin_key="demo-admin-key", transport=transport, timeout_s=300
                ) as api:
                    yield Service(client, settings, engine, transport, api)
    finally:
        await engine.close()


@pytest.fixture(scope="module")
async def summary(service: Service, tmp_path_factory: pytest.TempPathFactory) -> RetrainSummary:
    cfg = RetrainConfig(
        base_policy="promoted",  # resolves to tiny-v1 through the admin API
        out=tmp_path_factory.mktemp("retrain-run"),
        database_url=service.settings.database_url,
        steps=2,
        model_path=str(service.settings.MORE_MODEL_PATH),
        overrides={
            "per_device_train_batch_size": 4,
            "num_generations": 2,
            "max_completion_length": 8,
            "learning_rate": 5.0e-2,
            "constraint_rewards": ["decision_reward", "handoff_reward"],
            "linguistic_rewards": ["naturalness_reward", "concision_reward"],
            "lambda_warmup_steps": 0,
            "disable_tqdm": True,
        },
        generated_ratio=1.0,
        dev_fraction=0.0,  # four sessions: the dev split falls back to generated examples
        eval_limit=4,
        eval_max_new_tokens=8,
        eval_rewards=["decision_reward", "concision_reward"],
        admin_key="demo-admin-key",
        name="tiny-v2",
    )
    return await retrain(cfg, api=service.api, progress=False)


async def test_retrain_registers_an_unpromoted_version(
    service: Service, summary: RetrainSummary
) -> None:
    assert summary.base_policy == "tiny-v1"
    assert summary.registered is not None and summary.registered["status"] == "registered"
    r = await service.client.get("/v1/policies/tiny-v2", headers=ADMIN)
    assert r.status_code == 200
    body = r.json()
    assert body["status"] == "registered"
    assert Path(body["adapter_path"]) == Path(summary.adapter).resolve()
    assert body["details"]["trained_from"] == "tiny-v1"
    assert set(body["metrics"]["dev"]) >= {
        "all_satisfied",
        "constraints/decision",
        "rewards/concision",
    }
    # Still the old policy for new sessions until someone promotes it.
    profile = make_profile("u-r5")
    await put_profile(service.client, profile)
    assert (await chat(service.client, profile.user_id, "Hi there!"))["policy_version"] == "tiny-v1"


async def test_retrain_trains_from_logged_and_generated_rows(summary: RetrainSummary) -> None:
    out = Path(summary.out)
    assert summary.export["exported"] == 4 and summary.export["sessions"] == 4
    # the two sessions rated 1 are repeated in the mix (sampling weight 2)
    assert summary.mix["logged_rows"] == 6 and summary.mix["generated_rows"] == 6
    train = (out / "data" / "train.jsonl").read_text().splitlines()
    assert len(train) == 12
    assert sum('"logged"' in line for line in train) == 6
    run_config = yaml.safe_load((out / "more" / "run_config.yaml").read_text())
    # MORE started from the registered policy's adapter (also its frozen KL reference)
    assert run_config["trainer"]["scaffold_path"] == summary.base_adapter
    assert run_config["trainer"]["max_steps"] == 2
    metrics = [json.loads(x) for x in (out / "more" / "metrics.jsonl").read_text().splitlines()]
    assert [m["step"] for m in metrics if "step" in m][-1] == 2
    assert (Path(summary.adapter) / "adapter_config.json").is_file()
    assert set(summary.evaluation) >= {"new", "base", "plot"}
    assert Path(summary.evaluation["plot"]).is_file()
    text = (out / "summary.md").read_text()
    assert "tiny-v2" in text and "| all_satisfied |" in text


async def test_resolve_base_policy_reads_the_registry_table_without_the_api(
    service: Service, summary: RetrainSummary, tiny_lora_dir: Path
) -> None:
    url = service.settings.database_url
    base = await resolve_base_policy("promoted", api=None, database_url=url)
    assert base.name == "tiny-v1" and base.adapter_path == tiny_lora_dir.resolve()
    new = await resolve_base_policy("tiny-v2", api=None, database_url=url)
    assert new.adapter_path == Path(summary.adapter).resolve()


async def test_retrained_version_is_promoted_and_served_without_restart(
    service: Service, summary: RetrainSummary
) -> None:
    r = await service.client.post("/v1/policies/tiny-v2/promote", headers=ADMIN)
    assert r.status_code == 200 and r.json()["status"] == "promoted"
    profile = make_profile("u-r6")
    await put_profile(service.client, profile)
    reply = await chat(service.client, profile.user_id, "Can I pay in instalments?")
    assert reply["policy_version"] == "tiny-v2"


async def test_retrain_refuses_unknown_base_policy(service: Service, tmp_path: Path) -> None:
    def cfg(**extra: Any) -> RetrainConfig:
        return RetrainConfig(out=tmp_path, database_url=service.settings.database_url, **extra)

    unknown = cfg(base_policy="no-such-version", admin_key="demo-admin-key")
    with pytest.raises(RetrainError, match="no policy version"):
        await retrain(unknown, api=service.api, progress=False)
    async with AsyncMoreClient("http://test", transport=service.transport) as keyless:
        with pytest.raises(RetrainError, match="refused the admin key"):
            await retrain(cfg(base_policy="tiny-v1"), api=keyless, progress=False)
    assert not (tmp_path / "data").exists()  # stopped before exporting anything
