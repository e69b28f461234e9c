"""The chat use case: one customer turn from request to persisted reply.

authenticate (in the API layer) → rate limits and the session lock (`session_guard`) →
policy → profile → session history (cache, else the database) → the shopper's intent
(`app.engine.intent`) → prompt (`app.domain.prompt.build_messages`, with the rules'
verdict when the intent is known) → engine → reply guard (`guard`) → persist the turn
(`turn_log`: one transaction, then the cache) → reply. One generation runs per session
at a time. The request and reply types live in `turns`.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import AsyncGenerator, AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, replace
from typing import Any, TypeVar

import anyio
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core import metrics
from app.core.errors import (
    SessionHandedOffError,
    UnknownSessionError,
    database_call,
)
from app.core.security import Principal
from app.core.timing import span
from app.domain.checks import TurnFacts, carried_cart
from app.domain.intents import (
    earlier_requests,
    in_context,
    intent_text,
    refers_back,
    request_parts,
)
from app.domain.profile import Profile, StorefrontContext
from app.domain.prompt import ChatMessage, build_messages, strip_reasoning
from app.domain.requests import Requests, items_compared, split_requests
from app.domain.rules import Intent
from app.engine.base import (
    ChatEngine,
    Generation,
)
from app.engine.intent import IntentClassifier
from app.services.generation import ReplyGenerator
from app.services.guard import GuardedReply, GuardMode, ReplyGuard
from app.services.idempotency import IdempotencyClaim, IdempotencyService
from app.services.policies import Policy, PolicyResolver
from app.services.profiles import ProfileService
from app.services.rate_limits import RateLimiter
from app.services.session_guard import SessionGuard, SessionLock
from app.services.turn_log import TurnLog
from app.services.turns import ChatLimits, ChatReply, ChatTurn, Delta, Usage
from app.store import conversations
from app.store.models import SessionStatus
from app.store.sessions import CacheUnavailableError, SessionCache

logger = logging.getLogger(__name__)

IDEMPOTENCY_ROUTE = "chat"
# The same words for a session that never existed, another shopper's and another
# storefront's (no id echoed): a caller cannot probe which session ids exist.
UNKNOWN_SESSION = "unknown session for this user: omit session_id to start a new one"
T = TypeVar("T")


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
    lock: SessionLock
    claim: IdempotencyClaim | None
    started: float
    degraded: bool
    profile: Profile | None = None  # the facts the reply reasoned over (logged for retraining)
    facts: TurnFacts | None = None  # what the reply guard checks the reply against
    requests: Requests | None = None  # what the message asks, when it asks several things
    persist: asyncio.Task[ChatReply] | None = None  # recording the turn, once generated
    released: bool = False  # lock released and claim settled (`ChatService._release`)


class TurnStream(AsyncIterator[Delta | ChatReply]):
    """The `Delta`s and final `ChatReply` of one streamed turn.

    `aclose()` always releases the session lock and settles the idempotency claim, even
    when iteration never began (a client that hangs up before the first event), which
    closing a never-started generator would not do.
    """

    def __init__(
        self,
        events: AsyncGenerator[Delta | ChatReply, None],
        release: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self._events = events
        self._release = release

    def __aiter__(self) -> TurnStream:
        return self

    async def __anext__(self) -> Delta | ChatReply:
        return await self._events.__anext__()

    async def aclose(self) -> None:
        try:
            await shielded(self._events.aclose())
        finally:
            if self._release is not None:
                await shielded(self._release())


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
        limiter: RateLimiter,
        intents: IntentClassifier | None = None,
    ) -> None:
        self._db = db
        self._cache = cache
        self._policies = policies
        self._profiles = profiles
        self._idempotency = idempotency
        self.limits = limits
        self.guard = guard
        self._intents = intents
        self._sessions = SessionGuard(
            cache, limiter=limiter, lock_ttl_s=limits.generation_timeout_s + 10
        )
        self._log = TurnLog(db=db, cache=cache, idempotency=idempotency)
        self._generator = ReplyGenerator(engine, limits)

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
            await shielded(self._abandon(claim_or_stored))
            raise
        try:
            with span("generate"):
                generation = await self._generator.generate(
                    prepared.messages, prepared.policy.adapter, variant=prepared.policy.variant
                )
            with span("guard"):
                guarded = await self._review(prepared, generation)
            with span("persist"):
                return await self._persist(prepared, guarded, generation)
        finally:
            await self._release(prepared)

    async def open_stream(
        self, *, principal: Principal, turn: ChatTurn, idempotency_key: str | None = None
    ) -> TurnStream:
        """Check the turn now (errors raise before any byte is sent), then stream it:
        `Delta`s, then the final `ChatReply`. Mid-stream failures raise `AppError`.

        The caller must `aclose()` the stream however it ends: that releases the session
        lock and the idempotency claim."""
        started = time.perf_counter()
        with span("admit"):
            claim_or_stored = await self._claim(principal, turn, idempotency_key)
        if isinstance(claim_or_stored, ChatReply):
            return TurnStream(_replay_stream(claim_or_stored))
        try:
            prepared = await self._prepare(principal, turn, claim_or_stored, started)
        except BaseException:
            await shielded(self._abandon(claim_or_stored))
            raise
        return TurnStream(self._stream(prepared), lambda: self._release(prepared))

    # -- steps -----------------------------------------------------------------------------

    async def _claim(
        self, principal: Principal, turn: ChatTurn, key: str | None
    ) -> IdempotencyClaim | ChatReply | None:
        # The key's own limit is counted before the body is read (`app.api.gate`); this
        # one keeps a single shopper from spending the whole key's budget.
        await self._sessions.rate_limit(
            "user",
            principal.key_name,
            turn.user_id,
            limit=self.limits.rate_limit_per_user,
            what="shopper",
        )
        if key is None:
            return None
        outcome = await database_call(
            self._idempotency.begin(
                storefront_id=principal.storefront_id,
                owner=principal.key_name,
                key=key,
                route=IDEMPOTENCY_ROUTE,
                payload=turn.payload(),
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
        # The intent needs only the message: its encoder pass runs in a worker thread
        # while the profile, session and history are read, instead of after them.
        classifying = self._classify_soon(turn)
        try:
            return await self._prepare_turn(principal, turn, claim, started, classifying)
        finally:
            if classifying is not None and not classifying.done():
                classifying.cancel()  # the turn failed before it needed the intent
            elif classifying is not None and not classifying.cancelled():
                classifying.exception()  # retrieved: a failed turn's encoder error is not "lost"

    def _classify_soon(self, turn: ChatTurn) -> asyncio.Task[Intent | None] | None:
        wanted = self.guard.config.mode is not GuardMode.OFF or self.limits.prompt_verdict
        if self._intents is None or not wanted:
            return None
        return asyncio.create_task(self._classify(turn), name="intent")

    async def _classify(self, turn: ChatTurn, message: str | None = None) -> Intent | None:
        """The intent of `message` (default: the turn's own) read on the turn's page."""
        assert self._intents is not None
        started = time.perf_counter()
        text = intent_text(turn.message if message is None else message, turn.context)
        guess = await self._intents.aclassify(text, turn.user_id)
        metrics.INTENT_DURATION.observe(time.perf_counter() - started)
        return in_context(guess.intent, turn.context)

    async def _intent(
        self,
        turn: ChatTurn,
        classifying: asyncio.Task[Intent | None] | None,
        history: list[ChatMessage],
    ) -> Intent | None:
        """The turn's intent; a follow-up the classifier cannot place on its own ("why
        not?"), or one that asks how to change the last answer ("how do I fix that?"),
        continues the shopper's latest earlier request it can place, read on this turn's
        page."""
        if classifying is None:
            return None
        intent = await classifying
        if intent is not None and not (history and refers_back(turn.message)):
            return intent
        for earlier in earlier_requests(history):
            if (placed := await self._classify(turn, earlier)) is not None:
                return placed
        return intent

    async def _prepare_turn(
        self,
        principal: Principal,
        turn: ChatTurn,
        claim: IdempotencyClaim | None,
        started: float,
        classifying: asyncio.Task[Intent | None] | None,
    ) -> _Prepared:
        degraded = False
        with span("profile"):
            profile = await database_call(
                self._profiles.get(storefront_id=principal.storefront_id, user_id=turn.user_id)
            )

        session = None
        if turn.session_id is not None:
            with span("session"):
                async with self._db() as db:
                    session = await database_call(
                        conversations.get_session(
                            db, storefront_id=principal.storefront_id, session_id=turn.session_id
                        )
                    )
            # Another shopper's or storefront's session is reported as unknown, in words
            # that name no id: ids must not leak.
            if session is None or session.user_id != turn.user_id:
                raise UnknownSessionError(UNKNOWN_SESSION, param="session_id")
            if session.status == SessionStatus.HUMAN:
                raise SessionHandedOffError(
                    "a human agent has taken over this session; the assistant stays silent",
                    param="session_id",
                )
            await self._sessions.rate_limit(
                "session", session.id, limit=self.limits.rate_limit_per_session, what="session"
            )

        with span("assign"):
            policy = await self._policies.resolve(
                storefront_id=principal.storefront_id,
                user_id=turn.user_id,
                session_variant=session.variant if session else None,
                session_policy_version=session.policy_version if session else None,
            )
        session_id = session.id if session else str(uuid.uuid4())

        with span("lock"):
            lock = await self._sessions.lock(session_id)
        degraded = lock.degraded

        try:
            with span("history"):
                history, from_cache, cache_down = await self._history(
                    principal.storefront_id, session_id, is_new=session is None
                )
            degraded = degraded or cache_down
            if session is not None and not turn.context_sent:
                with span("context"):
                    turn = await self._carry_context(
                        principal.storefront_id, session_id, turn, history
                    )
            max_messages = 2 * self.limits.history_max_turns
            history = history[-max_messages:] if max_messages else []
            with span("intent"):  # only what the encoder has not finished by now
                intent = await self._intent(turn, classifying, history)
                facts = TurnFacts(profile, turn.context, turn.message, intent, tuple(history))
                requests = split_requests(facts, await self._parts(turn, facts))
                facts = requests.main
            with span("prompt"):
                decision = facts.decision if self.limits.prompt_verdict else None
                # Trimmed by tokens to the engine's context; `history` itself stays whole
                # (it backfills the session cache).
                messages = self._generator.fit_prompt(
                    lambda past: build_messages(
                        profile, turn.context, past, turn.message, decision=decision
                    ),
                    history,
                )
            self._generator.check_capacity()
        except BaseException:
            await shielded(self._sessions.release(lock))
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
            lock=lock,
            claim=claim,
            started=started,
            degraded=degraded,
            profile=profile,
            facts=facts,
            requests=requests,
        )

    async def _parts(self, turn: ChatTurn, facts: TurnFacts) -> list[TurnFacts]:
        """Each request of a message that asks several things, read on its own (one
        encoder batch), or each item in view when it asks which of them fits; none for a
        message that asks one thing, or when nothing would answer them (the guard answers
        further requests only when it enforces)."""
        if self.guard.config.mode is not GuardMode.ENFORCE:
            return []
        if compared := items_compared(facts):
            return compared
        parts = request_parts(turn.message)
        if len(parts) < 2 or self._intents is None:
            return []
        intents = await asyncio.gather(*(self._classify(turn, part) for part in parts))
        return [replace(facts, message=m, intent=i) for m, i in zip(parts, intents, strict=True)]

    async def _review(self, prepared: _Prepared, generation: Generation) -> GuardedReply:
        assert prepared.facts is not None
        seed = f"{prepared.session_id}:{len(prepared.history)}"
        guarded = await self.guard.review(
            facts=prepared.facts,
            generation=generation,
            messages=prepared.messages,
            adapter=prepared.policy.adapter,
            policy=prepared.policy.version,
            seed=seed,
        )
        if prepared.requests is None:
            return guarded
        asked = prepared.requests
        return self.guard.answer_further(
            guarded, asked.further, asked_before=asked.asked_before, seed=seed
        )

    async def _carry_context(
        self, storefront_id: str, session_id: str, turn: ChatTurn, history: list[ChatMessage]
    ) -> ChatTurn:
        """A follow-up sent without `context` keeps the one its session's previous turn was
        answered on (what the shopper still sees, and what the rules decide it on), with the
        items that turn's message added, swapped or left out in words (`carried_cart`)."""
        async with self._db() as db:
            stored = await database_call(
                conversations.latest_context(db, storefront_id=storefront_id, session_id=session_id)
            )
        if not stored:
            return turn
        context = StorefrontContext.model_validate(stored)
        asked = next((m["content"] for m in reversed(history) if m["role"] == "user"), None)
        if asked is not None:
            context = carried_cart(context, asked)
        return replace(turn, context=context)

    async def _history(
        self, storefront_id: str, session_id: str, *, is_new: bool
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
            history = await database_call(
                conversations.recent_history(
                    db,
                    storefront_id=storefront_id,
                    session_id=session_id,
                    max_messages=2 * self.limits.history_max_turns,
                )
            )
        return history, False, cache_down

    async def _stream(self, prepared: _Prepared) -> AsyncGenerator[Delta | ChatReply, None]:
        """Deltas as the engine produces them, then the final reply.

        With the guard enforcing, no unverified text may reach the shopper: the reply is
        generated in full, checked (and replaced if it fails), then sent as one delta. The
        first token then costs the whole generation (docs/serving.md, "Streaming").
        """
        enforce = self.guard.config.mode is GuardMode.ENFORCE
        try:
            generation: Generation | None = None
            pieces = self._generator.stream(
                prepared.messages, prepared.policy.adapter, variant=prepared.policy.variant
            )
            async with contextlib.aclosing(pieces):  # type: ignore[type-var]
                async for piece in pieces:
                    if isinstance(piece, Generation):
                        generation = piece
                    elif not enforce:
                        yield Delta(piece)
            assert generation is not None  # the generator always ends with it
            guarded = await self._review(prepared, generation)
            reply = await self._persist(prepared, guarded, generation)
            if enforce and reply.reply:
                yield Delta(reply.reply)
            yield reply
        finally:
            # Success, failure, or the client hung up (the generator is closed, or
            # cancelled mid-await): the lock and the claim are settled either way.
            await self._release(prepared)

    async def _persist(
        self, prepared: _Prepared, guarded: GuardedReply, generation: Generation
    ) -> ChatReply:
        """Record the turn, to the end even if the caller is cancelled meanwhile.

        The reply exists by now, so a client that hangs up during the write still gets
        its turn recorded and its idempotent response stored: a retry with the same
        Idempotency-Key replays it instead of generating (and logging) a second reply.
        """
        prepared.persist = asyncio.ensure_future(self._finish(prepared, guarded, generation))
        return await shielded(prepared.persist)

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
        # The policy's own words whenever the shopper read others: replaced, reworded
        # (`app.domain.wording`), or with further requests answered.
        replaced = guarded.intervention.value != "none" or guarded.text != generation.text
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

        cached = await self._log.record(
            storefront_id=prepared.principal.storefront_id,
            session_id=prepared.session_id,
            user_id=prepared.turn.user_id,
            policy=policy,
            api_key_name=prepared.principal.key_name,
            turn=turn_record,
            claim=prepared.claim,
            response=reply.to_dict(),
            history=prepared.history,
            history_from_cache=prepared.history_from_cache,
            is_new=prepared.is_new,
        )
        if not cached:
            reply = replace(reply, degraded=True)

        metrics.GENERATED_TOKENS.labels(policy.variant).inc(completion_tokens)
        metrics.PROMPT_TOKENS.labels(policy.variant).inc(prompt_tokens)
        metrics.CHAT_REPLIES.labels(policy.variant, str(handoff).lower()).inc()
        return reply

    # -- helpers ---------------------------------------------------------------------------

    async def _release(self, prepared: _Prepared) -> None:
        """Release the session lock and settle the claim: completed if the turn was
        recorded, freed for a retry otherwise. Idempotent; runs shielded from cancellation
        (a client disconnect cancels the request's task while this is still to do)."""
        if prepared.released:
            return
        prepared.released = True
        await shielded(self._settle(prepared))

    async def _settle(self, prepared: _Prepared) -> None:
        recorded = False
        if prepared.persist is not None:
            # A write still running (its caller was cancelled) decides the claim's fate.
            with contextlib.suppress(Exception, asyncio.CancelledError):
                await prepared.persist
                recorded = True
        if not recorded:
            await self._abandon(prepared.claim)
        await _quietly(self._unlock(prepared))

    async def _unlock(self, prepared: _Prepared) -> None:
        await self._sessions.release(prepared.lock)

    async def _abandon(self, claim: IdempotencyClaim | None) -> None:
        if claim is not None:
            await _quietly(self._idempotency.abandon(claim))


async def _replay_stream(reply: ChatReply) -> AsyncGenerator[Delta | ChatReply, None]:
    yield Delta(reply.reply)
    yield reply


# Cleanup tasks still running after their caller was cancelled: referenced until done,
# so the event loop's weak references cannot drop them half-way.
_SHIELDED: set[asyncio.Future[Any]] = set()


async def shielded(awaitable: Awaitable[T]) -> T:
    """Await `awaitable` in its own task that runs to the end whatever happens to the caller.

    Both kinds of cancellation reach request handlers: anyio's level-triggered cancel
    scopes (sse-starlette's task group when the client hangs up), which would cancel
    every await of a cleanup again, and asyncio's native `Task.cancel()`. The anyio
    shield keeps the former out; `asyncio.shield` keeps the task running through the
    latter, while the caller's own await is interrupted as it must be.
    """
    task = asyncio.ensure_future(awaitable)
    _SHIELDED.add(task)
    task.add_done_callback(_SHIELDED.discard)
    with anyio.CancelScope(shield=True):
        return await asyncio.shield(task)


async def _quietly(awaitable) -> None:  # type: ignore[no-untyped-def]
    """Best-effort cleanup: log and swallow, so the original outcome is reported."""
    try:
        await awaitable
    except Exception:
        logger.warning("cleanup step failed", exc_info=True)
