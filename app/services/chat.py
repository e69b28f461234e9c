"""The chat use case: one customer turn from request to persisted reply.

authenticate (in the API layer) → rate limits → policy → profile → session history
(cache, else the database) → the shopper's intent (`app.engine.intent`) → prompt
(`app.domain.prompt.build_messages`, with the rules' verdict when the intent is known) →
engine → reply guard (`app.services.guard`) → persist the turn (session + both messages +
idempotency record in ONE transaction) → update the cache → reply. One generation runs
per session at a time.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncIterator
from dataclasses import asdict, dataclass, field
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import metrics
from app.core.errors import (
    AppError,
    DatabaseUnavailableError,
    GenerationInProgressError,
    GenerationTimeoutError,
    OverloadedError,
    RateLimitedError,
    ServiceUnavailableError,
    SessionHandedOffError,
    UnknownSessionError,
)
from app.core.security import Principal
from app.core.timing import span
from app.domain.checks import TurnFacts
from app.domain.intents import in_context
from app.domain.profile import Profile, StorefrontContext
from app.domain.prompt import ChatMessage, build_messages, strip_reasoning
from app.engine.base import (
    ChatEngine,
    EngineError,
    EngineOverloadedError,
    EngineTimeoutError,
    Generation,
    SamplingSettings,
)
from app.engine.intent import IntentClassifier
from app.services.guard import GuardedReply, GuardMode, ReplyGuard
from app.services.idempotency import IdempotencyClaim, IdempotencyService
from app.services.policies import Policy, PolicyResolver
from app.services.profiles import ProfileService
from app.store import conversations, outcomes
from app.store.models import SessionStatus
from app.store.sessions import CacheUnavailableError, InMemorySessionCache, SessionCache

logger = logging.getLogger(__name__)

IDEMPOTENCY_ROUTE = "chat"


@dataclass(frozen=True)
class ChatLimits:
    """The knobs of a turn, from the settings."""

    max_tokens: int = 96
    temperature: float = 0.0
    top_p: float = 1.0
    history_max_turns: int = 8
    generation_timeout_s: float = 30.0
    max_queue: int = 64
    rate_limit_per_key: int = 600
    rate_limit_per_session: int = 30
    rate_limit_window_s: int = 60
    prompt_verdict: bool = True  # add the rules' verdict line when the intent is known


@dataclass(frozen=True)
class ChatTurn:
    """What the storefront asked."""

    user_id: str
    message: str
    session_id: str | None = None
    context: StorefrontContext = field(default_factory=StorefrontContext)

    def payload(self) -> dict[str, Any]:
        """The request as hashed for idempotency (transport flags excluded)."""
        return {
            "user_id": self.user_id,
            "message": self.message,
            "session_id": self.session_id,
            "context": self.context.model_dump(mode="json"),
        }


@dataclass(frozen=True)
class Usage:
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int


@dataclass(frozen=True)
class ChatReply:
    session_id: str
    reply: str
    variant: str
    policy_version: str
    handoff: bool
    usage: Usage
    latency_ms: float
    degraded: bool = False  # served without the session cache
    replayed: bool = False  # an Idempotency-Key replay of a stored response

    def to_dict(self) -> dict[str, Any]:
        """The public response body."""
        body = asdict(self)
        body.pop("degraded")
        body.pop("replayed")
        return body

    @classmethod
    def from_stored(cls, body: dict[str, Any]) -> ChatReply:
        return cls(**{**body, "usage": Usage(**body["usage"])}, replayed=True)


@dataclass(frozen=True)
class Delta:
    """New reply text in a stream."""

    text: str


@dataclass
class _Prepared:
    """A turn that passed every check and holds its session lock."""

    turn: ChatTurn
    principal: Principal
    session_id: str
    is_new: bool
    policy: Policy
    history: list[ChatMessage]
    history_from_cache: bool
    messages: list[ChatMessage]
    lock_token: str
    lock_cache: SessionCache
    claim: IdempotencyClaim | None
    started: float
    degraded: bool
    profile: Profile | None = None  # the facts the reply reasoned over (logged for retraining)
    facts: TurnFacts | None = None  # what the reply guard checks the reply against


class ChatService:
    def __init__(
        self,
        *,
        db: async_sessionmaker[AsyncSession],
        cache: SessionCache,
        engine: ChatEngine,
        policies: PolicyResolver,
        profiles: ProfileService,
        idempotency: IdempotencyService,
        limits: ChatLimits,
        guard: ReplyGuard,
        intents: IntentClassifier | None = None,
    ) -> None:
        self._db = db
        self.guard = guard
        self._intents = intents
        self._cache = cache
        self._engine = engine
        self._policies = policies
        self._profiles = profiles
        self._idempotency = idempotency
        self.limits = limits
        # When the shared cache is down, locks and rate limits hold per replica instead.
        self._local = InMemorySessionCache(ttl_s=cache.ttl_s, max_messages=cache.max_messages)

    # -- public API ------------------------------------------------------------------------

    async def reply(
        self, *, principal: Principal, turn: ChatTurn, idempotency_key: str | None = None
    ) -> ChatReply:
        """Answer one turn and persist it."""
        started = time.perf_counter()
        with span("admit"):
            claim_or_stored = await self._claim(principal, turn, idempotency_key)
        if isinstance(claim_or_stored, ChatReply):
            return claim_or_stored
        try:
            prepared = await self._prepare(principal, turn, claim_or_stored, started)
        except BaseException:
            await self._abandon(claim_or_stored)
            raise
        try:
            with span("generate"):
                generation = await self._generate(prepared)
            with span("guard"):
                guarded = await self._review(prepared, generation)
            with span("persist"):
                return await self._finish(prepared, guarded, generation)
        except BaseException:
            await self._abandon(claim_or_stored)
            raise
        finally:
            await self._unlock(prepared)

    async def open_stream(
        self, *, principal: Principal, turn: ChatTurn, idempotency_key: str | None = None
    ) -> AsyncIterator[Delta | ChatReply]:
        """Check the turn now (errors raise before any byte is sent), then stream it:
        `Delta`s, then the final `ChatReply`. Mid-stream failures raise `AppError`."""
        started = time.perf_counter()
        with span("admit"):
            claim_or_stored = await self._claim(principal, turn, idempotency_key)
        if isinstance(claim_or_stored, ChatReply):
            return _replay_stream(claim_or_stored)
        try:
            prepared = await self._prepare(principal, turn, claim_or_stored, started)
        except BaseException:
            await self._abandon(claim_or_stored)
            raise
        return self._stream(prepared)

    # -- steps -----------------------------------------------------------------------------

    async def _claim(
        self, principal: Principal, turn: ChatTurn, key: str | None
    ) -> IdempotencyClaim | ChatReply | None:
        await self._rate_limit(f"key:{principal.key_name}", self.limits.rate_limit_per_key)
        if key is None:
            return None
        outcome = await self._guard_db(
            self._idempotency.begin(
                owner=principal.key_name, key=key, route=IDEMPOTENCY_ROUTE, payload=turn.payload()
            )
        )
        if isinstance(outcome, IdempotencyClaim):
            return outcome
        return ChatReply.from_stored(outcome)

    async def _prepare(
        self,
        principal: Principal,
        turn: ChatTurn,
        claim: IdempotencyClaim | None,
        started: float,
    ) -> _Prepared:
        degraded = False
        with span("profile"):
            profile = await self._guard_db(self._profiles.get(turn.user_id))

        session = None
        if turn.session_id is not None:
            with span("session"):
                async with self._db() as db:
                    session = await self._guard_db(
                        conversations.get_session(db, session_id=turn.session_id)
                    )
            # Another shopper's session is reported as unknown: ids must not leak.
            if session is None or session.user_id != turn.user_id:
                raise UnknownSessionError(
                    f"no session {turn.session_id!r} for this user: omit session_id to start one",
                    param="session_id",
                )
            if session.status == SessionStatus.HUMAN:
                raise SessionHandedOffError(
                    "a human agent has taken over this session; the assistant stays silent",
                    param="session_id",
                )
            await self._rate_limit(f"session:{session.id}", self.limits.rate_limit_per_session)

        with span("assign"):
            policy = await self._policies.resolve(
                user_id=turn.user_id,
                session_variant=session.variant if session else None,
                session_policy_version=session.policy_version if session else None,
            )
        session_id = session.id if session else str(uuid.uuid4())

        lock_cache: SessionCache = self._cache
        lock_ttl = self.limits.generation_timeout_s + 10
        with span("lock"):
            try:
                token = await self._cache.acquire_lock(f"session:{session_id}", ttl_s=lock_ttl)
            except CacheUnavailableError:
                degraded = True
                lock_cache = self._local
                token = await self._local.acquire_lock(f"session:{session_id}", ttl_s=lock_ttl)
        if token is None:
            raise GenerationInProgressError(
                "another reply is being generated for this session; wait for it to finish",
                param="session_id",
            )

        try:
            with span("history"):
                history, from_cache, cache_down = await self._history(
                    session_id, is_new=session is None
                )
            degraded = degraded or cache_down
            max_messages = 2 * self.limits.history_max_turns
            history = history[-max_messages:] if max_messages else []
            with span("intent"):
                facts = await self._facts(profile, turn, history)
            with span("prompt"):
                decision = facts.decision if self.limits.prompt_verdict else None
                messages = build_messages(
                    profile, turn.context, history, turn.message, decision=decision
                )
            if self._engine.queue_depth >= self.limits.max_queue:
                metrics.GENERATION_FAILURES.labels("overloaded").inc()
                raise OverloadedError("the assistant is busy; retry in a moment", retry_after_s=2)
        except BaseException:
            await _quietly(lock_cache.release_lock(f"session:{session_id}", token))
            raise
        return _Prepared(
            turn=turn,
            principal=principal,
            session_id=session_id,
            is_new=session is None,
            policy=policy,
            history=history,
            history_from_cache=from_cache,
            messages=messages,
            lock_token=token,
            lock_cache=lock_cache,
            claim=claim,
            started=started,
            degraded=degraded,
            profile=profile,
            facts=facts,
        )

    async def _facts(
        self, profile: Profile, turn: ChatTurn, history: list[ChatMessage]
    ) -> TurnFacts:
        """The turn as the guard checks it, with the shopper's intent when it can be told."""
        intent = None
        wanted = self.guard.config.mode is not GuardMode.OFF or self.limits.prompt_verdict
        if self._intents is not None and wanted:
            started = time.perf_counter()
            guess = await self._intents.aclassify(turn.message, turn.user_id)
            metrics.INTENT_DURATION.observe(time.perf_counter() - started)
            intent = in_context(guess.intent, turn.context)
        return TurnFacts(profile, turn.context, turn.message, intent, tuple(history))

    async def _review(self, prepared: _Prepared, generation: Generation) -> GuardedReply:
        assert prepared.facts is not None
        return await self.guard.review(
            facts=prepared.facts,
            generation=generation,
            messages=prepared.messages,
            adapter=prepared.policy.adapter,
            policy=prepared.policy.version,
            seed=f"{prepared.session_id}:{len(prepared.history)}",
        )

    async def _history(
        self, session_id: str, *, is_new: bool
    ) -> tuple[list[ChatMessage], bool, bool]:
        """(history, came from the cache, cache was down)."""
        if is_new:
            return [], True, False
        try:
            cached = await self._cache.get_history(session_id)
            if cached is not None:
                return cached, True, False
            cache_down = False
        except CacheUnavailableError as exc:
            logger.warning("session cache unavailable, reading history from the database: %s", exc)
            metrics.CACHE_FALLBACKS.inc()
            cache_down = True
        async with self._db() as db:
            history = await self._guard_db(
                conversations.recent_history(
                    db, session_id=session_id, max_messages=2 * self.limits.history_max_turns
                )
            )
        return history, False, cache_down

    def _sampling(self) -> SamplingSettings:
        return SamplingSettings(
            max_tokens=self.limits.max_tokens,
            temperature=self.limits.temperature,
            top_p=self.limits.top_p,
        )

    async def _generate(self, prepared: _Prepared):  # type: ignore[no-untyped-def]
        variant = prepared.policy.variant
        try:
            # The engine enforces the timeout itself; this outer bound is the guarantee.
            async with asyncio.timeout(self._outer_timeout_s):
                generation = await self._engine.generate(
                    prepared.messages, self._sampling(), prepared.policy.adapter
                )
        except (TimeoutError, EngineError) as exc:
            raise self._generation_error(exc) from exc
        metrics.GENERATION_DURATION.labels(variant).observe(generation.total_s)
        metrics.TIME_TO_FIRST_TOKEN.labels(variant).observe(generation.time_to_first_token_s)
        return generation

    @property
    def _outer_timeout_s(self) -> float:
        """The service's own bound: the engine's timeout plus a little grace (the engine
        should time out first and abort its request; this only guarantees no hang)."""
        timeout = self.limits.generation_timeout_s
        return timeout + min(5.0, max(1.0, timeout / 2))

    def _generation_error(self, exc: TimeoutError | EngineError) -> AppError:
        """The one mapping of engine failures to API errors, for replies and streams."""
        if isinstance(exc, TimeoutError | EngineTimeoutError):
            return self._timeout_error()
        if isinstance(exc, EngineOverloadedError):
            metrics.GENERATION_FAILURES.labels("overloaded").inc()
            return OverloadedError("the assistant is busy; retry in a moment", retry_after_s=2)
        metrics.GENERATION_FAILURES.labels("error").inc()
        logger.error("generation failed", exc_info=exc)
        return ServiceUnavailableError(
            "the assistant could not reply; retry shortly", code="engine_error", retry_after_s=5
        )

    def _timeout_error(self) -> GenerationTimeoutError:
        metrics.GENERATION_FAILURES.labels("timeout").inc()
        return GenerationTimeoutError(
            f"no reply within {self.limits.generation_timeout_s:g} s; retry shortly",
            retry_after_s=max(1, int(self.limits.generation_timeout_s // 2)),
        )

    async def _stream(self, prepared: _Prepared) -> AsyncIterator[Delta | ChatReply]:
        """Deltas as the engine produces them, then the final reply.

        With the guard enforcing, no unverified text may reach the shopper: the reply is
        generated in full, checked (and replaced if it fails), then sent as one delta. The
        first token then costs the whole generation (docs/serving.md, "Streaming").
        """
        variant = prepared.policy.variant
        enforce = self.guard.config.mode is GuardMode.ENFORCE
        ok = False
        try:
            parts: list[str] = []
            prompt_tokens = completion_tokens = 0
            finish_reason: str | None = None
            gen_start = time.perf_counter()
            first_token: float | None = None
            try:
                # The deadline guards each `anext` only, never the `yield`: a timeout
                # firing while the client is being written to would cancel the response
                # task instead of raising here.
                loop = asyncio.get_running_loop()
                deadline = loop.time() + self._outer_timeout_s
                chunks = self._engine.stream(
                    prepared.messages, self._sampling(), prepared.policy.adapter
                )
                async with contextlib.aclosing(chunks):  # type: ignore[type-var]
                    while True:
                        try:
                            async with asyncio.timeout_at(deadline):
                                chunk = await anext(chunks)
                        except StopAsyncIteration:
                            break
                        if chunk.text:
                            if first_token is None:
                                first_token = time.perf_counter()
                            parts.append(chunk.text)
                            if not enforce:
                                yield Delta(chunk.text)
                        if chunk.finished:
                            prompt_tokens = chunk.prompt_tokens
                            completion_tokens = chunk.completion_tokens
                            finish_reason = chunk.finish_reason
            except (TimeoutError, EngineError) as exc:
                raise self._generation_error(exc) from exc
            end = time.perf_counter()
            metrics.GENERATION_DURATION.labels(variant).observe(end - gen_start)
            metrics.TIME_TO_FIRST_TOKEN.labels(variant).observe((first_token or end) - gen_start)
            generation = Generation(
                text="".join(parts),
                prompt_tokens=prompt_tokens,
                completion_tokens=completion_tokens,
                finish_reason=finish_reason,
                time_to_first_token_s=(first_token or end) - gen_start,
                total_s=end - gen_start,
            )
            guarded = await self._review(prepared, generation)
            reply = await self._finish(prepared, guarded, generation)
            ok = True
            if enforce and reply.reply:
                yield Delta(reply.reply)
            yield reply
        finally:
            # Runs on success, failure and client disconnect (the generator is closed).
            if not ok:
                await _quietly(self._abandon(prepared.claim))
            await _quietly(self._unlock(prepared))

    async def _finish(
        self, prepared: _Prepared, guarded: GuardedReply, generation: Generation
    ) -> ChatReply:
        text = strip_reasoning(guarded.text)  # direct replies only: never show reasoning
        handoff = guarded.handoff
        prompt_tokens = generation.prompt_tokens
        completion_tokens = generation.completion_tokens + guarded.extra_completion_tokens
        policy = prepared.policy
        latency_ms = round((time.perf_counter() - prepared.started) * 1000, 2)
        reply = ChatReply(
            session_id=prepared.session_id,
            reply=text,
            variant=policy.variant,
            policy_version=policy.version,
            handoff=handoff,
            usage=Usage(prompt_tokens, completion_tokens, prompt_tokens + completion_tokens),
            latency_ms=latency_ms,
            degraded=prepared.degraded,
        )
        intent = prepared.facts.intent if prepared.facts else None
        replaced = guarded.intervention.value != "none"
        turn_record = conversations.TurnRecord(
            user_message=prepared.turn.message,
            reply=text,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            latency_ms=latency_ms,
            handoff=handoff,
            # Logged with the user message so retraining can recompute the gold decision.
            context=prepared.turn.context.model_dump(mode="json"),
            profile_snapshot=(
                prepared.profile.model_dump(mode="json") if prepared.profile is not None else None
            ),
            intent=intent.value if intent else None,
            guard_passed=guarded.verdict.passed if guarded.verdict is not None else None,
            intervention=guarded.intervention.value if guarded.verdict is not None else None,
            raw_reply=generation.text if replaced else None,
            guard=guarded.record or None,
        )

        policy_handoff_logged = False

        async def persist() -> None:
            nonlocal policy_handoff_logged
            # One transaction: session (on its first turn), both messages, the handoff
            # (session silenced + event), the stored idempotent response. A failure leaves
            # none of them behind.
            async with self._db() as db, db.begin():
                await conversations.record_turn(
                    db,
                    session_id=prepared.session_id,
                    user_id=prepared.turn.user_id,
                    variant=policy.variant,
                    policy_version=policy.version,
                    experiment=policy.experiment,
                    api_key_name=prepared.principal.key_name,
                    turn=turn_record,
                )
                if handoff:  # the reply handed the shopper to a person: the bot goes silent
                    await outcomes.mark_session_human(db, session_id=prepared.session_id)
                    # The session row knows its experiment (a later turn's policy may not).
                    stored = await conversations.get_session(db, session_id=prepared.session_id)
                    policy_handoff_logged = bool(
                        await outcomes.insert_events(
                            db,
                            [
                                outcomes.policy_handoff_event(
                                    session_id=prepared.session_id,
                                    user_id=prepared.turn.user_id,
                                    variant=policy.variant,
                                    policy_version=policy.version,
                                    experiment=stored.experiment if stored else None,
                                )
                            ],
                        )
                    )
                if prepared.claim is not None:
                    await self._idempotency.complete(
                        db, prepared.claim, status_code=200, response=reply.to_dict()
                    )

        await self._guard_db(persist())
        if policy_handoff_logged:
            metrics.HANDOFFS.labels(policy.variant, "policy").inc()

        new_messages: list[ChatMessage] = [
            {"role": "user", "content": prepared.turn.message},
            {"role": "assistant", "content": text},
        ]
        try:
            if prepared.history_from_cache:
                if prepared.is_new:
                    await self._cache.set_history(prepared.session_id, new_messages)
                else:
                    await self._cache.append(prepared.session_id, new_messages)
            else:  # backfill what we read from the database
                await self._cache.set_history(prepared.session_id, prepared.history + new_messages)
        except CacheUnavailableError as exc:
            logger.warning("session cache unavailable, turn kept in the database only: %s", exc)
            reply = ChatReply(**{**reply.__dict__, "degraded": True})

        metrics.GENERATED_TOKENS.labels(policy.variant).inc(completion_tokens)
        metrics.PROMPT_TOKENS.labels(policy.variant).inc(prompt_tokens)
        metrics.CHAT_REPLIES.labels(policy.variant, str(handoff).lower()).inc()
        return reply

    # -- helpers ---------------------------------------------------------------------------

    async def _rate_limit(self, bucket: str, limit: int) -> None:
        window = self.limits.rate_limit_window_s
        try:
            wait = await self._cache.hit(bucket, limit=limit, window_s=window)
        except CacheUnavailableError:
            wait = await self._local.hit(bucket, limit=limit, window_s=window)
        if wait is not None:
            what = "API key" if bucket.startswith("key:") else "session"
            raise RateLimitedError(
                f"too many requests for this {what}: at most {limit} per {window} s",
                retry_after_s=wait,
            )

    async def _unlock(self, prepared: _Prepared) -> None:
        await _quietly(
            prepared.lock_cache.release_lock(f"session:{prepared.session_id}", prepared.lock_token)
        )

    async def _abandon(self, claim: IdempotencyClaim | None) -> None:
        if claim is not None:
            await _quietly(self._idempotency.abandon(claim))

    @staticmethod
    async def _guard_db(awaitable):  # type: ignore[no-untyped-def]
        """Turn database outages into a clean 503 instead of a 500."""
        try:
            return await awaitable
        except AppError:
            raise
        except (SQLAlchemyError, OSError) as exc:
            logger.error("database unavailable: %s", exc)
            raise DatabaseUnavailableError(
                "the database is unavailable; retry shortly", retry_after_s=5
            ) from exc


async def _replay_stream(reply: ChatReply) -> AsyncIterator[Delta | ChatReply]:
    yield Delta(reply.reply)
    yield reply


async def _quietly(awaitable) -> None:  # type: ignore[no-untyped-def]
    """Best-effort cleanup: log and swallow, so the original outcome is reported."""
    try:
        await awaitable
    except Exception:
        logger.warning("cleanup step failed", exc_info=True)
