"""SQLAlchemy 2 models: the durable record of profiles, sessions, messages and keys.

`events`, `policy_versions`, `experiments` and `experiment_variants` are created by the
first migration for the outcome-logging and A/B work to fill in. Types are portable
between PostgreSQL and the embedded SQLite file.

Tenancy (revision 0005): every shopper-facing row carries `storefront_id`. Repositories
always pass it; the server default (the default storefront, where all pre-tenancy data
lives) only catches writers that predate tenancy, e.g. a replica of the previous release
during a rolling upgrade.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    DateTime,
    Float,
    ForeignKey,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Numeric,
    String,
    Text,
    UniqueConstraint,
    func,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column
from sqlalchemy.types import TypeDecorator

from app.core.security import DEFAULT_STOREFRONT_ID

# Deterministic constraint names, so migrations can drop/alter them on every backend.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

# SQLite has no 64-bit autoincrement other than INTEGER PRIMARY KEY.
BigIntPK = BigInteger().with_variant(Integer(), "sqlite")


class Money(TypeDecorator[Decimal]):
    """NUMERIC(14,2) on PostgreSQL; exact decimal text on SQLite (no native decimals)."""

    impl = Numeric(14, 2)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> Any:
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(32))
        return dialect.type_descriptor(Numeric(14, 2))

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> Any:
        if value is None or dialect.name != "sqlite":
            return value
        return str(Decimal(value))

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(str(value))


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def _storefront_fk() -> Any:
    """The owning storefront: a foreign key with the default storefront as server default."""
    return mapped_column(
        String(64), ForeignKey("storefronts.id"), server_default=DEFAULT_STOREFRONT_ID
    )


class TimestampMixin:
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    updated_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, onupdate=utcnow, server_default=func.now()
    )


class StorefrontRow(Base):
    """A tenant: every API key, shopper, session and event belongs to one."""

    __tablename__ = "storefronts"

    id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(128))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class ProfileRow(TimestampMixin, Base):
    """One shopper's facts (all fields of `app.domain.profile.Profile`); a `user_id` is
    the storefront's own id, so two storefronts may use the same one."""

    __tablename__ = "profiles"

    storefront_id: Mapped[str] = mapped_column(
        String(64),
        ForeignKey("storefronts.id"),
        primary_key=True,
        server_default=DEFAULT_STOREFRONT_ID,
    )
    user_id: Mapped[str] = mapped_column(String(128), primary_key=True)
    first_name: Mapped[str | None] = mapped_column(String(64))
    account_standing: Mapped[str] = mapped_column(String(16))
    identity_verified: Mapped[bool] = mapped_column(Boolean)
    region: Mapped[str] = mapped_column(String(2))
    age_band: Mapped[str] = mapped_column(String(16))
    membership_tier: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3))
    credit_limit: Mapped[Decimal] = mapped_column(Money())
    outstanding_balance: Mapped[Decimal] = mapped_column(Money())
    fraud_review: Mapped[bool] = mapped_column(Boolean, default=False)


class SessionStatus:
    """Values of `sessions.status`."""

    ACTIVE = "active"
    HUMAN = "human"  # a human agent took over: the bot stays silent
    CLOSED = "closed"


class SessionRow(TimestampMixin, Base):
    """A conversation of one shopper with one policy version."""

    __tablename__ = "sessions"
    __table_args__ = (
        ForeignKeyConstraint(
            ["storefront_id", "user_id"],
            ["profiles.storefront_id", "profiles.user_id"],
            name="fk_sessions_storefront_id_profiles",
        ),
        Index("ix_sessions_storefront_id_user_id", "storefront_id", "user_id"),
    )

    # Session ids are server-minted UUIDs, unique across storefronts; every lookup still
    # filters by the caller's storefront.
    id: Mapped[str] = mapped_column(String(36), primary_key=True)
    storefront_id: Mapped[str] = mapped_column(String(64), server_default=DEFAULT_STOREFRONT_ID)
    user_id: Mapped[str] = mapped_column(String(128))
    variant: Mapped[str] = mapped_column(String(64))
    policy_version: Mapped[str] = mapped_column(String(128), index=True)
    experiment: Mapped[str | None] = mapped_column(String(128))
    status: Mapped[str] = mapped_column(String(16), default=SessionStatus.ACTIVE)
    api_key_name: Mapped[str | None] = mapped_column(String(128))


