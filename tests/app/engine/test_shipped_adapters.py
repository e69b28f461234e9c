"""The adapters shipped under models/ load into the served engine and change its replies."""

from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import pytest

from app.domain.checks import TurnFacts, verify
from app.domain.profile import CartItem, Profile, StorefrontContext
from app.domain.prompt import REASONING_OPEN, build_messages
from app.domain.rules import Action, Intent, decide
from app.engine.base import Adapter, SamplingSettings
from app.engine.vllm import VLLMEngine
from app.services.demo import DEMO_CASES

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
def test_shipped_adapter_weights_are_half_precision(name: str) -> None:
    """`more train ship` writes fp16: every re-ship is a new blob in the history, and the
    engines cast adapter weights to the model's dtype when they load them."""
    header = _safetensors_header(MODELS / name / "adapter_model.safetensors")
    assert {t["dtype"] for k, t in header.items() if k != "__metadata__"} == {"F16"}


def _safetensors_header(path: Path) -> dict:
    with path.open("rb") as f:
        size = int.from_bytes(f.read(8), "little")  # the format: u64 length, JSON header
        return json.loads(f.read(size))


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


@pytest.mark.parametrize("name", SHIPPED)
@pytest.mark.parametrize("with_verdict", [True, False], ids=["verdict", "no-verdict"])
async def test_shipped_adapter_approves_the_readme_example(
    vllm_engine: VLLMEngine, name: str, with_verdict: bool
) -> None:
    """The README's curl: demo-eligible asks about a $299 phone. Both adapters, with the
    served prompt (the rules' verdict when the service recognises the intent) and without
    it (the classifier abstained), answer directly with an approval, never a reasoning
    trace. With the served prompt a policy is right in every check, in <= 40 tokens."""
    profile = next(c.profile for c in DEMO_CASES if c.profile.user_id == "demo-eligible")
    context = StorefrontContext(items=[CartItem(title="Pixel 9 phone", price=Decimal("299.00"))])
    message = "Can I pay for this phone in instalments?"
    decision = decide(profile, context, Intent.PURCHASE_FIT) if with_verdict else None
    messages = build_messages(profile, context, [], message, decision=decision)
    adapter = Adapter(name=f"shipped-{name}", path=str(MODELS / name))
    await vllm_engine.add_adapter(adapter)

    reply = await vllm_engine.generate(messages, SamplingSettings(max_tokens=64), adapter=adapter)

    assert REASONING_OPEN not in reply.text
    assert reply.finish_reason != "length", reply.text
    facts = TurnFacts(profile, context, message, Intent.PURCHASE_FIT)
    verdict = verify(facts, reply.text)
    assert verdict.stance is Action.APPROVE, reply.text
    if with_verdict:
        assert verdict.passed, (reply.text, verdict.failed)
        assert reply.completion_tokens <= 40, reply.text
