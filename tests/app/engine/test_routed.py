"""One merged engine per policy: requests reach the engine of the policy they name."""

from __future__ import annotations

import pytest

from app.engine.base import Adapter, AdapterError, SamplingSettings
from app.engine.routed import PolicyRoutedEngine
from tests.factories import ScriptedEngine

MORE = Adapter(name="more-v1", path="/models/more")
SFT = Adapter(name="sft-v1", path="/models/sft")
HELLO = [{"role": "user", "content": "hi"}]


def _routed() -> tuple[PolicyRoutedEngine, ScriptedEngine, ScriptedEngine]:
    more, sft = ScriptedEngine("from more"), ScriptedEngine("from sft")
    return PolicyRoutedEngine({MORE.name: more, SFT.name: sft}, [MORE, SFT]), more, sft


async def test_each_request_reaches_its_policys_engine_without_an_adapter() -> None:
    routed, more, sft = _routed()
    assert (await routed.generate(HELLO, SamplingSettings(), MORE)).text == "from more"
    chunks = [c.text async for c in routed.stream(HELLO, SamplingSettings(), SFT)]
    assert "".join(chunks).strip() == "from sft"
    many = await routed.generate_many(HELLO, SamplingSettings(n=2), MORE)
    assert [g.text for g in many] == ["from more", "from more"]
    # The weights hold the policy: the engines are asked for no adapter.
    assert more.adapters_used == [None, None, None] and sft.adapters_used == [None]


async def test_a_policy_not_merged_here_is_refused_with_what_to_do() -> None:
    routed, _, _ = _routed()
    with pytest.raises(AdapterError, match="not served here"):
        await routed.generate(HELLO, SamplingSettings(), Adapter("other-v1", "/x"))
    with pytest.raises(AdapterError, match="base model"):
        await routed.generate(HELLO, SamplingSettings(), None)
    with pytest.raises(AdapterError, match="another folder"):
        await routed.generate(HELLO, SamplingSettings(), Adapter(MORE.name, "/elsewhere"))
    await routed.add_adapter(MORE)  # already merged: nothing to do
    with pytest.raises(AdapterError, match="MORE_MERGE_ADAPTER=false"):
        await routed.add_adapter(Adapter("other-v1", "/x"))


async def test_the_base_model_has_its_engine_under_none() -> None:
    base = ScriptedEngine("from base")
    routed = PolicyRoutedEngine({MORE.name: ScriptedEngine("m"), None: base}, [MORE])
    assert (await routed.generate(HELLO, SamplingSettings())).text == "from base"


async def test_readiness_depth_and_context_cover_every_engine() -> None:
    routed, more, sft = _routed()
    more.max_model_len, sft.max_model_len = 2048, 1024
    assert await routed.is_ready()
    sft.ready = False
    assert not await routed.is_ready()
    assert routed.queue_depth == 0
    assert routed.context_length == 1024


async def test_a_failed_start_closes_the_engines_already_started() -> None:
    closed: list[str] = []

    class Engine(ScriptedEngine):
        def __init__(self, name: str, fail: bool = False) -> None:
            super().__init__(name)
            self.name, self.fail = name, fail

        async def start(self) -> None:
            if self.fail:
                raise RuntimeError("no memory")

        async def close(self) -> None:
            closed.append(self.name)

    routed = PolicyRoutedEngine(
        {MORE.name: Engine("more"), SFT.name: Engine("sft", fail=True)}, [MORE, SFT]
    )
    with pytest.raises(RuntimeError, match="no memory"):
        await routed.start()
    assert closed == ["more"]


def test_every_merged_engine_needs_its_adapter() -> None:
    with pytest.raises(ValueError, match="no adapter given"):
        PolicyRoutedEngine({MORE.name: ScriptedEngine()}, [])
    with pytest.raises(ValueError, match="at least one engine"):
        PolicyRoutedEngine({}, [])


def test_an_engines_core_binding_holds_only_while_its_core_process_spawns(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    import os

    from app.engine.vllm import _omp_bind

    monkeypatch.setenv("VLLM_CPU_OMP_THREADS_BIND", "auto")
    with _omp_bind("1"):
        assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "1"
    assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "auto"
    monkeypatch.delenv("VLLM_CPU_OMP_THREADS_BIND")
    with _omp_bind("0"):
        assert os.environ["VLLM_CPU_OMP_THREADS_BIND"] == "0"
    assert "VLLM_CPU_OMP_THREADS_BIND" not in os.environ
    with _omp_bind(None):  # the process environment's own
        assert "VLLM_CPU_OMP_THREADS_BIND" not in os.environ
