"""The transformers backend on the tiny random Llama: same contract as the vLLM backend."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from app.domain.prompt import ChatMessage, strip_reasoning
from app.engine.base import (
    Adapter,
    AdapterError,
    EngineError,
    EngineOverloadedError,
    EngineTimeoutError,
    PromptTooLongError,
    SamplingSettings,
)
from app.engine.config import EngineConfig
from app.engine.hf import TransformersEngine

GREEDY = SamplingSettings(max_tokens=12)


def _messages(text: str = "Can I pay for this phone in instalments?") -> list[ChatMessage]:
    return [
        {"role": "system", "content": "You are the shop's assistant."},
        {"role": "user", "content": text},
    ]


def _config(model_dir: Path, **overrides: object) -> EngineConfig:
    settings: dict[str, object] = {
        "backend": "transformers",
        "model_path": str(model_dir),
        "max_queue": 8,
        "generation_timeout_s": 60.0,
        "cpu_threads": 1,  # the CPU is shared: more threads only fight each other
    }
    settings.update(overrides)
    return EngineConfig(**settings)  # type: ignore[arg-type]


@pytest.fixture(scope="session")
async def hf_engine(tiny_model_dir: Path, tiny_lora_dir: Path) -> AsyncIterator[TransformersEngine]:
    engine = TransformersEngine(
        _config(tiny_model_dir), adapters=[Adapter(name="tiny-lora", path=str(tiny_lora_dir))]
    )
    await engine.start()
    yield engine
    await engine.close()


@pytest.fixture
async def small_engine(tiny_model_dir: Path) -> AsyncIterator[TransformersEngine]:
    """A private engine for tests that change limits (the tiny model loads in ~1 s)."""
    engine = TransformersEngine(_config(tiny_model_dir, max_queue=1, warmup=False))
    await engine.start()
    yield engine
    await engine.close()


def _reference_reply(model_dir: Path, messages: list[ChatMessage], max_tokens: int) -> str:
    """Greedy decoding straight through transformers, for comparison."""
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModelForCausalLM.from_pretrained(model_dir, dtype=torch.float32)
    text = tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)
    ids = tokenizer(text, add_special_tokens=False, return_tensors="pt")["input_ids"]
    out = model.generate(
        input_ids=ids,
        attention_mask=torch.ones_like(ids),
        max_new_tokens=max_tokens,
        do_sample=False,
        pad_token_id=tokenizer.eos_token_id,
    )
    return strip_reasoning(tokenizer.decode(out[0, ids.shape[1] :], skip_special_tokens=True))


async def test_transformers_engine_generate_matches_plain_greedy_decoding(
    hf_engine: TransformersEngine, tiny_model_dir: Path
) -> None:
    generation = await hf_engine.generate(_messages(), GREEDY)

    assert generation.text == _reference_reply(tiny_model_dir, _messages(), GREEDY.max_tokens)
    assert generation.prompt_tokens > 10
    assert 1 <= generation.completion_tokens <= GREEDY.max_tokens
    assert generation.finish_reason in {"stop", "length"}
    assert await hf_engine.is_ready()


async def test_transformers_engine_stream_chunks_concatenate_to_reply(
    hf_engine: TransformersEngine,
) -> None:
    settings = SamplingSettings(max_tokens=24)
    chunks = [c async for c in hf_engine.stream(_messages(), settings)]
    full = await hf_engine.generate(_messages(), settings)

    assert "".join(c.text for c in chunks) == full.text
    assert [c.finished for c in chunks] == [False] * (len(chunks) - 1) + [True]
    assert chunks[-1].completion_tokens == full.completion_tokens


async def test_transformers_engine_adapter_changes_greedy_output(
    hf_engine: TransformersEngine, tiny_lora_dir: Path
) -> None:
    adapter = Adapter(name="tiny-lora", path=str(tiny_lora_dir))
    base = await hf_engine.generate(_messages(), GREEDY)
    tuned = await hf_engine.generate(_messages(), GREEDY, adapter=adapter)
    base_again = await hf_engine.generate(_messages(), GREEDY)

    assert tuned.text != base.text
    assert base_again.text == base.text  # the adapter does not leak into later requests


async def test_transformers_engine_unknown_adapter_is_refused(
    hf_engine: TransformersEngine, tiny_lora_dir: Path, tmp_path: Path
) -> None:
    with pytest.raises(AdapterError, match="unknown adapter"):
        await hf_engine.generate(_messages(), GREEDY, adapter=Adapter("nope", str(tiny_lora_dir)))
    with pytest.raises(AdapterError, match=r"adapter_config\.json"):
        await hf_engine.add_adapter(Adapter("empty", str(tmp_path)))
    with pytest.raises(AdapterError, match="already served"):
        await hf_engine.add_adapter(Adapter("tiny-lora", str(tmp_path)))
    assert "tiny-lora" in hf_engine.adapters and "empty" not in hf_engine.adapters
    assert hf_engine.queue_depth == 0


async def test_transformers_engine_hot_added_adapter_serves_without_restart(
    hf_engine: TransformersEngine, make_lora_adapter, tiny_model_dir: Path, tiny_lora_dir: Path
) -> None:
    second = Adapter(name="tiny-lora-2", path=str(make_lora_adapter(tiny_model_dir, seed=2)))
    await hf_engine.add_adapter(second)
    await hf_engine.add_adapter(second)  # idempotent

    known = Adapter("tiny-lora", str(tiny_lora_dir))
    first = await hf_engine.generate(_messages(), GREEDY, adapter=known)
    other = await hf_engine.generate(_messages(), GREEDY, adapter=second)
    base = await hf_engine.generate(_messages(), GREEDY)

    assert len({first.text, other.text, base.text}) == 3
    assert set(hf_engine.adapters) == {"tiny-lora", "tiny-lora-2"}


async def test_transformers_engine_timeout_waiting_for_model_raises(
    tiny_model_dir: Path,
) -> None:
    engine = TransformersEngine(_config(tiny_model_dir, generation_timeout_s=0.2, warmup=False))
    await engine.start()
    try:
        # Another generation holds the model for longer than this request's whole budget.
        async with engine._lock:
            with pytest.raises(EngineTimeoutError):
                await engine.generate(_messages(), GREEDY)
        assert engine.queue_depth == 0
        assert (await engine.generate(_messages(), SamplingSettings(max_tokens=2))).text is not None
    finally:
        await engine.close()


async def test_transformers_engine_timeout_mid_stream_stops_generation(
    tiny_model_dir: Path,
) -> None:
    engine = TransformersEngine(_config(tiny_model_dir, generation_timeout_s=3.0))
    await engine.start()
    try:
        # ~1,500 tokens: far longer than the budget, so the worker must be stopped.
        stream = engine.stream(_messages(), SamplingSettings(max_tokens=1500))
        first = await anext(stream)
        await asyncio.sleep(3.1)  # the budget runs out while the client is reading
        with pytest.raises(EngineTimeoutError):
            await anext(stream)
        assert first.text
        # The worker stopped and released the model: the next request fits its budget.
        after = await engine.generate(_messages(), SamplingSettings(max_tokens=2))
        assert after.completion_tokens >= 1
        assert engine.queue_depth == 0
    finally:
        await engine.close()


async def test_transformers_engine_overload_raises(small_engine: TransformersEngine) -> None:
    first = small_engine.stream(_messages(), SamplingSettings(max_tokens=64))
    await anext(first)  # admitted and holding the only slot
    assert small_engine.queue_depth == 1

    with pytest.raises(EngineOverloadedError):
        await small_engine.generate(_messages(), GREEDY)

    await first.aclose()  # the client went away
    assert small_engine.queue_depth == 0
    after = await small_engine.generate(_messages(), SamplingSettings(max_tokens=2))
    assert after.completion_tokens >= 1


async def test_transformers_engine_cancelled_request_frees_its_slot(
    small_engine: TransformersEngine,
) -> None:
    started = asyncio.Event()

    async def read_slowly() -> None:
        async for _ in small_engine.stream(_messages(), SamplingSettings(max_tokens=400)):
            started.set()
            await asyncio.sleep(3600)

    task = asyncio.create_task(read_slowly())
    await started.wait()
    task.cancel()  # what Starlette does when the client disconnects
    with pytest.raises(asyncio.CancelledError):
        await task

    # The abandoned stream is closed by asyncio's async-generator finaliser on a later
    # loop iteration (`contextlib.aclosing` in the caller makes it immediate).
    for _ in range(200):
        if small_engine.queue_depth == 0:
            break
        await asyncio.sleep(0.01)
    assert small_engine.queue_depth == 0
    after = await small_engine.generate(_messages(), SamplingSettings(max_tokens=2))
    assert after.completion_tokens >= 1


async def test_transformers_engine_concurrent_requests_match_sequential(
    hf_engine: TransformersEngine, tiny_lora_dir: Path
) -> None:
    adapter = Adapter(name="tiny-lora", path=str(tiny_lora_dir))
    jobs = [(f"Question {i}: does it fit my limit?", adapter if i % 2 else None) for i in range(6)]
    sequential = [await hf_engine.generate(_messages(q), GREEDY, adapter=a) for q, a in jobs]

    concurrent = await asyncio.gather(
        *(hf_engine.generate(_messages(q), GREEDY, adapter=a) for q, a in jobs)
    )

    assert [g.text for g in concurrent] == [g.text for g in sequential]
    assert hf_engine.queue_depth == 0


async def test_transformers_engine_refuses_prompt_longer_than_context(
    hf_engine: TransformersEngine,
) -> None:
    with pytest.raises(PromptTooLongError, match="max_model_len"):
        await hf_engine.generate(_messages("price " * 3000), GREEDY)
    assert hf_engine.queue_depth == 0


async def test_transformers_engine_counts_prompt_tokens_as_it_renders_them(
    hf_engine: TransformersEngine,
) -> None:
    messages = _messages("How much is it per month over 6 months?")
    generation = await hf_engine.generate(messages, SamplingSettings(max_tokens=2))
    assert hf_engine.count_tokens(messages) == generation.prompt_tokens > 0
    assert hf_engine.context_length == hf_engine.config.max_model_len


async def test_transformers_engine_not_started_is_not_ready(tiny_model_dir: Path) -> None:
    engine = TransformersEngine(_config(tiny_model_dir))

    assert not await engine.is_ready()
    with pytest.raises(EngineError, match="not running"):
        await engine.generate(_messages(), GREEDY)
    await engine.close()  # closing an engine that never started is harmless
