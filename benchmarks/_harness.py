"""Pieces the load and contract scripts share: a fresh PostgreSQL database, a private Redis
key prefix, and a scripted engine that makes the API, not the model, the thing measured.

Also a server process that is always stopped with its whole process group, and a wait for
its readiness probe. Imported by `benchmarks/soak.py`, `benchmarks/serve_load.py` and
`benchmarks/api_contract.py` (run as scripts, so this
folder is on `sys.path`); nothing here runs at import.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import time
import uuid
from collections.abc import AsyncIterator, Iterator, Sequence
from pathlib import Path
from typing import Any

SCRIPTED_REPLY = (
    "Happy to help with that. Let me look at the phone in your cart and what your "
    "account allows, then I will tell you the options."
)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _admin_sql(url: str, statement: str) -> None:
    import asyncpg
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    conn = await asyncpg.connect(
        host=parsed.host,
        port=parsed.port or 5432,
        user=parsed.username,
        password=parsed.password,
        database=parsed.database,
    )
    try:
        await conn.execute(statement)
    finally:
        await conn.close()


@contextlib.asynccontextmanager
async def fresh_database(url: str, *, label: str) -> AsyncIterator[str]:
    """A new PostgreSQL database on `url`'s server, migrated to head; dropped afterwards."""
    from sqlalchemy.engine import make_url

    from app.store.migrations import upgrade

    name = f"more_{label}_{uuid.uuid4().hex[:10]}"
    await _admin_sql(url, f'CREATE DATABASE "{name}"')
    fresh = make_url(url).set(database=name).render_as_string(hide_password=False)
    try:
        await asyncio.to_thread(upgrade, fresh)
        yield fresh
    finally:
        await _admin_sql(url, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def drop_redis_prefix(url: str, prefix: str) -> None:
    """Delete every key under `prefix` (the run's own)."""
    from redis.asyncio import Redis

    client = Redis.from_url(url)
    try:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        for start in range(0, len(keys), 500):
            await client.delete(*keys[start : start + 500])
    finally:
        await client.aclose()


def scripted_engine(token_delay_s: float = 0.0) -> Any:
    """A `ChatEngine` that streams `SCRIPTED_REPLY` word by word, `token_delay_s` apart."""
    from app.engine.base import ChatEngine, GenerationChunk

    class ScriptedBenchEngine(ChatEngine):
        model_name = "scripted"

        def __init__(self) -> None:
            self._depth = 0

        async def start(self) -> None:
            return None

        async def close(self) -> None:
            return None

        async def add_adapter(self, adapter: Any) -> None:
            return None

        async def is_ready(self) -> bool:
            return True

        @property
        def queue_depth(self) -> int:
            return self._depth

        @property
        def context_length(self) -> int | None:
            return None

        def count_tokens(self, messages: Sequence[Any]) -> int:
            return sum(len(m["content"].split()) for m in messages)

        async def stream(  # type: ignore[override]
            self, messages: Sequence[Any], sampling: Any, adapter: Any = None
        ) -> AsyncIterator[GenerationChunk]:
            self._depth += 1
            try:
                words = SCRIPTED_REPLY.split(" ")[: sampling.max_tokens]
                for i, word in enumerate(words):
                    if token_delay_s:
                        await asyncio.sleep(token_delay_s)
                    yield GenerationChunk(text=word if i == 0 else " " + word)
                yield GenerationChunk(
                    text="",
                    finished=True,
                    prompt_tokens=self.count_tokens(messages),
                    completion_tokens=len(words),
                    finish_reason="stop",
                )
            finally:
                self._depth -= 1

    return ScriptedBenchEngine()


@contextlib.contextmanager
def server_process(
    cmd: list[str], env: dict[str, str], log: Path, cwd: Path
) -> Iterator[subprocess.Popen[bytes]]:
    """Run `cmd` in its own process group and always stop the whole group afterwards."""
    with log.open("wb") as out:
        proc = subprocess.Popen(
            cmd, env=env, stdout=out, stderr=subprocess.STDOUT, start_new_session=True, cwd=cwd
        )
        try:
            yield proc
        finally:
            for sig, wait_s in ((signal.SIGINT, 30), (signal.SIGTERM, 15), (signal.SIGKILL, 5)):
                if proc.poll() is not None:
                    break
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, sig)
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=wait_s)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)  # the engine-core process, if left


async def wait_ready(url: str, proc: subprocess.Popen[bytes], timeout_s: float) -> None:
    import httpx

    deadline = time.monotonic() + timeout_s
    async with httpx.AsyncClient(timeout=5) as client:
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode} before ready ({url})")
            with contextlib.suppress(httpx.HTTPError):
                if (await client.get(url)).status_code == 200:
                    return
            await asyncio.sleep(2)
    raise TimeoutError(f"{url} not ready after {timeout_s:.0f} s")
