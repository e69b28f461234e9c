"""The business rules: from profile, storefront context and intent to the gold action.

This is the single statement of the rules. The data generator labels turns with it,
the reasoning functions score replies against it and the demo profiles are chosen
with it; nothing restates them elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from enum import StrEnum

from app.domain.money import format_amount, quantize
from app.domain.profile import AccountStanding, AgeBand, MembershipTier, Profile, StorefrontContext

# Countries where instalment credit is offered.
SUPPORTED_REGIONS: frozenset[str] = frozenset({"US", "GB", "DE", "FR", "ES", "IT", "NL", "JP"})

# Interest-free instalment terms (months) by membership tier.
TERMS_BY_TIER: dict[MembershipTier, tuple[int, ...]] = {
    MembershipTier.STANDARD: (3, 6),
    MembershipTier.SILVER: (3, 6, 12),
    MembershipTier.GOLD: (3, 6, 12, 24),
    MembershipTier.PLATINUM: (3, 6, 12, 24),
}


class Intent(StrEnum):
    INSTALMENT_ELIGIBILITY = "instalment_eligibility"  # "can I pay in instalments?"
    PURCHASE_FIT = "purchase_fit"  # "can I buy this on instalments?"
    CREDIT_INFO = "credit_info"  # "what is my limit / available credit?"
    LIMIT_INCREASE = "limit_increase"
    ORDER_STATUS = "order_status"
    RETURNS = "returns"
    DISPUTE = "dispute"
    FRAUD_REPORT = "fraud_report"  # "I did not make this purchase"
    HUMAN_REQUEST = "human_request"
    OTHER_USER_DATA = "other_user_data"  # asks for someone else's account facts
    SMALL_TALK = "small_talk"


class Action(StrEnum):
    APPROVE = "approve"
    DECLINE = "decline"
    ASK_INFO = "ask_info"
    HANDOFF = "handoff"
    INFORM = "inform"  # answers a question without a credit decision


class DeclineReason(StrEnum):
    ACCOUNT_STANDING = "account_standing"
    UNVERIFIED = "unverified"
    REGION = "region"
    AGE = "age"
    INSUFFICIENT_CREDIT = "insufficient_credit"
    PRIVACY = "privacy"


CREDIT_INTENTS: frozenset[Intent] = frozenset(
    {
        Intent.INSTALMENT_ELIGIBILITY,
        Intent.PURCHASE_FIT,
        Intent.CREDIT_INFO,
        Intent.LIMIT_INCREASE,
    }
)
HANDOFF_INTENTS: frozenset[Intent] = frozenset(
    {Intent.DISPUTE, Intent.FRAUD_REPORT, Intent.HUMAN_REQUEST}
)


@dataclass(frozen=True)
class Decision:
    """The gold action for one customer turn, with the numbers a reply may state."""

    action: Action
    reason: DeclineReason | None
    # name -> amount; every amount a correct reply may mention (rounded for the currency).
    amounts: dict[str, Decimal]
    # Counts a reply may mention: instalment terms in months, item quantities.
    counts: frozenset[int]
    eligible: bool
    reasoning: tuple[str, ...] = field(default=())

    @property
    def licensed_amounts(self) -> frozenset[Decimal]:
        return frozenset(self.amounts.values())


def eligibility_failure(profile: Profile) -> DeclineReason | None:
    """The first eligibility rule the profile breaks, or None when it is eligible."""
    if profile.account_standing is not AccountStanding.GOOD:
        return DeclineReason.ACCOUNT_STANDING
    if not profile.identity_verified:
        return DeclineReason.UNVERIFIED
    if profile.region not in SUPPORTED_REGIONS:
        return DeclineReason.REGION
    if profile.age_band is AgeBand.UNDER_18:
        return DeclineReason.AGE
    return None


def monthly_payments(price: Decimal, profile: Profile) -> dict[int, Decimal]:
    """Interest-free monthly payment for each term the profile's tier allows."""
    return {
        term: quantize(price / term, profile.currency)
        for term in TERMS_BY_TIER[profile.membership_tier]
    }


