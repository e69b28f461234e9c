"""Durable outbox for outcome events the database could not take right now.

An accepted event is never lost: when PostgreSQL (or the SQLite file) fails, the
event goes to the outbox, and a drainer writes it once the database is back. Delivery
from the outbox is at-least-once (an item is acknowledged only after its transaction
commits) and the insert is idempotent by client event id, so every event lands
exactly once.

Two backends with one interface:
* `RedisStreamOutbox`: a Redis stream (`XADD` / `XRANGE` / `XDEL`), shared by every
  replica; as durable as the Redis persistence settings (AOF recommended).
* `SpoolOutbox`: one JSON file per event in a local folder, written to a temporary
  name, fsynced and renamed, so a crash never leaves half an event. Embedded mode, or
  any single-replica deployment without Redis.
"""

from __future__ import annotations

import abc
import asyncio
import json
import os
import time
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any


class OutboxError(RuntimeError):
    """The outbox itself could not store an item."""


class Outbox(abc.ABC):
    @abc.abstractmethod
    async def put(self, item: dict[str, Any]) -> None:
        """Store one item durably, or raise OutboxError."""

    @abc.abstractmethod
    async def read(self, limit: int) -> list[tuple[str, dict[str, Any]]]:
        """Up to `limit` oldest items as (id, item), without removing them."""

    @abc.abstractmethod
    async def ack(self, ids: Sequence[str]) -> None:
        """Remove delivered items."""

    @abc.abstractmethod
    async def pending(self) -> int:
        """Items waiting."""

    @abc.abstractmethod
    async def dead_letter(self, item_id: str) -> None:
        """Move an item the database refuses (not an outage) out of the way, kept for
        inspection, so it never blocks the events behind it."""

    async def close(self) -> None:  # noqa: B027 - optional hook
        """Release connections."""


class SpoolOutbox(Outbox):
    """A folder of JSON files, oldest first by a nanosecond-timestamp name."""

    def __init__(self, directory: Path | str) -> None:
        self.directory = Path(directory)
        self.directory.mkdir(parents=True, exist_ok=True)

    async def put(self, item: dict[str, Any]) -> None:
        try:
            await asyncio.to_thread(self._write, json.dumps(item, separators=(",", ":")))
        except OSError as exc:
            raise OutboxError(f"cannot write to the outbox folder {self.directory}: {exc}") from exc

    def _write(self, text: str) -> None:
        name = f"{time.time_ns():020d}-{uuid.uuid4().hex}"
        tmp = self.directory / f".{name}.tmp"
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())  # the event is on disk before we say "accepted"
        os.replace(tmp, self.directory / f"{name}.json")

    async def read(self, limit: int) -> list[tuple[str, dict[str, Any]]]:
        return await asyncio.to_thread(self._read, limit)

    def _read(self, limit: int) -> list[tuple[str, dict[str, Any]]]:
        names = sorted(n for n in os.listdir(self.directory) if n.endswith(".json"))[:limit]
        items = []
        for name in names:
            try:
                items.append((name, json.loads((self.directory / name).read_text("utf-8"))))
            except FileNotFoundError:  # acknowledged by a concurrent drainer
                continue
        return items

    async def ack(self, ids: Sequence[str]) -> None:
        def unlink() -> None:
            for name in ids:
                (self.directory / name).unlink(missing_ok=True)

        await asyncio.to_thread(unlink)

    async def pending(self) -> int:
        return await asyncio.to_thread(
            lambda: sum(n.endswith(".json") for n in os.listdir(self.directory))
        )

    async def dead_letter(self, item_id: str) -> None:
        def move() -> None:
            dead = self.directory / "dead"
            dead.mkdir(exist_ok=True)
            source = self.directory / item_id
            if source.exists():
                os.replace(source, dead / item_id)

        await asyncio.to_thread(move)


class RedisStreamOutbox(Outbox):
    """A Redis stream shared by all replicas."""

    def __init__(self, url: str, *, key: str = "more:events:outbox", timeout_s: float = 1.0):
        from redis.asyncio import Redis

        self.key = key
        self._redis = Redis.from_url(
            url, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )

    async def put(self, item: dict[str, Any]) -> None:
        from redis.exceptions import RedisError

        try:
            await self._redis.xadd(self.key, {"event": json.dumps(item, separators=(",", ":"))})
        except (RedisError, OSError) as exc:
            raise OutboxError(f"cannot write to the Redis outbox: {exc}") from exc

    async def read(self, limit: int) -> list[tuple[str, dict[str, Any]]]:
        entries = await self._redis.xrange(self.key, "-", "+", count=limit)
        return [(_text(entry_id), json.loads(fields[b"event"])) for entry_id, fields in entries]

    async def ack(self, ids: Sequence[str]) -> None:
        if ids:
            await self._redis.xdel(self.key, *ids)

    async def pending(self) -> int:
        return int(await self._redis.xlen(self.key))

    async def dead_letter(self, item_id: str) -> None:
        entries = await self._redis.xrange(self.key, item_id, item_id)
        for _, fields in entries:
            await self._redis.xadd(f"{self.key}:dead", fields)
        await self._redis.xdel(self.key, item_id)

    async def close(self) -> None:
        await self._redis.aclose()


def _text(value: bytes | str) -> str:
    return value.decode() if isinstance(value, bytes) else value
