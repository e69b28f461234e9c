"""The FastAPI application: `create_app()` wires routers, error handlers, middleware and a
lifespan that builds the database engine, session cache and chat engine onto `app.state`
(and always closes them). Nothing is created at import time."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager
from dataclasses import replace

from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.api.errors import install_error_handlers
from app.api.gate import RequestGateMiddleware
from app.api.main import api_router
from app.api.middleware import RequestContextMiddleware
from app.core import metrics
from app.core.config import Settings
from app.engine.base import Adapter, ChatEngine
from app.engine.intent import IntentClassifier
from app.services.auth import Authenticator
from app.services.chat import ChatService
from app.services.container import Services
from app.services.experiment_policies import ExperimentPolicyResolver
from app.services.guard import GuardConfig, GuardMode, ReplyGuard
from app.services.idempotency import IdempotencyService
from app.services.outcome_setup import outcome_services
from app.services.policies import DefaultPolicyResolver, PolicyResolver
from app.services.profiles import ProfileService
from app.services.rate_limits import RateLimiter
from app.services.shopper_data import ShopperDataService, purge_expired_messages
from app.services.tenancy import TenancyService
from app.services.turns import ChatLimits
from app.store import idempotency as idempotency_repo
from app.store.db import create_db_engine, create_session_factory
from app.store.sessions import InMemorySessionCache, RedisSessionCache, SessionCache

logger = logging.getLogger(__name__)

DESCRIPTION = """\
E-commerce assistant whose policy is trained with MORE. Storefront backends call it
server-to-server with `Authorization: Bearer <key>`; errors share one shape,
`{"error": {"type", "code", "message", "param"}}`.
"""


def _make_cache(settings: Settings) -> SessionCache:
    max_messages = max(2, 2 * settings.MORE_HISTORY_MAX_TURNS)
    if settings.REDIS_URL:
        return RedisSessionCache(
            settings.REDIS_URL,
            ttl_s=settings.MORE_SESSION_TTL_S,
            max_messages=max_messages,
            prefix=settings.MORE_REDIS_PREFIX,
            timeout_s=settings.MORE_REDIS_TIMEOUT_S,
        )
    return InMemorySessionCache(ttl_s=settings.MORE_SESSION_TTL_S, max_messages=max_messages)


def _guard_config(settings: Settings) -> GuardConfig:
    return GuardConfig(
        mode=GuardMode(settings.MORE_GUARD_MODE),
        candidates=settings.MORE_GUARD_CANDIDATES,
        temperature=settings.MORE_GUARD_TEMPERATURE,
        max_tokens=settings.MORE_MAX_TOKENS,
    )


def _intents(settings: Settings) -> IntentClassifier | None:
    """The intent classifier, unless neither the guard nor the prompt needs it."""
    if settings.MORE_GUARD_MODE == "off" and not settings.MORE_PROMPT_VERDICT:
        return None
    from app.engine.intent import default_intent_classifier, use_one_thread

    if settings.MORE_ENGINE == "vllm":
        use_one_thread()  # the engine has its own process; torch here only encodes messages
    return default_intent_classifier()


def _limits(settings: Settings) -> ChatLimits:
    return ChatLimits(
        max_tokens=settings.MORE_MAX_TOKENS,
        temperature=settings.MORE_TEMPERATURE,
        top_p=settings.MORE_TOP_P,
        history_max_turns=settings.MORE_HISTORY_MAX_TURNS,
        generation_timeout_s=settings.MORE_GENERATION_TIMEOUT_S,
        max_queue=settings.MORE_MAX_QUEUE,
        rate_limit_per_session=settings.MORE_RATE_LIMIT_PER_SESSION,
        rate_limit_per_user=settings.MORE_RATE_LIMIT_PER_USER,
        prompt_verdict=settings.MORE_PROMPT_VERDICT,
    )


class UnsafeStartupError(RuntimeError):
    """The configuration would expose a service nobody can use, or anybody can."""


async def _refuse_keyless_public_bind(settings: Settings, auth: Authenticator) -> None:
    """On a non-loopback bind, refuse to start without any API key.

    The demo keys are already refused there (`Settings`); what is left is a service that
    answers every request with 401, which is a deployment mistake worth stopping at once.
    A database that cannot be read now is not a reason to refuse: without a static key
    every request then needs the database anyway, so nothing is open.
    """
    if settings.loopback_bind:
        return
    try:
        has_keys = await auth.has_keys()
    except Exception as exc:
        logger.warning("could not check for API keys at startup: %s", type(exc).__name__)
        return
    if not has_keys:
        raise UnsafeStartupError(
            f"MORE_HOST={settings.MORE_HOST} is not a loopback address and no API key is "
            "configured: set MORE_ADMIN_API_KEY and MORE_DEMO_API_KEY (secrets of your own, "
            "not the demo values) or create keys with `more apikey create`, or bind to "
            "MORE_HOST=127.0.0.1"
        )


# How often each replica enforces MORE_MESSAGE_RETENTION_DAYS (the first run at start).
RETENTION_PURGE_INTERVAL_S = 3600.0


async def _purge_messages_periodically(
    db: async_sessionmaker[AsyncSession], retention_days: int
) -> None:
    """Enforce the message retention now and every hour (every replica runs it; a delete
    of what another replica already deleted costs nothing)."""
    while True:
        try:
            await purge_expired_messages(db, retention_days=retention_days)
        except Exception as exc:  # a database outage: try again next time
            logger.warning("retention purge failed: %s", type(exc).__name__)
        await asyncio.sleep(RETENTION_PURGE_INTERVAL_S)


async def _cancel(task: asyncio.Task[None]) -> None:
    task.cancel()
    with contextlib.suppress(asyncio.CancelledError):
        await task


async def _start_default_experiment(cfg: Settings, db: async_sessionmaker[AsyncSession]) -> None:
    """The embedded sft-vs-more A/B (`ensure_default_experiment`), never blocking start-up."""
    from app.engine.bundled import BUNDLED_DIRNAME
    from app.services.demo import ensure_default_experiment

    model = cfg.MORE_MODEL_PATH
    base_model = model.rstrip("/").rsplit("/", 1)[-1] if model else BUNDLED_DIRNAME
    try:
        await ensure_default_experiment(
            db, adapters_dir=cfg.MORE_ADAPTERS_DIR, base_model=base_model
        )
    except Exception as exc:  # e.g. not migrated yet
        logger.warning("could not set up the default experiment: %s", exc)


async def _build_engine(
    cfg: Settings,
    resolver: PolicyResolver,
    default: DefaultPolicyResolver,
    adapters: list[Adapter],
) -> ChatEngine:
    """The engine for the policies served at start (not started yet).

    With merging on (`MORE_MERGE_ADAPTER`), LoRA slots are avoided: they cost about 11x
    per token on CPU. One policy for everyone (the default's adapter, no experiment, no
    promoted version) is merged into one engine; the policies of the running experiments
    (and the default) are merged into one engine each, up to `MORE_MERGED_ENGINES`
    (`app.engine.routed`). Otherwise the adapters are loaded into LoRA slots.
    """
    from app.engine.factory import create_engine, engine_config, merged_config, policy_engines

    config = engine_config(cfg, adapters)
    if cfg.merge_adapter and not adapters:
        # The base model alone: no LoRA slots either, which cost time per token even
        # empty (61 vs 48 ms per token against vLLM's own server, docs/benchmarks.md).
        return create_engine(replace(config, enable_lora=False))
    if not (cfg.merge_adapter and adapters and isinstance(resolver, ExperimentPolicyResolver)):
        return create_engine(config, adapters=adapters)
    if (
        len(adapters) == 1
        and adapters == await default.adapters()
        and await resolver.serves_only_default()
    ):
        # Off the event loop: the first merge loads torch and takes about 8 s.
        config = await asyncio.to_thread(merged_config, config, adapters[0])
        default.serve_merged()
        logger.info("serving %s merged into %s", cfg.default_policy_version, config.model_path)
        return create_engine(config)
    with_base = await resolver.serves_base()
    engines = len(adapters) + with_base
    if engines > cfg.MORE_MERGED_ENGINES:
        logger.info(
            "%d policies to serve, more than MORE_MERGED_ENGINES=%d: LoRA slots",
            engines,
            cfg.MORE_MERGED_ENGINES,
        )
        return create_engine(config, adapters=adapters)
    routed = await asyncio.to_thread(policy_engines, config, adapters, with_base=with_base)
    logger.info(
        "serving %s merged, one engine each",
        ", ".join(a.name for a in adapters) + (" and the base model" if with_base else ""),
    )
    return routed


def create_app(
    settings: Settings | None = None,
    engine: ChatEngine | None = None,
    policies: PolicyResolver | None = None,
    intents: IntentClassifier | None = None,
) -> FastAPI:
    """Build the app.

    Args:
        settings: configuration; default: read from the environment when the app starts.
        engine: an already-started chat engine owned by the caller (tests, benchmarks);
            default: built from the settings in the lifespan, started and closed there.
        policies: the policy resolver; default: the configured adapter or the base model.
        intents: the shopper-intent classifier; default: the bundled MiniLM one (built once
            per process), or none when neither the guard nor the prompt verdict needs it.
    """

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        cfg = settings or Settings()
        async with AsyncExitStack() as stack:
            db_engine = create_db_engine(
                cfg.database_url,
                pool_size=cfg.MORE_DB_POOL_SIZE,
                sqlite_synchronous=cfg.MORE_SQLITE_SYNCHRONOUS,
                lock_timeout_s=cfg.MORE_DB_LOCK_TIMEOUT_S,
            )
            stack.push_async_callback(db_engine.dispose)
            db = create_session_factory(db_engine)
            cache = _make_cache(cfg)
            stack.push_async_callback(cache.close)
            limiter = RateLimiter(
                window_s=cfg.MORE_RATE_LIMIT_WINDOW_S,
                redis_url=cfg.REDIS_URL,
                prefix=cfg.MORE_REDIS_PREFIX,
                timeout_s=cfg.MORE_REDIS_TIMEOUT_S,
            )
            stack.push_async_callback(limiter.close)

            default = DefaultPolicyResolver(
                version=cfg.default_policy_version, adapter_path=cfg.default_adapter_path
            )
            if cfg.embedded and cfg.MORE_DEFAULT_EXPERIMENT:
                # Before the engine is planned: the experiment decides which policies it
                # must serve (one merged engine each, or LoRA slots).
                await _start_default_experiment(cfg, db)
            resolver = policies or ExperimentPolicyResolver(db=db, default=default)
            adapters = await resolver.adapters()
            chat_engine = engine
            if chat_engine is None:
                chat_engine = await _build_engine(cfg, resolver, default, adapters)
                stack.push_async_callback(chat_engine.close)
                logger.info("starting the %s engine", cfg.MORE_ENGINE)
                await chat_engine.start()
            else:
                for adapter in adapters:
                    await chat_engine.add_adapter(adapter)

            metrics.ENGINE_QUEUE_DEPTH.set_function(lambda: chat_engine.queue_depth)
            stack.callback(metrics.ENGINE_QUEUE_DEPTH.set, 0)

            # Off the event loop: embedding the prototypes takes a second or two.
            classifier = intents or await asyncio.to_thread(_intents, cfg)
            profiles = ProfileService(db=db, ttl_s=cfg.MORE_PROFILE_CACHE_TTL_S)
            # A claim outlives a live request by at most the generation timeout plus the
            # write; one older than twice that was left by a process that died.
            idempotency = IdempotencyService(
                db=db, stale_after_s=2 * cfg.MORE_GENERATION_TIMEOUT_S + 30
            )
            auth = Authenticator(db=db, storefront_key=cfg.storefront_key, admin_key=cfg.admin_key)
            await _refuse_keyless_public_bind(cfg, auth)
            outcomes = await stack.enter_async_context(
                outcome_services(
                    cfg,
                    db=db,
                    resolver=resolver,
                    engine=chat_engine,
                )
            )
            app.state.services = Services(
                settings=cfg,
                db_engine=db_engine,
                db=db,
                cache=cache,
                engine=chat_engine,
                policies=resolver,
                auth=auth,
                limiter=limiter,
                profiles=profiles,
                idempotency=idempotency,
                chat=ChatService(
                    db=db,
                    cache=cache,
                    engine=chat_engine,
                    policies=resolver,
                    profiles=profiles,
                    idempotency=idempotency,
                    limits=_limits(cfg),
                    guard=ReplyGuard(engine=chat_engine, config=_guard_config(cfg)),
                    limiter=limiter,
                    intents=classifier,
                ),
                shoppers=ShopperDataService(db=db, cache=cache, profiles=profiles),
                tenancy=TenancyService(db=db, forget_key=auth.forget_key),
                events=outcomes.events,
                handoffs=outcomes.handoffs,
                experiments=outcomes.experiments,
                registry=outcomes.registry,
            )
            try:
                async with db() as session:
                    await idempotency_repo.purge_older_than(
                        session, ttl_s=cfg.MORE_IDEMPOTENCY_TTL_S
                    )
            except Exception as exc:
                logger.warning("could not purge old idempotency records: %s", exc)
            if cfg.MORE_MESSAGE_RETENTION_DAYS is not None:
                purger = asyncio.create_task(
                    _purge_messages_periodically(db, cfg.MORE_MESSAGE_RETENTION_DAYS),
                    name="message-retention",
                )
                stack.push_async_callback(_cancel, purger)
            logger.info(
                "ready: %s mode, engine=%s, policy=%s",
                "embedded" if cfg.embedded else "external",
                type(chat_engine).__name__,
                cfg.default_policy_version,
            )
            yield

    app = FastAPI(
        title="MORE dialogue service",
        version="0.1.0",
        description=DESCRIPTION,
        lifespan=lifespan,
    )
    install_error_handlers(app)
    app.include_router(api_router)
    # The last added runs first: request id and metrics see every response, the gate's too.
    app.add_middleware(RequestGateMiddleware)
    app.add_middleware(RequestContextMiddleware)
    return app
