"""Concurrent intent inferences share encoder passes, and each caller gets its own guess."""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Sequence

import pytest

from app.domain.rules import Intent
from app.engine.intent import IntentClassifier, IntentGuess


class CountingClassifier(IntentClassifier):
    """Reads the intent from the message itself; each pass takes 50 ms, like an encoder."""

    def __init__(self, fail: bool = False) -> None:
        super().__init__()
        self.passes: list[list[str]] = []
        self.fail = fail
        self._lock = threading.Lock()

    def classify_many(
        self, messages: Sequence[str], user_ids: Sequence[str | None] | None = None
    ) -> list[IntentGuess]:
        with self._lock:
            self.passes.append(list(messages))
        time.sleep(0.05)
        if self.fail:
            raise RuntimeError("encoder down")
        return [IntentGuess(Intent(m.split(":")[0]), 1.0, 1.0) for m in messages]


async def test_concurrent_calls_share_encoder_passes() -> None:
    classifier = CountingClassifier()
    intents = [Intent.PURCHASE_FIT, Intent.RETURNS, Intent.HUMAN_REQUEST, Intent.SMALL_TALK] * 8
    guesses = await asyncio.gather(
        *(classifier.aclassify(f"{i.value}:{n}") for n, i in enumerate(intents))
    )
    assert [g.intent for g in guesses] == intents  # each caller its own answer, in order
    assert sum(len(p) for p in classifier.passes) == 32
    assert len(classifier.passes) <= 2  # the first alone, then everything that waited


async def test_an_encoder_failure_reaches_every_waiter_and_the_next_call_works() -> None:
    classifier = CountingClassifier(fail=True)
    results = await asyncio.gather(
        *(classifier.aclassify(f"returns:{n}") for n in range(4)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)
    classifier.fail = False
    assert (await classifier.aclassify("returns:again")).intent is Intent.RETURNS


async def test_a_cancelled_caller_does_not_stop_the_others() -> None:
    classifier = CountingClassifier()
    first = asyncio.create_task(classifier.aclassify("returns:1"))
    await asyncio.sleep(0.01)  # the first pass is encoding
    cancelled = asyncio.create_task(classifier.aclassify("dispute:2"))
    kept = asyncio.create_task(classifier.aclassify("small_talk:3"))
    await asyncio.sleep(0)
    cancelled.cancel()
    assert (await first).intent is Intent.RETURNS
    assert (await kept).intent is Intent.SMALL_TALK
    with pytest.raises(asyncio.CancelledError):
        await cancelled


def test_each_event_loop_gets_its_own_batches() -> None:
    classifier = CountingClassifier()
    for _ in range(2):  # a second loop in the same process, e.g. a CLI after the API
        assert asyncio.run(classifier.aclassify("returns:x")).intent is Intent.RETURNS
