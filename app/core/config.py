"""Service settings: one pydantic-settings class, every field an environment variable.

Embedded mode (no `DATABASE_URL`, no `REDIS_URL`) runs on a SQLite file under
`MORE_DATA_DIR` and an in-process session cache; setting either URL switches that part to
PostgreSQL / Redis. The code paths above the storage interfaces are the same.
"""

from __future__ import annotations

import ipaddress
from functools import cached_property
from pathlib import Path
from typing import Literal

from pydantic import Field, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEMO_STOREFRONT_KEY = "demo-storefront-key"
DEMO_ADMIN_KEY = "demo-admin-key"
# The shipped MORE adapter (`MORE_ADAPTERS_DIR/more`) and the version it is served as.
SHIPPED_MORE_ADAPTER = "more"
SHIPPED_MORE_VERSION = "more-v1"


class Settings(BaseSettings):
    """Runtime configuration; field names are the environment variables (also read from `.env`)."""

    model_config = SettingsConfigDict(
        env_file=".env", env_file_encoding="utf-8", extra="ignore", case_sensitive=True
    )

    # --- Storage -----------------------------------------------------------------------
    DATABASE_URL: str | None = Field(
        default=None,
        description="SQLAlchemy async URL of PostgreSQL, e.g. "
        "postgresql+asyncpg://user:pass@host:5432/more. Unset: embedded SQLite file.",
    )
    REDIS_URL: str | None = Field(
        default=None,
        description="Redis URL for the session cache, e.g. redis://host:6379/0. "
        "Unset: in-process cache (single replica only).",
    )
    MORE_DATA_DIR: Path = Field(
        default=Path(".more"), description="Where embedded mode keeps its SQLite file."
    )
    MORE_DB_POOL_SIZE: int = Field(default=10, ge=1, description="PostgreSQL pool size.")
    MORE_DB_LOCK_TIMEOUT_S: float = Field(
        default=5.0,
        gt=0,
        description="PostgreSQL: longest wait for a row lock; past it the request answers 503 "
        "with Retry-After instead of holding its worker behind a stuck transaction.",
    )
    MORE_SQLITE_SYNCHRONOUS: Literal["NORMAL", "FULL"] = Field(
        default="NORMAL",
        description="Embedded SQLite's sync on commit (WAL mode). NORMAL: a commit survives the "
        "process dying, an OS crash or power loss may undo the last few; FULL: every commit "
        "waits for an fsync (about twice the turn's write time here).",
    )
    MORE_REDIS_TIMEOUT_S: float = Field(
        default=0.5,
        gt=0,
        description="Redis connect/read timeout; past it the turn falls back to PostgreSQL.",
    )
    MORE_REDIS_PREFIX: str = Field(
        default="more:", description="Prefix of every Redis key this service writes."
    )

    # --- Model and engine ----------------------------------------------------------------
    MORE_ENGINE: Literal["vllm", "transformers"] = Field(
        default="vllm",
        description="Generation backend: vLLM AsyncLLM, or transformers for small machines.",
    )
    MORE_MODEL_PATH: str | None = Field(
        default=None,
        description="Local Hugging Face model folder. Unset: the bundled SmolLM2-135M-Instruct.",
    )
    MORE_CACHE_DIR: Path | None = Field(
        default=None,
        description="Where the bundled model is converted once (default ~/.cache/more).",
    )
    MORE_ADAPTER_PATH: str | None = Field(
        default=None,
        description="LoRA adapter folder of the default policy. Unset: the shipped MORE "
        "adapter (`MORE_ADAPTERS_DIR/more`, version more-v1) when present, else the base model.",
    )
    MORE_ADAPTERS_DIR: Path = Field(
        default=Path("models"),
        description="Shipped adapters: `more/` is the default policy, and `sft/` + `more/` "
        "are what the embedded A/B experiment sft-vs-more compares.",
    )
    MORE_DEFAULT_EXPERIMENT: bool = Field(
        default=False,
        description="Embedded mode: start the sft-vs-more A/B between the shipped adapters "
        "(each policy merged into an engine of its own, see MORE_MERGED_ENGINES).",
    )
    MORE_MERGE_ADAPTER: bool | None = Field(
        default=None,
        description="Serve policies merged into the base weights (merged once into "
        "MORE_CACHE_DIR): one policy for everyone in one engine; the policies of the "
        "experiments running at start in one engine each, up to MORE_MERGED_ENGINES. "
        "About 11x faster per token on CPU than LoRA slots, but no adapter can be added "
        "without a restart (registering one is refused; the base model served alone has "
        "no LoRA slots either). Unset: on in embedded mode, off otherwise.",
    )
    MORE_MERGED_ENGINES: int = Field(
        default=2,
        ge=1,
        description="With MORE_MERGE_ADAPTER on, the most policies served merged, one "
        "engine each (each bound to its own CPU core); more policies than this are served "
        "in LoRA slots of one engine instead.",
    )
    MORE_ADAPTERS_ROOT: Path = Field(
        default=Path("."),
        description="The folder every adapter registered through the API must be inside; "
        "a relative adapter_path is resolved against it, a path outside it is a 422. "
        "Default: the working directory (which holds models/ and runs/).",
    )
    MORE_POLICY_VERSION: str | None = Field(
        default=None,
        description="Name reported as policy_version for the default policy "
        "(default: the adapter folder's name, or 'base').",
    )
    MORE_MAX_TOKENS: int = Field(default=96, ge=1, le=4096, description="Reply length cap.")
    MORE_TEMPERATURE: float = Field(
        default=0.0, ge=0.0, le=2.0, description="Sampling temperature; 0 = greedy."
    )
    MORE_TOP_P: float = Field(default=1.0, gt=0.0, le=1.0, description="Nucleus sampling.")
    MORE_GENERATION_TIMEOUT_S: float = Field(
        default=60.0, gt=0, description="Longest a reply may take; past it: 503 + Retry-After."
    )
    MORE_MAX_QUEUE: int = Field(
        default=64,
        ge=1,
        description="Generations waiting or running per replica; past it: 429 + Retry-After.",
    )
    MORE_MAX_MODEL_LEN: int = Field(
        default=2048, ge=16, description="Context length the engine reserves per sequence."
    )
    MORE_GPU_MEMORY_UTILIZATION: float = Field(
        default=0.3,
        gt=0,
        le=1,
        description="vLLM memory share (on CPU it sizes the KV cache in RAM).",
    )
    MORE_DTYPE: Literal["float32", "bfloat16", "float16", "auto"] = Field(
        default="float32", description="Weights dtype: float32 on CPU, bfloat16/auto on GPU."
    )
    MORE_MAX_NUM_SEQS: int = Field(
        default=64, ge=1, description="vLLM's cap on sequences batched together."
    )
    MORE_MAX_LORAS: int = Field(default=4, ge=1, description="Distinct adapters in one batch.")
    MORE_MAX_LORA_RANK: int | None = Field(
        default=None,
        ge=1,
        description="Largest adapter rank accepted. Unset: the largest rank among the adapters "
        "served at start (vLLM pads every adapter to it, so a needless 64 costs time).",
    )
    MORE_ENGINE_SEED: int = Field(default=0, description="Engine sampling seed.")
    MORE_ENGINE_WARMUP: bool = Field(
        default=True, description="One short generation at start so the first request is fast."
    )

    # --- Reply guard (docs/serving.md, "Verified replies") ---------------------------------
    MORE_GUARD_MODE: Literal["off", "monitor", "enforce"] = Field(
        default="enforce",
        description="Check every reply against the rules before it is sent: enforce replaces "
        "a failing reply, monitor only counts it, off skips the checks.",
    )
    MORE_GUARD_CANDIDATES: int = Field(
        # 0 by default: half the candidates sent through the live API read wrong while
        # passing every check ("Yes, your boyie-beer is inside the cart"), and sampling
        # them cost 2-4 s; the rule-grounded reply is right and immediate
        # (docs/serving.md, "Verified replies").
        default=0,
        ge=0,
        le=16,
        description="Replies sampled in one engine call when the first fails (0: straight "
        "to the rule-grounded reply).",
    )
    MORE_GUARD_TEMPERATURE: float = Field(
        default=0.8,
        gt=0.0,
        le=2.0,
        description="Sampling temperature of those candidates (> 0, or they repeat the reply "
        "that failed).",
    )
    MORE_PROMPT_VERDICT: bool = Field(
        default=True,
        description="Add the rules' verdict for the shopper's request to the prompt when its "
        "intent is recognised (the shipped policies are trained with it).",
    )

    # --- Sessions and caching --------------------------------------------------------------
    MORE_SESSION_TTL_S: int = Field(
        default=1800,
        ge=1,
        description="Sliding TTL of a session's cached history (30–60 min recommended).",
    )
    MORE_HISTORY_MAX_TURNS: int = Field(
        default=8, ge=0, description="Past turns (user + assistant) kept in the prompt."
    )
    MORE_PROFILE_CACHE_TTL_S: float = Field(
        default=30.0, ge=0, description="How long a replica reuses a loaded profile."
    )
    MORE_IDEMPOTENCY_TTL_S: int = Field(
        default=86400, ge=60, description="How long a stored response replays for its key."
    )
    MORE_MESSAGE_RETENTION_DAYS: int | None = Field(
        default=None,
        ge=1,
        description="Delete chat messages (text, storefront context, profile snapshots) "
        "older than this many days; every replica purges at start and hourly, `more db "
        "purge` on demand. Unset: keep them.",
    )

    # --- Access --------------------------------------------------------------------------
    MORE_DEMO_API_KEY: str | None = Field(
        default=None,
        description="Static storefront key. Embedded default: demo-storefront-key.",
    )
    MORE_ADMIN_API_KEY: str | None = Field(
        default=None, description="Static admin key. Embedded default: demo-admin-key."
    )
    MORE_ALLOW_DEMO_KEYS: bool = Field(
        default=False,
        description="Accept the public demo keys with PostgreSQL/Redis (never in production).",
    )
    MORE_METRICS_KEY: str | None = Field(
        default=None,
        description="When set, /metrics answers only `Authorization: Bearer <this key>` "
        "(it shows revenue and traffic). Unset: /metrics is open.",
    )
    MORE_RATE_LIMIT_PER_KEY: int = Field(
        default=600, ge=1, description="Chat requests per API key per window."
    )
    MORE_RATE_LIMIT_PER_SESSION: int = Field(
        default=30, ge=1, description="Chat requests per session per window."
    )
    MORE_RATE_LIMIT_PER_USER: int = Field(
        default=60,
        ge=1,
        description="Chat requests per shopper (user_id) within one API key per window.",
    )
    MORE_RATE_LIMIT_EVENTS_PER_KEY: int = Field(
        default=1200,
        ge=1,
        description="Event and session-handoff requests per API key per window.",
    )
    MORE_RATE_LIMIT_ADMIN_PER_KEY: int = Field(
        default=300,
        ge=1,
        description="Admin requests (profiles, experiments, policies) per API key per window.",
    )
    MORE_RATE_LIMIT_AUTH_FAILURES_PER_IP: int = Field(
        default=30,
        ge=1,
        description="Failed authentications per client IP per window; past it every "
        "request from that IP gets 429 until the window has passed.",
    )
    MORE_RATE_LIMIT_WINDOW_S: int = Field(default=60, ge=1, description="Rate-limit window.")
    MORE_MAX_BODY_BYTES: int = Field(
        default=65536,
        ge=1024,
        description="Largest request body accepted, in bytes; a larger one is refused "
        "with 413 before it is read in full or parsed.",
    )

    # --- Process -------------------------------------------------------------------------
    MORE_HOST: str = Field(
        default="127.0.0.1",
        description="Bind address of `more serve`. Any non-loopback address (e.g. 0.0.0.0) "
        "refuses the public demo keys and needs an API key to start.",
    )
    MORE_PORT: int = Field(default=8000, ge=1, le=65535, description="Port of `more serve`.")
    MORE_LOG_LEVEL: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(
        default="INFO", description="Root log level."
    )
    MORE_LOG_JSON: bool = Field(default=False, description="One JSON object per log line.")

    @field_validator(
        "DATABASE_URL",
        "REDIS_URL",
        "MORE_MODEL_PATH",
        "MORE_ADAPTER_PATH",
        "MORE_POLICY_VERSION",
        "MORE_DEMO_API_KEY",
        "MORE_ADMIN_API_KEY",
        "MORE_CACHE_DIR",
        "MORE_METRICS_KEY",
        "MORE_MESSAGE_RETENTION_DAYS",
        "MORE_MERGE_ADAPTER",
        mode="before",
    )
    @classmethod
    def _blank_is_unset(cls, value: object) -> object:
        # Compose files and shells pass `VAR=` for "not set"; treat it so.
        return None if isinstance(value, str) and not value.strip() else value

    @model_validator(mode="after")
    def _demo_keys_only_embedded(self) -> Settings:
        # The demo keys are printed in the README: fine on a laptop, never on a shared DB.
        if not self.embedded and not self.MORE_ALLOW_DEMO_KEYS:
            for name in ("MORE_DEMO_API_KEY", "MORE_ADMIN_API_KEY"):
                if getattr(self, name) in (DEMO_STOREFRONT_KEY, DEMO_ADMIN_KEY):
                    raise ValueError(
                        f"{name} is a public demo key and DATABASE_URL/REDIS_URL is set: "
                        "create keys with `more apikey create`, or set MORE_ALLOW_DEMO_KEYS=true"
                    )
        return self

    @model_validator(mode="after")
    def _demo_keys_only_on_loopback(self) -> Settings:
        # Anyone who reaches a public port can read the README's demo keys.
        if self.loopback_bind:
            return self
        for name in ("MORE_DEMO_API_KEY", "MORE_ADMIN_API_KEY"):
            if getattr(self, name) in (DEMO_STOREFRONT_KEY, DEMO_ADMIN_KEY):
                raise ValueError(
                    f"{name} is a public demo key and MORE_HOST={self.MORE_HOST} is not a "
                    f"loopback address: set {name} to a secret of your own (or create keys "
                    "with `more apikey create`), or bind to MORE_HOST=127.0.0.1"
                )
        return self

    @property
    def loopback_bind(self) -> bool:
        """The service listens on a loopback address only (reachable from this machine)."""
        return is_loopback(self.MORE_HOST)

    @property
    def embedded(self) -> bool:
        """No external services: SQLite file + in-process cache."""
        return self.DATABASE_URL is None and self.REDIS_URL is None

    @property
    def database_url(self) -> str:
        """The async SQLAlchemy URL in use (PostgreSQL, or the embedded SQLite file)."""
        if self.DATABASE_URL:
            return _async_driver(self.DATABASE_URL)
        return f"sqlite+aiosqlite:///{(self.MORE_DATA_DIR / 'more.db').resolve()}"

    @property
    def _demo_defaults(self) -> bool:
        # The laptop default only: embedded mode on a loopback bind.
        return self.embedded and self.loopback_bind

    @property
    def storefront_key(self) -> str | None:
        """The static storefront key; the demo one by default in embedded mode on a
        loopback bind."""
        return self.MORE_DEMO_API_KEY or (DEMO_STOREFRONT_KEY if self._demo_defaults else None)

    @property
    def admin_key(self) -> str | None:
        """The static admin key; the demo one by default like `storefront_key`."""
        return self.MORE_ADMIN_API_KEY or (DEMO_ADMIN_KEY if self._demo_defaults else None)

    @cached_property
    def default_adapter_path(self) -> str | None:
        """The default policy's adapter: `MORE_ADAPTER_PATH`, else the shipped MORE one."""
        if self.MORE_ADAPTER_PATH:
            return self.MORE_ADAPTER_PATH
        shipped = self.MORE_ADAPTERS_DIR / SHIPPED_MORE_ADAPTER
        return str(shipped) if (shipped / "adapter_config.json").is_file() else None

    @cached_property
    def default_policy_version(self) -> str:
        if self.MORE_POLICY_VERSION:
            return self.MORE_POLICY_VERSION
        if self.MORE_ADAPTER_PATH:
            return Path(self.MORE_ADAPTER_PATH).expanduser().name or "adapter"
        if self.default_adapter_path:
            return SHIPPED_MORE_VERSION
        return "base"

    @property
    def merge_adapter(self) -> bool:
        """Whether policies are served merged (see MORE_MERGE_ADAPTER)."""
        if self.MORE_MERGE_ADAPTER is not None:
            return self.MORE_MERGE_ADAPTER
        return self.embedded


def is_loopback(host: str) -> bool:
    """Whether a bind address only accepts connections from this machine."""
    if host.strip().lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip().strip("[]")).is_loopback
    except ValueError:  # a hostname: it may resolve to anything, so treat it as public
        return False


def _async_driver(url: str) -> str:
    """Accept the plain `postgresql://` form operators paste and use the asyncpg driver."""
    for prefix in ("postgresql://", "postgres://"):
        if url.startswith(prefix):
            return "postgresql+asyncpg://" + url[len(prefix) :]
    return url
