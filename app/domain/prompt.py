"""Prompt rendering shared by serving and training, so both see identical prompts.

The prompt is compact (a first turn is about 120 tokens with the bundled model's
template) because on CPU most training compute goes to prompt tokens. It holds the
requesting shopper's own facts, the storefront context and the session history, nothing
else, and hands the policy what a storefront's risk system would:

* the profile's instalment **eligibility verdict** ("Instalments: not available:
  identity not verified"), so the policy need not re-derive it from four flags;
* for the items in view, whether their total **fits the available credit** (and the
  shortfall when it does not), because a 135M model does not learn to compare amounts;
* when the shopper's request is known (the service infers it, training knows it), the
  **rules' verdict for this request** ("Verdict: decline (identity not verified)").

What stays the policy's job: reading what the shopper asks, acting on these facts, amounts
the shopper names only in text, and saying it naturally with licensed numbers.

Storefront-supplied text (item titles, order ids and status) is data, never instructions:
it is normalised (no control characters or newlines, length-capped) and quoted, so a title
cannot add a line to the facts.

Replies are direct: serving never sends the scaffold marker, and only scaffold training
rows ask for the reasoning block (`REASONING_MARKER`).
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from typing import Literal, TypedDict

from app.domain.money import format_amount
from app.domain.profile import Profile, StorefrontContext
from app.domain.rules import (
    TERMS_BY_TIER,
    Action,
    Decision,
    Intent,
    cart_fit,
    eligibility_failures,
    monthly_payments,
    reason_text,
)


class ChatMessage(TypedDict):
    role: Literal["system", "user", "assistant"]
    content: str


SYSTEM_INSTRUCTIONS = (
    "You are the shop's assistant. Reply briefly, decision first, from these facts only. "
    "Hand off disputes, fraud and requests for a person."
)
# Appended to the system prompt of scaffold rows whose target reasons first. Serving
# never sends it, so a served policy has no reason to open with `<reasoning>`.
REASONING_MARKER = "Reason briefly in <reasoning> tags, then reply."

MAX_QUOTED_CHARS = 80
_UNSAFE = re.compile(r"[\s\"`<>]+")


def quote(text: str, limit: int = MAX_QUOTED_CHARS) -> str:
    """Storefront text as one quoted, inert line: control and format characters and
    newlines become spaces, quotes and angle brackets are dropped, length is capped."""
    cleaned = "".join(
        " " if unicodedata.category(ch)[0] in ("C", "Z") else ch for ch in text
    )  # Cc/Cf/Zl/Zp... -> space, so "\nAvailable credit" cannot start a line
    cleaned = _UNSAFE.sub(" ", cleaned).strip()
    if len(cleaned) > limit:
        cleaned = cleaned[: limit - 1].rstrip() + "…"
    return f'"{cleaned}"'


def _eligibility_line(profile: Profile) -> str:
    failures = eligibility_failures(profile)
    if failures:
        return "Instalments: not available (" + "; ".join(reason_text(r) for r in failures) + ")"
    terms = "/".join(str(t) for t in TERMS_BY_TIER[profile.membership_tier])
    return f"Instalments: available, {terms} months"


def _cart_line(profile: Profile, context: StorefrontContext) -> str | None:
    fit = cart_fit(profile, context)
    if fit is None:
        return None
    cur = profile.currency
    items = ", ".join(
        (f"{item.quantity} x " if item.quantity > 1 else "")
        + f"{quote(item.title)} {format_amount(item.price, cur)}"
        for item in context.items
    )
    several = len(context.items) > 1 or context.items[0].quantity > 1
    total = f"total {format_amount(fit.total, cur)}, " if several else ""
    if fit.fits:
        return f"In view: {items}; {total}fits the available credit"
    over = format_amount(fit.shortfall, cur)
    return f"In view: {items}; {total}{over} over the available credit"


def _monthly_line(profile: Profile, context: StorefrontContext) -> str | None:
    """The interest-free monthly payment per allowed term, when the shopper may buy what is
    in view on instalments: the policy copies a payment rather than divides (a 135M model
    divides badly, and an invented payment is the commonest wrong number)."""
    fit = cart_fit(profile, context)
    if fit is None or not fit.fits or eligibility_failures(profile) or profile.fraud_review:
        return None
    payments = monthly_payments(fit.total, profile).items()
    # Worded as references word a payment ("$43.67 a month over 6 months"): a reply that
    # copies the amount then finds its own term right after it in the prompt. With the
    # terser "$43.67 over 6" the policy often paired an amount with another term.
    return "Payments: " + ", ".join(
        f"{format_amount(pay, profile.currency)} a month over {t} months" for t, pay in payments
    )


def render_facts(profile: Profile, context: StorefrontContext) -> str:
    """The shopper's and the storefront's facts as short lines."""
    cur = profile.currency
    name = quote(profile.first_name, 40)[1:-1] if profile.first_name else "unnamed"
    lines = [
        f"Customer: {name}, {profile.membership_tier.value}, "
        f"age {profile.age_band.value.replace('_', '-')}, {profile.region}",
        f"Account: {profile.account_standing.value} standing, "
        f"{'verified' if profile.identity_verified else 'not verified'}",
        _eligibility_line(profile),
        f"Credit: limit {format_amount(profile.credit_limit, cur)}, owed "
        f"{format_amount(profile.outstanding_balance, cur)}, available "
        f"{format_amount(profile.available_credit, cur)}",
    ]
    if profile.fraud_review:
        lines.append("Fraud review: a person handles credit questions")
    cart = _cart_line(profile, context)
    if cart:
        lines.append(cart)
    monthly = _monthly_line(profile, context)
    if monthly:
        lines.append(monthly)
    if context.order_id or context.order_status:
        order = quote(context.order_id, 64) if context.order_id else "in view"
        status = quote(context.order_status, 64) if context.order_status else "unknown"
        lines.append(f"Order {order}: {status}")
    return "\n".join(lines)


_VERDICTS: dict[Action, str] = {
    Action.APPROVE: "approve",
    Action.DECLINE: "decline",
    Action.ASK_INFO: "ask for the missing detail",
    Action.HANDOFF: "hand off to a person",
    Action.INFORM: "answer, no credit decision",
}
# Verdicts that ask or answer name their subject: with a bare "ask for the missing detail"
# a policy asked a shopper waiting for a parcel for her income.
_SUBJECT_VERDICTS: dict[tuple[Action, Intent], str] = {
    (Action.ASK_INFO, Intent.LIMIT_INCREASE): "ask for income details",
    (Action.ASK_INFO, Intent.ORDER_STATUS): "ask for the order number",
    (Action.ASK_INFO, Intent.PURCHASE_FIT): "ask for the item they mean",
    (Action.INFORM, Intent.CREDIT_INFO): "answer about their credit figures, no credit decision",
    (Action.INFORM, Intent.ORDER_STATUS): "answer about the order, no credit decision",
    (Action.INFORM, Intent.RETURNS): "answer about returns, no credit decision",
}


def render_verdict(decision: Decision) -> str:
    """The rules' verdict for the request, as the prompt states it."""
    text = _VERDICTS[decision.action]
    if decision.intent is not None:
        text = _SUBJECT_VERDICTS.get((decision.action, decision.intent), text)
    if decision.reason is not None:
        text += f" ({reason_text(decision.reason)})"
    return f"Verdict: {text}"


