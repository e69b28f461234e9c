"""The adapters shipped under models/ load into the served engine and change its replies."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from app.domain.profile import CartItem, Profile, StorefrontContext
from app.domain.prompt import build_messages
from app.engine.base import Adapter, SamplingSettings
from app.engine.vllm import VLLMEngine

pytestmark = pytest.mark.slow

MODELS = Path(__file__).resolve().parents[3] / "models"
SHIPPED = ("more", "sft")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_adapter_has_weights_config_and_model_card(name: str) -> None:
    folder = MODELS / name
    config = json.loads((folder / "adapter_config.json").read_text())

    assert (folder / "adapter_model.safetensors").stat().st_size > 0
    assert config["peft_type"] == "LORA"
    card = (folder / "README.md").read_text()
    for section in ("Command", "Config", "Seed", "Data", "Evaluation"):
        assert section in card, f"model card of {name} lacks {section}"


@pytest.mark.parametrize("name", SHIPPED)
async def test_shipped_adapter_changes_the_served_reply(vllm_engine: VLLMEngine, name: str) -> None:
    profile = Profile(user_id="u-1", credit_limit=Decimal("500"))
    context = StorefrontContext(items=[CartItem(title="Phone", price=Decimal("299"))])
    messages = build_messages(profile, context, [], "Can I pay for this phone in instalments?")
    greedy = SamplingSettings(max_tokens=32)
    adapter = Adapter(name=f"shipped-{name}", path=str(MODELS / name))

    await vllm_engine.add_adapter(adapter)
    base = await vllm_engine.generate(messages, greedy)
    tuned = await vllm_engine.generate(messages, greedy, adapter=adapter)

    assert tuned.text and tuned.text != base.text
    assert "<reasoning>" not in tuned.text
