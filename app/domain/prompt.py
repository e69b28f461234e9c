"""Prompt rendering shared by serving and training, so both see identical prompts.

The prompt holds the requesting user's own profile facts, the storefront context and
the session history, nothing else. Replies are direct: the system prompt never asks
for reasoning, and the scaffold's reasoning variant is rendered only for training.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, TypedDict

from app.domain.money import format_amount
from app.domain.profile import Profile, StorefrontContext
from app.domain.rules import SUPPORTED_REGIONS, TERMS_BY_TIER


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


SYSTEM_INSTRUCTIONS = (
    "You are the shop's assistant. Answer the customer briefly and warmly. "
    "Instalments need good account standing, verified identity, a supported region and "
    "an adult customer; a purchase fits when its price is within the available credit. "
    "Only state numbers from the facts below. Hand off to a human agent for disputes, "
    "suspected fraud or when asked for a person. Never discuss other customers' accounts."
)


def render_facts(profile: Profile, context: StorefrontContext) -> str:
    """The profile and storefront facts as short lines, amounts in the profile's currency."""
    cur = profile.currency
    terms = ", ".join(str(t) for t in TERMS_BY_TIER[profile.membership_tier])
    lines = [
        f"Customer: {profile.first_name or 'the customer'}",
        f"Account standing: {profile.account_standing.value}",
        f"Identity verified: {'yes' if profile.identity_verified else 'no'}",
        f"Region: {profile.region} "
        f"({'instalments offered' if profile.region in SUPPORTED_REGIONS else 'no instalments'})",
        f"Age band: {profile.age_band.value.replace('_', '-')}",
        f"Membership tier: {profile.membership_tier.value}",
        f"Credit limit: {format_amount(profile.credit_limit, cur)}",
        f"Outstanding balance: {format_amount(profile.outstanding_balance, cur)}",
        f"Available credit: {format_amount(profile.available_credit, cur)}",
        f"Instalment terms: {terms} months, interest-free",
    ]
    if profile.fraud_review:
        lines.append("Account under fraud review: yes")
    for item in context.items:
        qty = f"{item.quantity} x " if item.quantity > 1 else ""
        lines.append(f"Item in view: {qty}{item.title}, {format_amount(item.price, cur)}")
    if context.order_id or context.order_status:
        lines.append(f"Order {context.order_id or ''}: {context.order_status or 'unknown'}".strip())
    return "\n".join(lines)


def build_messages(
    profile: Profile,
    context: StorefrontContext,
    history: Sequence[ChatMessage],
    message: str,
) -> list[ChatMessage]:
    """Chat messages for a direct reply: system (instructions + facts), history, message."""
    system = f"{SYSTEM_INSTRUCTIONS}\n\nFacts:\n{render_facts(profile, context)}"
    return [
        {"role": "system", "content": system},
        *history,
        {"role": "user", "content": message},
    ]


REASONING_OPEN = "<reasoning>"
REASONING_CLOSE = "</reasoning>"


def render_reasoned_reply(reasoning: Sequence[str], reply: str) -> str:
    """Scaffold target (training only): the reasoning trace, then the direct reply."""
    return f"{REASONING_OPEN}\n" + "\n".join(reasoning) + f"\n{REASONING_CLOSE}\n{reply}"


def strip_reasoning(text: str) -> str:
    """Drop any reasoning block a model emits anyway: inference shows replies only."""
    if REASONING_CLOSE in text:
        return text.split(REASONING_CLOSE, 1)[1].strip()
    if text.lstrip().startswith(REASONING_OPEN):
        return ""
    return text.strip()
