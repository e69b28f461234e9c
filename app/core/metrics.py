"""Every Prometheus metric of the service, in one registry.

Names end in their base unit (`_seconds`) or `_total`; labels are bounded (route
template, method, status, variant, dependency) and never carry a user or session id.
"""

from __future__ import annotations

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)

REGISTRY = CollectorRegistry(auto_describe=True)
ProcessCollector(registry=REGISTRY)
PlatformCollector(registry=REGISTRY)

# Request latencies span 1 ms (health checks) to a minute (slow generations on CPU).
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)
_GEN_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120)

HTTP_REQUESTS = Counter(
    "more_http_requests_total",
    "HTTP requests handled, by route template, method and status code.",
    ["route", "method", "status"],
    registry=REGISTRY,
)
HTTP_REQUEST_DURATION = Histogram(
    "more_http_request_duration_seconds",
    "Time from request start to the end of the response body.",
    ["route", "method", "status"],
    buckets=_HTTP_BUCKETS,
    registry=REGISTRY,
)
GENERATION_DURATION = Histogram(
    "more_generation_duration_seconds",
    "Engine time for one complete reply.",
    ["variant"],
    buckets=_GEN_BUCKETS,
    registry=REGISTRY,
)
TIME_TO_FIRST_TOKEN = Histogram(
    "more_time_to_first_token_seconds",
    "Engine time until the first reply token.",
    ["variant"],
    buckets=_GEN_BUCKETS,
    registry=REGISTRY,
)
GENERATED_TOKENS = Counter(
    "more_generated_tokens_total",
    "Reply tokens generated.",
    ["variant"],
    registry=REGISTRY,
)
PROMPT_TOKENS = Counter(
    "more_prompt_tokens_total",
    "Prompt tokens processed.",
    ["variant"],
    registry=REGISTRY,
)
CHAT_REPLIES = Counter(
    "more_chat_replies_total",
    "Chat replies delivered, by variant and whether the reply handed off to a human.",
    ["variant", "handoff"],
    registry=REGISTRY,
)
GENERATION_FAILURES = Counter(
    "more_generation_failures_total",
    "Generations that did not complete, by reason (timeout, overloaded, prompt_too_long, error).",
    ["reason"],
    registry=REGISTRY,
)
GUARD_CHECKS = Counter(
    "more_guard_checks_total",
    "Reply-guard checks of the policy's own reply, by policy version, check and outcome.",
    ["policy", "constraint", "outcome"],
    registry=REGISTRY,
)
GUARD_INTERVENTIONS = Counter(
    "more_guard_interventions_total",
    "Replies the guard replaced (resample, fallback) or let through (none), by policy version.",
    ["policy", "kind"],
    registry=REGISTRY,
)
GUARD_REPLIES = Counter(
    "more_guard_replies_total",
    "Replies the guard checked, by policy version, whether the policy's own reply passed "
    "every check (raw) and whether the reply sent did (sent): raw vs served satisfaction.",
    ["policy", "raw", "sent"],
    registry=REGISTRY,
)
GUARD_DURATION = Histogram(
    "more_guard_duration_seconds",
    "Time the reply guard spends checking one reply (without resampling).",
    buckets=(0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1),
    registry=REGISTRY,
)
INTENT_DURATION = Histogram(
    "more_intent_duration_seconds",
    "Time to infer the shopper's intent from a message.",
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25),
    registry=REGISTRY,
)
ENGINE_QUEUE_DEPTH = Gauge(
    "more_engine_queue_depth",
    "Generations waiting or running in this replica's engine.",
    registry=REGISTRY,
)
CACHE_FALLBACKS = Counter(
    "more_session_cache_fallbacks_total",
    "Turns served without the session cache (history read from the database).",
    registry=REGISTRY,
)
DEPENDENCY_UP = Gauge(
    "more_dependency_up",
    "1 when a dependency answered the last readiness check, else 0.",
    ["dependency"],
    registry=REGISTRY,
)


def render_latest() -> tuple[bytes, str]:
    """The exposition text and its content type."""
    return generate_latest(REGISTRY), CONTENT_TYPE_LATEST


# --- Outcomes and experiments (per variant; reasons are a fixed set) ----------------------

OFFERS_SHOWN = Counter(
    "more_offers_shown_total",
    "Outcome events: an instalment offer reached the shopper, by variant.",
    ["variant"],
    registry=REGISTRY,
)
CONVERSIONS = Counter(
    "more_conversions_total",
    "Outcome events: a purchase after a chat, by variant.",
    ["variant"],
    registry=REGISTRY,
)
CONVERSION_AMOUNT = Counter(
    "more_conversion_amount_total",
    "Converted amount in the currency's major unit, by variant and currency.",
    ["variant", "currency"],
    registry=REGISTRY,
)
HANDOFFS = Counter(
    "more_handoffs_total",
    "Sessions handed to a human, by variant and reason "
    "(policy, customer_request, unresolved, agent, other).",
    ["variant", "reason"],
    registry=REGISTRY,
)
SATISFACTION = Histogram(
    "more_satisfaction_score",
    "Satisfaction ratings (1-5) given after a chat, by variant.",
    ["variant"],
    buckets=(1, 2, 3, 4, 5),
    registry=REGISTRY,
)
EVENTS_RECORDED = Counter(
    "more_events_recorded_total",
    "Outcome events stored (duplicates excluded), by type.",
    ["type"],
    registry=REGISTRY,
)
EVENTS_QUEUED = Counter(
    "more_events_queued_total",
    "Outcome events accepted into the outbox because the database was unavailable.",
    registry=REGISTRY,
)
EVENTS_OUTBOX_PENDING = Gauge(
    "more_events_outbox_pending",
    "Outcome events waiting in the outbox for the database.",
    registry=REGISTRY,
)
EXPERIMENT_ASSIGNMENTS = Counter(
    "more_experiment_assignments_total",
    "Users assigned to an experiment variant for the first time, by variant.",
    ["variant"],
    registry=REGISTRY,
)
SESSIONS_STARTED = Counter(
    "more_sessions_started_total",
    "Chat sessions started (the policy chosen for a first turn), by variant.",
    ["variant"],
    registry=REGISTRY,
)