class MessageRow(Base):
    """One message of a session; a turn's user and assistant rows are written together."""

    __tablename__ = "messages"
    __table_args__ = (
        Index("ix_messages_session_id_id", "session_id", "id"),
        Index("ix_messages_created_at", "created_at"),  # the retention purge
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    session_id: Mapped[str] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    role: Mapped[str] = mapped_column(String(16))  # user | assistant
    content: Mapped[str] = mapped_column(Text)
    prompt_tokens: Mapped[int | None] = mapped_column(Integer)
    completion_tokens: Mapped[int | None] = mapped_column(Integer)
    latency_ms: Mapped[float | None] = mapped_column(Float)
    handoff: Mapped[bool | None] = mapped_column(Boolean)
    # User rows only (revision 0003): the storefront context and the profile the reply
    # reasoned over, as JSON, so retraining can relabel the turn with the rules.
    context: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    profile_snapshot: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    # Assistant rows only (revision 0004): what the reply guard inferred, saw and did.
    intent: Mapped[str | None] = mapped_column(String(32))
    guard_passed: Mapped[bool | None] = mapped_column(Boolean)  # the policy's own reply
    intervention: Mapped[str | None] = mapped_column(String(16))
    raw_reply: Mapped[str | None] = mapped_column(Text)  # the policy's reply, when not sent as is
    guard: Mapped[dict[str, Any] | None] = mapped_column(JSON)  # raw verdict per check
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class ApiKeyRow(Base):
    """A server-to-server key of one storefront; only SHA-256 hashes are stored.

    A rotation keeps the row (name, storefront, scopes) and replaces the hash; the old
    hash stays valid until `previous_key_expires_at` so callers can switch over."""

    __tablename__ = "api_keys"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    storefront_id: Mapped[str] = _storefront_fk()
    name: Mapped[str] = mapped_column(String(128), unique=True)  # global: it names the caller
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    scope: Mapped[str] = mapped_column(String(64))  # space-separated scopes, as OAuth's
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    previous_key_hash: Mapped[str | None] = mapped_column(String(64), index=True)
    previous_key_expires_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    rotated_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class IdempotencyRow(Base):
    """A POST seen under an `Idempotency-Key`: its payload hash and, once done, its response."""

    __tablename__ = "idempotency_records"
    __table_args__ = (
        UniqueConstraint(
            "storefront_id", "owner", "key", name="uq_idempotency_records_storefront_owner_key"
        ),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    storefront_id: Mapped[str] = _storefront_fk()
    owner: Mapped[str] = mapped_column(String(128))  # the API key name: keys never collide
    key: Mapped[str] = mapped_column(String(255))
    route: Mapped[str] = mapped_column(String(128))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int | None] = mapped_column(Integer)  # None while in progress
    response: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), index=True
    )


class EventOrigin:
    """Values of `events.origin`: whose namespace `client_event_id` is in."""

    CLIENT = "client"  # ids the storefront chose (`POST /v1/events`)
    SERVER = "server"  # ids the service made (`policy-handoff:<session>`, `takeover:<session>`)


