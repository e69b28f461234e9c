"""Request and response bodies of the public API (`XRequest` / `XResponse`)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    computed_field,
    create_model,
    field_validator,
    model_validator,
)

from app.domain.profile import Profile, StorefrontContext

MAX_MESSAGE_CHARS = 4000
ID_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._:@-]{0,127}$"

UserId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=ID_PATTERN,
        description="The shopper whose profile the reply uses (letters, digits, `._:@-`).",
        examples=["u-1001"],
    ),
]
SessionId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=64,
        pattern=r"^[A-Za-z0-9-]{1,64}$",
        description="A session returned by an earlier reply.",
        examples=["0b7c1d7e-3f7a-4c55-9a51-8d3f8e0f2b61"],
    ),
]


class ErrorDetail(BaseModel):
    type: str = Field(examples=["invalid_request_error"])
    code: str = Field(examples=["invalid_request"])
    message: str = Field(examples=["message: String should have at most 4000 characters"])
    param: str | None = Field(default=None, examples=["message"])


class ErrorResponse(BaseModel):
    """The one error shape of every endpoint (and of the SSE `error` event)."""

    error: ErrorDetail


class ChatRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "user_id": "demo-eligible",
                    "message": "Can I pay for this phone in instalments?",
                    "context": {"items": [{"title": "Pixel 9 phone", "price": "299.00"}]},
                },
                {
                    "user_id": "demo-eligible",
                    "session_id": "0b7c1d7e-3f7a-4c55-9a51-8d3f8e0f2b61",
                    "message": "And over 6 months?",
                    "stream": True,
                },
            ]
        },
    )

    user_id: UserId
    message: str = Field(
        min_length=1,
        max_length=MAX_MESSAGE_CHARS,
        description=f"The shopper's message, 1–{MAX_MESSAGE_CHARS} characters, not only "
        "whitespace, no NUL.",
        # What `_readable` checks, stated for clients and schema-driven tests; the check
        # itself stays in Python so its whitespace is exactly the schema's (`\s`, `strip`).
        json_schema_extra={"pattern": r"^[^\x00]*[^\s\x00][^\x00]*$"},
    )
    session_id: SessionId | None = Field(
        default=None, description="Continue this session; omit to start a new one."
    )
    context: StorefrontContext | None = Field(
        default=None,
        description="What the shopper sees: items with prices, an order. Omitted on a "
        "follow-up, the context of the session's previous turn is kept; send `{}` to clear it.",
    )
    stream: bool = Field(default=False, strict=True, description="Reply as server-sent events.")

    @field_validator("message")
    @classmethod
    def _readable(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("message must not be blank")
        if "\x00" in value:
            raise ValueError("message must not contain NUL characters")
        return value


class UsageResponse(BaseModel):
    prompt_tokens: int = Field(examples=[412])
    completion_tokens: int = Field(examples=[38])
    total_tokens: int = Field(examples=[450])


class ChatResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "session_id": "0b7c1d7e-3f7a-4c55-9a51-8d3f8e0f2b61",
                    "reply": "Yes! The Pixel 9 at $299.00 fits your available credit of "
                    "$1,200.00: 3 x $99.67 or 6 x $49.83, interest-free.",
                    "variant": "default",
                    "policy_version": "base",
                    "handoff": False,
                    "usage": {"prompt_tokens": 412, "completion_tokens": 38, "total_tokens": 450},
                    "latency_ms": 1830.5,
                }
            ]
        }
    )

    session_id: str = Field(description="Send it back to continue the conversation.")
    reply: str
    variant: str = Field(description="The A/B variant that answered.")
    policy_version: str = Field(description="The policy version that answered.")
    handoff: bool = Field(description="The reply hands the shopper to a human agent.")
    usage: UsageResponse
    latency_ms: float = Field(description="Server time for the whole turn, milliseconds.")


class StreamDelta(BaseModel):
    """Data of an SSE `delta` event."""

    text: str


def _profile_fields() -> dict[str, Any]:
    # The admin body is the domain Profile minus user_id (it comes from the path), so the
    # two can never drift apart.
    return {
        name: (info.annotation, info)
        for name, info in Profile.model_fields.items()
        if name != "user_id"
    }


_ProfileBody = create_model(  # type: ignore[call-overload]
    "_ProfileBody", __config__=ConfigDict(extra="forbid"), **_profile_fields()
)


class ProfileRequest(_ProfileBody):  # type: ignore[misc,valid-type]
    """A shopper's facts; every field has a default except those you want to set."""

    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "first_name": "Ada",
                    "account_standing": "good",
                    "identity_verified": True,
                    "region": "US",
                    "age_band": "25_34",
                    "membership_tier": "gold",
                    "currency": "USD",
                    "credit_limit": "1500.00",
                    "outstanding_balance": "300.00",
                    "fraud_review": False,
                }
            ]
        },
    )

    @model_validator(mode="after")
    def _valid_profile(self) -> ProfileRequest:
        # Run the domain's own cross-field checks (e.g. supported currency) here, so bad
        # input is a 422 on this body rather than an error later.
        self.to_profile("validation-probe")
        return self

    def to_profile(self, user_id: str) -> Profile:
        return Profile.model_validate({"user_id": user_id, **self.model_dump()})


class ProfileResponse(Profile):
    """A stored profile with its derived available credit."""

    @computed_field(description="Credit limit minus outstanding balance, never below zero.")  # type: ignore[prop-decorator]
    @property
    def available_credit(self) -> Decimal:
        return max(self.credit_limit - self.outstanding_balance, Decimal("0"))


class HealthResponse(BaseModel):
    status: Literal["ok"] = "ok"


class ReadinessResponse(BaseModel):
    model_config = ConfigDict(
        json_schema_extra={
            "examples": [
                {
                    "status": "degraded",
                    "mode": "external",
                    "checks": {"database": "ok", "cache": "down", "engine": "ok"},
                }
            ]
        }
    )

    status: Literal["ok", "degraded", "unavailable"] = Field(
        description="`degraded`: serving without the session cache (history from the database)."
    )
    mode: Literal["embedded", "external"]
    checks: dict[str, Literal["ok", "down"]]