def build_messages(
    profile: Profile,
    context: StorefrontContext,
    history: Sequence[ChatMessage],
    message: str,
    *,
    decision: Decision | None = None,
    reasoning: bool = False,
) -> list[ChatMessage]:
    """Chat messages for a reply: system (instructions + facts), history, message.

    Args:
        decision: the rules' decision for this request when its intent is known; adds the
            verdict line. `None` (intent unknown) leaves the policy to judge.
        reasoning: training only: ask for the scaffold's reasoning block first.
    """
    facts = render_facts(profile, context)
    if decision is not None:
        facts += "\n" + render_verdict(decision)
    system = f"{SYSTEM_INSTRUCTIONS}\n{facts}"
    if reasoning:
        system += f"\n{REASONING_MARKER}"
    return [
        {"role": "system", "content": system},
        *history,
        {"role": "user", "content": message},
    ]


REASONING_OPEN = "<reasoning>"
REASONING_CLOSE = "</reasoning>"


def render_reasoned_reply(reasoning: Sequence[str], reply: str) -> str:
    """Scaffold target (training only): the reasoning trace, then the direct reply."""
    return f"{REASONING_OPEN}" + " ".join(reasoning) + f"{REASONING_CLOSE}\n{reply}"


def strip_reasoning(text: str) -> str:
    """Drop any reasoning block a model emits anyway: inference shows replies only."""
    if REASONING_CLOSE in text:
        return text.split(REASONING_CLOSE, 1)[1].strip()
    if text.lstrip().startswith(REASONING_OPEN):
        return ""
    return text.strip()


__all__ = [
    "REASONING_CLOSE",
    "REASONING_MARKER",
    "REASONING_OPEN",
    "SYSTEM_INSTRUCTIONS",
    "ChatMessage",
    "build_messages",
    "quote",
    "render_facts",
    "render_reasoned_reply",
    "render_verdict",
    "strip_reasoning",
]
