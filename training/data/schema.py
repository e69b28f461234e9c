"""The record every e-commerce task turn is stored as (one JSON line per example).

The generator writes these; rewards, evaluation and the trainers read them. A record
holds everything needed to rebuild the prompt (`app.domain.prompt.build_messages`) and
to score a reply (`app.domain.rules.decide` gives the same decision again).
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from app.domain.checks import TurnFacts
from app.domain.profile import Profile, StorefrontContext
from app.domain.prompt import ChatMessage, build_messages
from app.domain.rules import Action, Decision, DeclineReason, Intent, decide


class Split(StrEnum):
    TRAIN = "train"
    DEV = "dev"
    TEST = "test"
    HARD = "hard"


class GoldDecision(BaseModel):
    """`app.domain.rules.Decision` in a JSON-friendly shape."""

    model_config = ConfigDict(frozen=True)

    action: Action
    reason: DeclineReason | None = None
    amounts: dict[str, Decimal] = Field(default_factory=dict)
    counts: list[int] = Field(default_factory=list)
    eligible: bool

    @classmethod
    def from_decision(cls, decision: Decision) -> GoldDecision:
        return cls(
            action=decision.action,
            reason=decision.reason,
            amounts=dict(decision.amounts),
            counts=sorted(decision.counts),
            eligible=decision.eligible,
        )


class TaskExample(BaseModel):
    """One customer turn with its gold labels."""

    model_config = ConfigDict(frozen=True)

    id: str  # stable: "<split>-<dialogue>-<turn>"
    split: Split
    intent: Intent
    profile: Profile
    context: StorefrontContext = Field(default_factory=StorefrontContext)
    history: list[dict[str, str]] = Field(default_factory=list)  # ChatMessage dicts
    message: str
    decision: GoldDecision
    reasoning: list[str]  # the gold reasoning trace (facts used, arithmetic, decision)
    references: list[str] = Field(min_length=1)  # human-style gold replies, varied phrasing
    tags: list[str] = Field(default_factory=list)  # e.g. "boundary", "injection"

    def chat_history(self) -> list[ChatMessage]:
        return [
            {"role": m["role"], "content": m["content"]}  # type: ignore[typeddict-item]
            for m in self.history
        ]

    def messages(
        self, *, verdict: bool = False, intent: Intent | None = None, reasoning: bool = False
    ) -> list[ChatMessage]:
        """The prompt exactly as serving builds it.

        Args:
            verdict: add the rules' verdict line, as serving does when it knows the intent.
            intent: the intent the verdict is for (default: the gold intent); serving's
                inferred intent may differ, and `None`-like abstentions are `verdict=False`.
            reasoning: scaffold rows only: ask for the reasoning block first.
        """
        decision = None
        if verdict:
            decision = decide(self.profile, self.context, intent or self.intent)
        return build_messages(
            self.profile,
            self.context,
            self.chat_history(),
            self.message,
            decision=decision,
            reasoning=reasoning,
        )

    def facts(self, intent: Intent | None = None, *, known: bool = True) -> TurnFacts:
        """What a reply to this turn is checked against (`app.domain.checks`).

        `intent` overrides the gold intent; `known=False` checks as if it were unknown.
        """
        return TurnFacts(
            profile=self.profile,
            context=self.context,
            message=self.message,
            intent=(intent or self.intent) if known else None,
            history=tuple(self.chat_history()),
        )

    def redecide(self) -> Decision:
        """The rules applied again (tests assert this equals `decision`)."""
        return decide(self.profile, self.context, self.intent)
