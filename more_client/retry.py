"""When a failed call is sent again, and how long the client waits first.

One policy for the sync and the async client, run by `tenacity`:

* **429 and 503 are retried for every method.** The API answers them before it applies a
  request (rate limit, engine overload, a generation that timed out and was discarded, a
  database that refused the write) and says when to come back (`Retry-After`), so even a
  POST without an Idempotency-Key cannot be applied twice.
* **500, 502 and 504** (with `server_errors`) **are retried only for idempotent calls**:
  GET, PUT and DELETE, a POST that carries an Idempotency-Key, and the POSTs the API
  deduplicates itself (an event by its `event_id`, a session handoff). Such an answer may
  come after the request was applied, so repeating anything else could apply it twice.
* **Transport errors** (with `transport_errors`): a connection that was never made
  (refused, connect or pool timeout) is retried for every method, since nothing was sent;
  a reset or a read timeout only for idempotent calls, for the reason above.
* **Every other status is final**, 4xx above all: the request itself is wrong.

The wait is the server's `Retry-After` (seconds) when it sent one, else exponential
backoff with full jitter (a random wait up to `backoff_s`, 2x, 4x, ...), never longer than
`max_wait_s`.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Any

import httpx
from tenacity import RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_random_exponential

from more_client.errors import MoreApiError

logger = logging.getLogger("more_client")

BUSY_STATUSES = frozenset({429, 503})  # "come back later": sent before the request is applied
SERVER_ERROR_STATUSES = frozenset({500, 502, 504})  # may come after the request was applied
# The request never left the client: safe to send again whatever it does.
NOT_SENT_ERRORS = (httpx.ConnectError, httpx.ConnectTimeout, httpx.PoolTimeout)


@dataclass(frozen=True)
class RetryPolicy:
    """Which failures are retried, how many times and how long to wait (module docstring).

    Args:
        max_attempts: tries in all, the first one included (1: never retry).
        server_errors: also retry 500, 502 and 504, for idempotent calls only.
        transport_errors: also retry connection failures and timeouts (see the rule).
        backoff_s: upper bound of the first random wait, seconds; it doubles per attempt.
        max_wait_s: the longest single wait, seconds, `Retry-After` included.
    """

    max_attempts: int = 4
    server_errors: bool = False
    transport_errors: bool = False
    backoff_s: float = 0.5
    max_wait_s: float = 10.0

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("max_attempts must be >= 1 (1 means no retries)")
        if self.backoff_s < 0 or self.max_wait_s < 0:
            raise ValueError("backoff_s and max_wait_s are seconds and must be >= 0")

    def should_retry(self, exc: BaseException, *, idempotent: bool) -> bool:
        """Whether a call that failed with `exc` may be sent again.

        Args:
            exc: what the attempt raised (`MoreApiError`, an `httpx.TransportError`, ...).
            idempotent: the call is safe to apply twice (see the module docstring).
        """
        if isinstance(exc, MoreApiError):
            if exc.status in BUSY_STATUSES:
                return True
            return self.server_errors and idempotent and exc.status in SERVER_ERROR_STATUSES
        if isinstance(exc, httpx.TransportError):
            return self.transport_errors and (idempotent or isinstance(exc, NOT_SENT_ERRORS))
        return False

    def tenacity_kwargs(self, *, idempotent: bool, what: str) -> dict[str, Any]:
        """Keyword arguments for `tenacity.Retrying` / `AsyncRetrying` applying this policy.

        Args:
            idempotent: the call is safe to apply twice.
            what: the call as logged before each retry, e.g. "POST /v1/chat".
        """
        backoff = wait_random_exponential(multiplier=self.backoff_s, max=self.max_wait_s)

        def wait(state: RetryCallState) -> float:
            exc = state.outcome.exception() if state.outcome else None
            if isinstance(exc, MoreApiError) and exc.retry_after is not None:
                return min(exc.retry_after, self.max_wait_s)
            return float(backoff(state))

        def log(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            pause = state.next_action.sleep if state.next_action else 0.0
            logger.info(
                "%s failed (%s); attempt %d of %d in %.2f s",
                what,
                exc,
                state.attempt_number + 1,
                self.max_attempts,
                pause,
            )

        return {
            "stop": stop_after_attempt(self.max_attempts),
            "wait": wait,
            "retry": retry_if_exception(lambda exc: self.should_retry(exc, idempotent=idempotent)),
            "before_sleep": log,
            # The caller sees the last MoreApiError or httpx error, not tenacity's RetryError.
            "reraise": True,
        }
