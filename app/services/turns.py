"""What a chat turn is made of: the request, its limits, the reply and stream pieces."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from app.domain.profile import StorefrontContext


@dataclass(frozen=True)
class ChatLimits:
    """The knobs of a turn, from the settings."""

    max_tokens: int = 96
    temperature: float = 0.0
    top_p: float = 1.0
    history_max_turns: int = 8
    generation_timeout_s: float = 30.0
    max_queue: int = 64
    rate_limit_per_session: int = 30
    rate_limit_per_user: int = 60  # per shopper within one API key
    prompt_verdict: bool = True  # add the rules' verdict line when the intent is known


@dataclass(frozen=True)
class ChatTurn:
    """What the storefront asked."""

    user_id: str
    message: str
    session_id: str | None = None
    context: StorefrontContext = field(default_factory=StorefrontContext)
    # False when the request had no `context`: a follow-up then keeps what the shopper saw
    # on the session's previous turn ("And over 6 months?" still asks about the phone).
    context_sent: bool = True

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
