"""Bodies of the storefront, API key and shopper-data endpoints (`XRequest` / `XResponse`)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from app.api.schemas import ProfileResponse
from app.core.security import STOREFRONT_ID_PATTERN, Scope
from app.domain.json_types import JsonInteger, Text
from app.services.tenancy import KEY_NAME_PATTERN, MAX_GRACE_S


def _utc(value: datetime) -> datetime:
    # SQLite hands back naive datetimes (stored in UTC): say so, as the schema promises.
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)


UtcDatetime = Annotated[datetime, AfterValidator(_utc)]
StorefrontId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=STOREFRONT_ID_PATTERN,
        description="Lowercase letters, digits and `-`.",
        examples=["acme-shop"],
    ),
]
KeyName = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=KEY_NAME_PATTERN,
        description="A unique label: letters, digits and `._-`.",
        examples=["acme-backend"],
    ),
]


# --- storefronts --------------------------------------------------------------------------


class StorefrontCreateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"id": "acme-shop", "name": "ACME online shop"}]},
    )

    id: StorefrontId
    # No NUL: PostgreSQL text cannot hold one (a NUL name was a 503, found by the fuzzer).
    name: Text = Field(min_length=1, max_length=128, examples=["ACME online shop"])


class StorefrontResponse(BaseModel):
    id: str
    name: str
    created_at: UtcDatetime | None = None


class StorefrontListResponse(BaseModel):
    data: list[StorefrontResponse]
    count: int


# --- API keys -----------------------------------------------------------------------------


class ApiKeyCreateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {"name": "acme-backend", "storefront_id": "acme-shop", "scopes": ["storefront"]}
            ]
        },
    )

    name: KeyName
    storefront_id: StorefrontId
    scopes: list[Scope] = Field(
        min_length=1,
        max_length=3,
        description="`storefront` (chat, events, handoffs), `admin` (its storefront's "
        "profiles and experiments; includes storefront), `operator` (registry, storefronts, "
        "keys).",
    )


class ApiKeyRotateRequest(BaseModel):
    model_config = ConfigDict(extra="forbid", json_schema_extra={"examples": [{"grace_s": 3600}]})

    grace_s: JsonInteger = Field(  # a JSON integer: `false` is not 0
        default=0,
        ge=0,
        le=MAX_GRACE_S,
        description="Seconds the old secret keeps working, so the caller can switch over "
        "(0: it stops at once).",
    )


class ApiKeyResponse(BaseModel):
    name: str
    storefront_id: str
    scopes: list[Scope]
    created_at: UtcDatetime | None = None
    rotated_at: UtcDatetime | None = None
    revoked_at: UtcDatetime | None = None
    previous_key_expires_at: UtcDatetime | None = Field(
        default=None, description="Until when the secret it had before its rotation works."
    )


class ApiKeyCreatedResponse(ApiKeyResponse):
    key: str = Field(description="The secret: shown this once, only its hash is stored.")


class ApiKeyListResponse(BaseModel):
    data: list[ApiKeyResponse]
    count: int


# --- a shopper's data -----------------------------------------------------------------------


class ProfileErasureResponse(BaseModel):
    """What was erased. Outcome events are kept, anonymised (no user, session or free text)."""

    user_id: str
    profile: bool = Field(description="A profile was deleted.")
    sessions: int
    messages: int
    events_anonymised: int
    assignments: int = Field(description="Experiment assignments deleted.")


class ExportedMessage(BaseModel):
    role: str = Field(examples=["user"], description="`user` or `assistant`.")
    content: str
    created_at: UtcDatetime | None = None
    context: dict[str, Any] | None = Field(
        default=None, description="User turns: what the storefront showed."
    )
    profile_snapshot: dict[str, Any] | None = Field(
        default=None, description="User turns: the profile the reply reasoned over."
    )
    prompt_tokens: int | None = None
    completion_tokens: int | None = None
    latency_ms: float | None = None
    handoff: bool | None = None
    intent: str | None = None
    guard_passed: bool | None = None
    intervention: str | None = None
    raw_reply: str | None = Field(
        default=None,
        description="The policy's own reply, when the shopper read other words (replaced, "
        "reworded, or with further requests answered).",
    )
    guard: dict[str, Any] | None = None


class ExportedSession(BaseModel):
    id: str
    variant: str
    policy_version: str
    experiment: str | None
    status: str
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None
    messages: list[ExportedMessage]


class ExportedEvent(BaseModel):
    event_id: str
    origin: str = Field(
        examples=["client"], description="`client` (your event_id) or `server` (the service's)."
    )
    type: str
    session_id: str | None
    variant: str | None
    policy_version: str | None
    experiment: str | None
    payload: dict[str, Any]
    occurred_at: UtcDatetime | None = None
    created_at: UtcDatetime | None = None


class ExportedAssignment(BaseModel):
    experiment: str
    variant: str
    created_at: UtcDatetime | None = None


class ProfileExportResponse(BaseModel):
    """Everything the service stores about one shopper of the caller's storefront."""

    user_id: str
    storefront_id: str
    exported_at: UtcDatetime
    profile: ProfileResponse | None = Field(
        description="None when only sessions or events remain (e.g. events for an unknown session)."
    )
    sessions: list[ExportedSession]
    events: list[ExportedEvent]
    assignments: list[ExportedAssignment]