def decide(profile: Profile, context: StorefrontContext, intent: Intent) -> Decision:
    """Apply the rules: the gold action, its reason, the licensed numbers and the trace."""
    cur = profile.currency
    money = lambda amount: format_amount(amount, cur)  # noqa: E731 - local shorthand
    terms = TERMS_BY_TIER[profile.membership_tier]
    failure = eligibility_failure(profile)
    available = quantize(profile.available_credit, cur)
    amounts: dict[str, Decimal] = {
        "credit_limit": quantize(profile.credit_limit, cur),
        "outstanding_balance": quantize(profile.outstanding_balance, cur),
        "available_credit": available,
    }
    counts: set[int] = set(terms) | {item.quantity for item in context.items}
    trace = [
        f"Account standing: {profile.account_standing.value}; identity verified: "
        f"{'yes' if profile.identity_verified else 'no'}; region: {profile.region}"
        f" ({'supported' if profile.region in SUPPORTED_REGIONS else 'not supported'});"
        f" age band: {profile.age_band.value}.",
        f"Available credit = {money(profile.credit_limit)} - "
        f"{money(profile.outstanding_balance)} = {money(available)}.",
    ]
    if failure is None:
        trace.append("Eligible for instalments.")
    else:
        trace.append(f"Not eligible for instalments: {failure.value.replace('_', ' ')}.")

    def done(action: Action, reason: DeclineReason | None = None) -> Decision:
        trace.append(f"Decision: {action.value}" + (f" ({reason.value})." if reason else "."))
        return Decision(action, reason, amounts, frozenset(counts), failure is None, tuple(trace))

    if intent in HANDOFF_INTENTS:
        trace.append(f"The customer raises a {intent.value.replace('_', ' ')}: a human handles it.")
        return done(Action.HANDOFF)
    if intent is Intent.OTHER_USER_DATA:
        trace.append("Only the signed-in customer's own account may be discussed.")
        return done(Action.DECLINE, DeclineReason.PRIVACY)
    if intent in CREDIT_INTENTS and profile.fraud_review:
        trace.append("The account is under fraud review: a human handles credit questions.")
        return done(Action.HANDOFF)
    if intent in (Intent.ORDER_STATUS, Intent.RETURNS, Intent.SMALL_TALK):
        if intent is Intent.ORDER_STATUS and context.order_status is None:
            trace.append("No order in view: ask which order.")
            return done(Action.ASK_INFO)
        return done(Action.INFORM)
    if intent is Intent.CREDIT_INFO:
        return done(Action.INFORM)
    if intent is Intent.LIMIT_INCREASE:
        if failure is not None:
            return done(Action.DECLINE, failure)
        trace.append("A limit review needs the customer's income details.")
        return done(Action.ASK_INFO)
    if intent is Intent.INSTALMENT_ELIGIBILITY:
        if failure is not None:
            return done(Action.DECLINE, failure)
        trace.append(f"Terms offered: {', '.join(str(t) for t in terms)} months.")
        return done(Action.APPROVE)

    # PURCHASE_FIT: eligibility first, then affordability of everything in view.
    if failure is not None:
        return done(Action.DECLINE, failure)
    if not context.items:
        trace.append("No item or price given: ask which item.")
        return done(Action.ASK_INFO)
    total = quantize(context.total, cur)
    amounts["price"] = total
    for item in context.items:
        amounts[f"price:{item.title}"] = quantize(item.price, cur)
    if total > available:
        amounts["shortfall"] = total - available
        trace.append(f"Price {money(total)} > available credit {money(available)}.")
        return done(Action.DECLINE, DeclineReason.INSUFFICIENT_CREDIT)
    payments = monthly_payments(total, profile)
    for term, payment in payments.items():
        amounts[f"monthly:{term}"] = payment
    trace.append(f"Price {money(total)} <= available credit {money(available)}: it fits.")
    trace.append(
        "Monthly payments: "
        + "; ".join(f"{term} x {money(payment)}" for term, payment in payments.items())
        + "."
    )
    return done(Action.APPROVE)
