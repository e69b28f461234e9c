"""Overload and timeout guards both backends share.

Requests are counted from the moment they ask for a reply until their stream ends
(queueing included), so `depth` is what the engine still owes. Above `max_in_flight`
a new request is refused at once instead of waiting behind the others: the API turns
that into 429 with `Retry-After`, never a hang.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import TypeVar

from app.engine.base import EngineOverloadedError, EngineTimeoutError

T = TypeVar("T")


class InflightLimit:
    """Counts requests in flight on one event loop and refuses those above the cap."""

    def __init__(self, max_in_flight: int) -> None:
        self.max_in_flight = max_in_flight
        self._depth = 0

    @property
    def depth(self) -> int:
        return self._depth

    @contextlib.contextmanager
    def admit(self) -> Iterator[None]:
        """Hold one slot for the duration of the block, or raise `EngineOverloadedError`."""
        # One event loop and no await between check and increment: no lock needed.
        if self._depth >= self.max_in_flight:
            raise EngineOverloadedError(
                f"{self._depth} requests in flight (limit {self.max_in_flight}); retry later"
            )
        self._depth += 1
        try:
            yield
        finally:
            self._depth -= 1


class Deadline:
    """A wall-clock budget for one request, measured on the event loop's clock."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self._loop = asyncio.get_running_loop()
        self._end = self._loop.time() + seconds

    def remaining(self) -> float:
        """Seconds left; raises `EngineTimeoutError` once the budget is spent."""
        left = self._end - self._loop.time()
        if left <= 0:
            raise self.error()
        return left

    def error(self) -> EngineTimeoutError:
        return EngineTimeoutError(f"no reply within {self.seconds:g} s")

    async def next(self, iterator: AsyncIterator[T]) -> T:
        """The iterator's next item, or `EngineTimeoutError` when the budget runs out.

        On timeout the pending `__anext__` is cancelled, which is how the backend's own
        generator learns to abort its request. `StopAsyncIteration` passes through.
        """
        remaining = self.remaining()  # before anext(), so a spent budget leaves no coroutine
        try:
            return await asyncio.wait_for(anext(iterator), remaining)
        except TimeoutError:
            raise self.error() from None