class EventRow(Base):
    """An outcome event (offer shown, conversion, handoff, satisfaction).

    An event id is unique per storefront and origin: one storefront's ids never collide
    with another's, and a client cannot take an id the server will write."""

    __tablename__ = "events"
    __table_args__ = (
        UniqueConstraint(
            "storefront_id", "origin", "client_event_id", name="uq_events_storefront_origin_id"
        ),
        Index("ix_events_storefront_id_user_id", "storefront_id", "user_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    storefront_id: Mapped[str] = _storefront_fk()
    origin: Mapped[str] = mapped_column(String(8), server_default=EventOrigin.CLIENT)
    client_event_id: Mapped[str] = mapped_column(String(128))
    # SHA-256 of the client's request: the same id with another body is a conflict.
    request_hash: Mapped[str | None] = mapped_column(String(64))
    type: Mapped[str] = mapped_column(String(32), index=True)
    session_id: Mapped[str | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="SET NULL"), index=True
    )
    user_id: Mapped[str | None] = mapped_column(String(128))
    variant: Mapped[str | None] = mapped_column(String(64))
    policy_version: Mapped[str | None] = mapped_column(String(128))
    experiment: Mapped[str | None] = mapped_column(String(128))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    occurred_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class PolicyVersionRow(Base):
    """A servable policy: base model plus optional LoRA adapter, with its metadata."""

    __tablename__ = "policy_versions"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    base_model: Mapped[str] = mapped_column(String(512))
    adapter_path: Mapped[str | None] = mapped_column(String(1024))
    status: Mapped[str] = mapped_column(String(16), default="registered")
    details: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    metrics: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )
    promoted_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class ExperimentRow(TimestampMixin, Base):
    """A storefront's A/B test between policy versions of the shared registry."""

    __tablename__ = "experiments"
    __table_args__ = (
        UniqueConstraint("storefront_id", "name", name="uq_experiments_storefront_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    storefront_id: Mapped[str] = _storefront_fk()
    name: Mapped[str] = mapped_column(String(128))
    salt: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="draft")  # draft|running|stopped


class ExperimentVariantRow(Base):
    __tablename__ = "experiment_variants"
    __table_args__ = (
        UniqueConstraint("experiment_id", "name", name="uq_experiment_variants_experiment_name"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(String(64))
    weight: Mapped[float] = mapped_column(Float)
    policy_version: Mapped[str] = mapped_column(ForeignKey("policy_versions.name"))
    position: Mapped[int] = mapped_column(Integer, default=0)  # 0 = control


class ExperimentAllocationRow(Base):
    """One version of an experiment's slot allocation; a weight change adds a version.

    `ranges` is `[[start, end, variant], ...]` over GrowthBook's 10,000 hash slots (see
    `app.services.assignment`); the history lets the report compute SRM after ramps.
    """

    __tablename__ = "experiment_allocations"
    __table_args__ = (
        UniqueConstraint(
            "experiment_id", "version", name="uq_experiment_allocations_experiment_version"
        ),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    weights: Mapped[dict[str, Any]] = mapped_column(JSON)
    ranges: Mapped[list[Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class ExperimentAssignmentRow(Base):
    """A user's first (and therefore permanent) variant in an experiment: sticky bucketing."""

    __tablename__ = "experiment_assignments"
    __table_args__ = (
        # Leads with (storefront, user): erasure and export find a shopper's rows by it.
        UniqueConstraint(
            "storefront_id",
            "user_id",
            "experiment_id",
            name="uq_experiment_assignments_storefront_user_experiment",
        ),
        Index("ix_experiment_assignments_experiment_id", "experiment_id"),
    )

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    storefront_id: Mapped[str] = _storefront_fk()
    experiment_id: Mapped[int] = mapped_column(ForeignKey("experiments.id", ondelete="CASCADE"))
    user_id: Mapped[str] = mapped_column(String(128))
    variant: Mapped[str] = mapped_column(String(64))
    allocation_version: Mapped[int] = mapped_column(Integer)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now()
    )


class AdminAuditRow(Base):
    """One admin or operator change: who (key name), what (action, target), when, and the
    state before and after as JSON. Erasing a shopper clears `before`/`after` of the rows
    about them (their personal data) but keeps who did what when."""

    __tablename__ = "admin_audit"
    __table_args__ = (Index("ix_admin_audit_storefront_id_target", "storefront_id", "target"),)

    id: Mapped[int] = mapped_column(BigIntPK, primary_key=True, autoincrement=True)
    # The storefront the change concerns; NULL for global changes (the policy registry).
    storefront_id: Mapped[str | None] = mapped_column(String(64), ForeignKey("storefronts.id"))
    actor: Mapped[str] = mapped_column(String(128))  # key name, or `cli:<os user>`
    action: Mapped[str] = mapped_column(String(64))  # e.g. profile.put, policy.promote
    target: Mapped[str | None] = mapped_column(String(256))  # user id, experiment, version...
    request_id: Mapped[str | None] = mapped_column(String(64))
    before: Mapped[Any | None] = mapped_column(JSON)
    after: Mapped[Any | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(
        DateTime(timezone=True), default=utcnow, server_default=func.now(), index=True
    )


# Experiment reports filter sessions and events by experiment.
Index("ix_sessions_experiment", SessionRow.experiment)
Index("ix_events_experiment", EventRow.experiment)
