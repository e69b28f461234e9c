"""Bodies of the outcome, takeover and experiment endpoints (`XRequest` / `XResponse`)."""

from __future__ import annotations

import re
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, field_validator

from app.api.schemas import SessionId, UserId
from app.api.tenancy_schemas import UtcDatetime
from app.domain.json_types import JsonInteger, JsonMetadata, Text
from app.domain.money import CURRENCIES, PositiveAmount
from app.services.events import HandoffReason, RecordStatus
from app.services.registry import VERSION_PATTERN

_RFC3339 = re.compile(
    r"^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?([Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def _rfc3339(value: object) -> object:
    # pydantic alone would also take epoch numbers, dates without a time and times without
    # an offset; the schema's `date-time` is RFC 3339, so that is what is accepted.
    if not isinstance(value, str) or not _RFC3339.match(value):
        raise ValueError("must be an RFC 3339 date-time with an offset, e.g. 2026-11-22T10:20:30Z")
    return value


Timestamp = Annotated[datetime, BeforeValidator(_rfc3339)]
EventId = Annotated[
    str,
    Field(
        min_length=1,
        max_length=128,
        pattern=r"^[\x21-\x7e]{1,128}$",
        description="The client's id for this event: a retry with the same id is recorded "
        "once (printable ASCII, no spaces).",
        examples=["ord-7781:conversion"],
    ),
]
Source = Annotated[
    str | None,
    Field(
        default=None,
        max_length=32,
        pattern=r"^[a-z0-9_-]{1,32}$",
        description="Who reports the event, e.g. `storefront` or `simulator` (simulated "
        "outcomes are kept apart from real ones).",
        examples=["storefront"],
    ),
]
NAME_PATTERN = r"^[a-z0-9][a-z0-9_.-]{0,63}$"
Name = Annotated[
    str, Field(min_length=1, max_length=64, pattern=NAME_PATTERN, examples=["sft-vs-more"])
]


class _EventBase(BaseModel):
    model_config = ConfigDict(extra="forbid")

    event_id: EventId
    session_id: SessionId
    user_id: UserId | None = Field(
        default=None, description="If given, must be the session's shopper."
    )
    occurred_at: Timestamp | None = Field(
        default=None,
        description="When it happened: an RFC 3339 date-time with its offset, e.g. "
        "2026-11-22T10:20:30Z; default: when received.",
    )
    source: Source = None

    def payload(self) -> dict[str, Any]:
        """Type-specific fields, JSON-ready, as stored with the event."""
        data = self.model_dump(
            mode="json",
            exclude={"event_id", "session_id", "user_id", "occurred_at", "type"},
            exclude_none=True,
        )
        return data


class OfferShownEvent(_EventBase):
    """The session reached an instalment offer."""

    type: Literal["offer_shown"]


class ConversionEvent(_EventBase):
    """The shopper bought after the chat."""

    type: Literal["conversion"]
    amount: PositiveAmount = Field(examples=["299.00"])
    currency: str = Field(
        pattern="^[A-Z]{3}$", examples=["USD"], json_schema_extra={"enum": sorted(CURRENCIES)}
    )
    order_id: Text | None = Field(default=None, max_length=64, examples=["ord-7781"])

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if value not in CURRENCIES:
            raise ValueError(f"currency must be one of {sorted(CURRENCIES)}")
        return value


class HandoffEvent(_EventBase):
    """The session went to a human (use the takeover endpoint to silence the bot too)."""

    type: Literal["handoff"]
    reason: HandoffReason = Field(examples=["customer_request"])
    note: Text | None = Field(default=None, max_length=500)


class SatisfactionEvent(_EventBase):
    """The shopper rated the conversation."""

    type: Literal["satisfaction"]
    score: JsonInteger = Field(ge=1, le=5, examples=[4])
    comment: Text | None = Field(default=None, max_length=1000)


EventRequest = Annotated[
    OfferShownEvent | ConversionEvent | HandoffEvent | SatisfactionEvent,
    Field(
        discriminator="type",
        json_schema_extra={
            "examples": [
                {
                    "event_id": "ord-7781:conversion",
                    "type": "conversion",
                    "session_id": "0b7c1d7e-3f7a-4c55-9a51-8d3f8e0f2b61",
                    "amount": "299.00",
                    "currency": "USD",
                }
            ]
        },
    ),
]


class EventResponse(BaseModel):
    event_id: str
    status: RecordStatus = Field(
        description="`recorded` (stored now), `duplicate` (this event_id was stored before; "
        "nothing changed) or `queued` (the database is unavailable; it is stored once it "
        "returns)."
    )
    variant: str | None = Field(default=None, description="The session's variant (if known).")
    policy_version: str | None = None


class HandoffRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: HandoffReason = HandoffReason.CUSTOMER_REQUEST
    user_id: UserId | None = Field(
        default=None, description="If given, must be the session's shopper."
    )
    note: Text | None = Field(default=None, max_length=500)
    source: Source = None


class HandoffResponse(BaseModel):
    session_id: str
    status: Literal["human"] = Field(
        description="The session is with a human: chat turns for it get a 409 "
        "`session_handed_off` and the assistant stays silent."
    )
    already_handed_off: bool
    variant: str
    policy_version: str


class VariantRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Name
    weight: float = Field(ge=0, le=1000, strict=True, description="Relative weight (normalised).")
    policy_version: str = Field(
        min_length=1, max_length=128, pattern=VERSION_PATTERN, examples=["more-v1"]
    )


class ExperimentCreateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "sft-vs-more",
                    "status": "running",
                    "variants": [
                        {"name": "sft", "weight": 0.5, "policy_version": "sft-v1"},
                        {"name": "more", "weight": 0.5, "policy_version": "more-v1"},
                    ],
                }
            ]
        },
    )

    name: Name
    salt: Text | None = Field(
        default=None,
        min_length=1,
        max_length=64,
        description="Hash seed of the assignment (default: the name). A new salt reshuffles.",
    )
    status: Literal["draft", "running"] = "draft"
    variants: list[VariantRequest] = Field(
        min_length=2, max_length=10, description="Control first."
    )


class ExperimentUpdateRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={"examples": [{"weights": {"sft": 0.2, "more": 0.8}}]},
    )

    weights: dict[str, Annotated[float, Field(ge=0, le=1000, strict=True)]] | None = Field(
        default=None,
        description="New weights for every variant (all of them, at least one positive: "
        "else 409). Already-assigned users keep their variant. Neither weights nor status: "
        "nothing changes.",
    )
    status: Literal["running", "stopped"] | None = None


class VariantResponse(BaseModel):
    name: str
    weight: float
    share: float = Field(description="Share of new users this variant receives now.")
    policy_version: str
    control: bool


class ExperimentResponse(BaseModel):
    name: str
    salt: str
    status: Literal["draft", "running", "stopped"]
    allocation_version: int = Field(description="Increases with every ramp.")
    variants: list[VariantResponse]
    created_at: UtcDatetime | None = None
    updated_at: UtcDatetime | None = None


class ExperimentListResponse(BaseModel):
    data: list[ExperimentResponse]
    count: int


class EstimateResponse(BaseModel):
    value: float | None
    ci_low: float | None
    ci_high: float | None
    n: int


class ComparisonResponse(BaseModel):
    metric: str
    variant: str
    control: float | None
    treatment: float | None
    difference: float | None
    difference_ci: list[float] | None
    relative_lift: float | None
    relative_lift_ci: list[float] | None
    p_value: float | None
    significant: bool


class SampleRatioResponse(BaseModel):
    observed: dict[str, int]
    expected: dict[str, float]
    chi2: float | None
    p_value: float | None
    mismatch: bool


class ExperimentReportResponse(BaseModel):
    """Per variant: conversion, reached conversion, handoff rate, satisfaction."""

    experiment: str
    control: str
    alpha: float
    variants: dict[str, dict[str, EstimateResponse]]
    sessions: dict[str, int]
    comparisons: list[ComparisonResponse]
    srm: SampleRatioResponse
    notes: list[str]
    markdown: str = Field(description="The same report as a markdown table.")


class PolicyRegisterRequest(BaseModel):
    model_config = ConfigDict(
        extra="forbid",
        json_schema_extra={
            "examples": [
                {
                    "name": "more-v2",
                    "adapter_path": "runs/more/2026-11-22/adapter",
                    "details": {"trained_from": "more-v1", "run": "retrain-2026-11-22"},
                    "metrics": {"constraint_satisfaction": 0.97, "naturalness": 0.71},
                }
            ]
        },
    )

    name: str = Field(
        min_length=1,
        max_length=128,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$",
        description="Immutable version name.",
    )
    adapter_path: Text | None = Field(
        default=None,
        max_length=1024,
        description="A PEFT LoRA folder on the server (none: the bare base model).",
    )
    details: JsonMetadata = Field(default_factory=dict, description="Free-form metadata.")
    metrics: JsonMetadata = Field(default_factory=dict, description="Evaluation metrics.")


class PolicyResponse(BaseModel):
    name: str
    base_model: str
    adapter_path: str | None
    status: Literal["registered", "promoted", "retired", "rolled_back"]
    details: dict[str, Any]
    metrics: dict[str, Any]
    created_at: UtcDatetime | None = None
    promoted_at: UtcDatetime | None = None


class PolicyListResponse(BaseModel):
    data: list[PolicyResponse]
    count: int


class PolicyRollbackResponse(BaseModel):
    withdrawn: PolicyResponse
    promoted: PolicyResponse | None = Field(
        description="The version now promoted; null: the configured default policy again."
    )
