"""The vLLM backend on the bundled SmolLM2 (`vllm_engine`: one engine per session, ~35 s start)."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from app.domain.prompt import ChatMessage
from app.engine.base import Adapter, AdapterError, PromptTooLongError, SamplingSettings
from app.engine.vllm import VLLMEngine

pytestmark = pytest.mark.slow

GREEDY = SamplingSettings(max_tokens=24)


def _messages(text: str = "Can I pay for a $300 phone in instalments?") -> list[ChatMessage]:
    return [
        {"role": "system", "content": "You are the shop's assistant. Answer briefly."},
        {"role": "user", "content": text},
    ]


async def test_vllm_engine_greedy_reply_is_deterministic(vllm_engine: VLLMEngine) -> None:
    first = await vllm_engine.generate(_messages(), GREEDY)
    second = await vllm_engine.generate(_messages(), GREEDY)

    assert first.text and first.text == second.text
    assert first.text == first.text.strip()
    assert "<reasoning>" not in first.text
    assert first.prompt_tokens > 10
    assert 1 <= first.completion_tokens <= GREEDY.max_tokens
    assert first.finish_reason in {"stop", "length"}
    assert await vllm_engine.is_ready()


async def test_vllm_engine_stream_chunks_concatenate_to_reply(vllm_engine: VLLMEngine) -> None:
    chunks = [c async for c in vllm_engine.stream(_messages(), GREEDY)]
    full = await vllm_engine.generate(_messages(), GREEDY)

    assert len(chunks) > 2  # streamed piece by piece, not in one block
    assert "".join(c.text for c in chunks) == full.text
    assert [c.finished for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1].completion_tokens == full.completion_tokens


async def test_vllm_engine_adapter_changes_greedy_output(
    vllm_engine: VLLMEngine, bundled_lora_dir: Path
) -> None:
    adapter = Adapter(name="bundled-lora", path=str(bundled_lora_dir))
    base = await vllm_engine.generate(_messages(), GREEDY)
    tuned = await vllm_engine.generate(_messages(), GREEDY, adapter=adapter)
    base_again = await vllm_engine.generate(_messages(), GREEDY)

    assert tuned.text and tuned.text != base.text
    assert base_again.text == base.text


async def test_vllm_engine_hot_added_adapter_serves_without_restart(
    vllm_engine: VLLMEngine, make_lora_adapter, bundled_model_dir: Path, tmp_path: Path
) -> None:
    new_version = Adapter(name="bundled-lora-2", path=str(make_lora_adapter(bundled_model_dir, 2)))
    with pytest.raises(AdapterError, match="unknown adapter"):
        await vllm_engine.generate(_messages(), GREEDY, adapter=new_version)
    with pytest.raises(AdapterError, match=r"adapter_config\.json"):
        await vllm_engine.add_adapter(Adapter(name="broken", path=str(tmp_path)))

    await vllm_engine.add_adapter(new_version)
    await vllm_engine.add_adapter(new_version)  # idempotent
    base = await vllm_engine.generate(_messages(), GREEDY)
    tuned = await vllm_engine.generate(_messages(), GREEDY, adapter=new_version)

    assert tuned.text and tuned.text != base.text
    assert {"bundled-lora", "bundled-lora-2"} <= set(vllm_engine.adapters)
    assert "broken" not in vllm_engine.adapters


async def test_vllm_engine_concurrent_requests_all_complete(
    vllm_engine: VLLMEngine, bundled_lora_dir: Path
) -> None:
    adapter = Adapter(name="bundled-lora", path=str(bundled_lora_dir))
    questions = [f"Does item {i} fit my instalment limit?" for i in range(8)]

    replies = await asyncio.gather(
        *(
            vllm_engine.generate(_messages(q), SamplingSettings(max_tokens=16), adapter=a)
            for q, a in zip(questions, [adapter, None] * 4, strict=True)
        )
    )

    assert all(r.text and r.completion_tokens >= 1 for r in replies)
    assert vllm_engine.queue_depth == 0


async def test_vllm_engine_closed_stream_aborts_the_request(vllm_engine: VLLMEngine) -> None:
    stream = vllm_engine.stream(_messages(), SamplingSettings(max_tokens=200))
    first = await anext(stream)
    assert vllm_engine.queue_depth == 1

    await stream.aclose()  # the client disconnected after the first words

    assert first.text
    assert vllm_engine.queue_depth == 0
    assert vllm_engine._llm is not None
    assert vllm_engine._llm.get_num_unfinished_requests() == 0


async def test_vllm_engine_counts_prompt_tokens_as_it_renders_them(
    vllm_engine: VLLMEngine,
) -> None:
    messages: list[ChatMessage] = [{"role": "user", "content": "Is it 6 x $49.83 a month?"}]
    generation = await vllm_engine.generate(messages, SamplingSettings(max_tokens=2))
    assert vllm_engine.count_tokens(messages) == generation.prompt_tokens > 0
    assert vllm_engine.context_length == vllm_engine.config.max_model_len


async def test_vllm_engine_refuses_prompt_longer_than_context(vllm_engine: VLLMEngine) -> None:
    with pytest.raises(PromptTooLongError, match="max_model_len"):
        await vllm_engine.generate(_messages("price " * 3000), GREEDY)
    assert vllm_engine.queue_depth == 0


async def test_vllm_engine_samples_several_candidates_in_one_request(
    vllm_engine: VLLMEngine, bundled_lora_dir: Path
) -> None:
    """The reply guard's resample: n sequences share one prompt prefill."""
    adapter = Adapter(name="bundled-lora", path=str(bundled_lora_dir))
    sampled = SamplingSettings(max_tokens=12, temperature=1.0, n=3, seed=7)
    candidates = await vllm_engine.generate_many(_messages(), sampled, adapter=adapter)

    assert len(candidates) == 3
    assert all(c.prompt_tokens > 10 and 1 <= c.completion_tokens <= 12 for c in candidates)
    assert len({c.text for c in candidates}) > 1  # sampled, not three copies of greedy
    assert vllm_engine.queue_depth == 0
