"""Per-request `Server-Timing` spans: where a chat request's time goes, on every response.

The middleware opens one `ServerTiming` per request (a context variable, so the service
code deep inside the request reaches it without plumbing); services wrap their steps in
`span("profile")`; the header lists the spans in order when the response starts:

    Server-Timing: auth;dur=0.41, assign;dur=0.05, profile;dur=1.20, ..., persist;dur=3.1

Browsers' devtools show it, and `benchmarks/serve_load.py` reads it to split a reply's
latency into generation and everything else. A streamed (SSE) response starts before the
reply is generated, so its header holds the spans up to the start of generation.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar


class ServerTiming:
    """Named durations of one request, in milliseconds, in the order they happened."""

    def __init__(self) -> None:
        self.spans: dict[str, float] = {}

    def add(self, name: str, seconds: float) -> None:
        self.spans[name] = self.spans.get(name, 0.0) + seconds * 1000

    def header(self) -> str:
        return ", ".join(f"{name};dur={ms:.2f}" for name, ms in self.spans.items())


_current: ContextVar[ServerTiming | None] = ContextVar("server_timing", default=None)


def start_request() -> tuple[ServerTiming, object]:
    """A fresh timing for the request about to run, and the token to reset it with."""
    timing = ServerTiming()
    return timing, _current.set(timing)


def end_request(token: object) -> None:
    _current.reset(token)  # type: ignore[arg-type]


@contextmanager
def span(name: str) -> Iterator[None]:
    """Time the block as `name` on the current request (a no-op outside a request)."""
    timing = _current.get()
    if timing is None:
        yield
        return
    started = time.perf_counter()
    try:
        yield
    finally:
        timing.add(name, time.perf_counter() - started)


def parse_header(value: str) -> dict[str, float]:
    """`Server-Timing` header -> {name: milliseconds} (for clients and benchmarks)."""
    out: dict[str, float] = {}
    for part in value.split(","):
        name, _, rest = part.strip().partition(";")
        if name and rest.startswith("dur="):
            out[name] = float(rest[4:])
    return out
