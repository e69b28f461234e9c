"""VLLMEngine's request handling (filter, abort, timeout, overload) on a scripted AsyncLLM.

The real engine is covered in `test_vllm_engine.py`; these cases need exact control over
what the model emits and when, which a scripted stand-in for `AsyncLLM` gives.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest

from app.domain.prompt import ChatMessage
from app.engine.base import EngineOverloadedError, EngineTimeoutError, SamplingSettings
from app.engine.config import EngineConfig
from app.engine.vllm import VLLMEngine

MESSAGES: list[ChatMessage] = [{"role": "user", "content": "Can I pay in instalments?"}]


@dataclass
class _Completion:
    text: str
    token_ids: list[int]
    finish_reason: str | None


@dataclass
class _Output:
    outputs: list[_Completion]
    finished: bool


class _Renderer:
    async def render_cmpl_async(self, prompts: Sequence[Any]) -> list[Any]:
        return list(prompts)


class _Tokenizer:
    def apply_chat_template(self, messages: list[Any], **kwargs: Any) -> str:
        return " ".join(m["content"] for m in messages)

    def encode(self, text: str, add_special_tokens: bool = False) -> list[int]:
        return list(range(len(text.split())))


@dataclass
class _ScriptedLLM:
    """Emits `pieces` one per step, `delay_s` apart; records requests closed early."""

    pieces: list[str]
    delay_s: float = 0.0
    errored: bool = False
    renderer: _Renderer = field(default_factory=_Renderer)
    aborted: list[str] = field(default_factory=list)
    completed: list[str] = field(default_factory=list)

    async def generate(
        self, prompt: Any, params: Any, request_id: str, lora_request: Any = None
    ) -> AsyncIterator[_Output]:
        try:
            for i, piece in enumerate(self.pieces):
                await asyncio.sleep(self.delay_s)
                last = i == len(self.pieces) - 1
                yield _Output([_Completion(piece, [i], "stop" if last else None)], finished=last)
            self.completed.append(request_id)
        except (GeneratorExit, asyncio.CancelledError):
            self.aborted.append(request_id)  # where AsyncLLM aborts the request
            raise

    def shutdown(self) -> None:
        pass


def _engine(llm: _ScriptedLLM, **overrides: Any) -> VLLMEngine:
    engine = VLLMEngine(EngineConfig(warmup=False, **overrides))
    engine._llm = llm  # type: ignore[assignment]
    engine._tokenizer = _Tokenizer()
    return engine


async def _text(engine: VLLMEngine) -> str:
    return (await engine.generate(MESSAGES, SamplingSettings(max_tokens=8))).text


async def test_vllm_stream_hides_a_leading_reasoning_block() -> None:
    llm = _ScriptedLLM(["<reason", "ing>limit 500 >= 300", "</reasoning>\n", "Yes", ", it fits."])

    assert await _text(_engine(llm)) == "Yes, it fits."
    assert len(llm.completed) == 1 and llm.aborted == []  # ran to the end, no abort sent


async def test_vllm_stream_reasoning_inside_reply_ends_it_and_aborts() -> None:
    llm = _ScriptedLLM(["Sure", ", it fits.", " <reasoning>", "the limit is", " 500"])
    engine = _engine(llm)

    generation = await engine.generate(MESSAGES, SamplingSettings(max_tokens=8))

    assert generation.text == "Sure, it fits."
    assert generation.finish_reason == "stop"
    assert len(llm.aborted) == 1 and llm.completed == []


async def test_vllm_stream_timeout_raises_and_aborts() -> None:
    llm = _ScriptedLLM(["Yes", " it", " fits"], delay_s=1.0)
    engine = _engine(llm, generation_timeout_s=0.2)

    with pytest.raises(EngineTimeoutError):
        await _text(engine)

    assert len(llm.aborted) == 1
    assert engine.queue_depth == 0


async def test_vllm_stream_overload_raises_while_the_slot_is_taken() -> None:
    llm = _ScriptedLLM(["Yes", " it", " fits", "."])
    engine = _engine(llm, max_queue=1)
    first = engine.stream(MESSAGES, SamplingSettings(max_tokens=8))
    assert (await anext(first)).text == "Yes"

    with pytest.raises(EngineOverloadedError):
        await _text(engine)

    await first.aclose()  # the client went away: its request is aborted, the slot freed
    assert len(llm.aborted) == 1
    assert engine.queue_depth == 0
    assert await _text(engine) == "Yes it fits."
