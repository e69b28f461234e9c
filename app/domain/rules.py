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
    # The request this decision answers: the prompt's verdict names what to ask or answer.
    intent: Intent | None = None

    @property
    def licensed_amounts(self) -> frozenset[Decimal]:
        return frozenset(self.amounts.values())


def eligibility_failures(profile: Profile) -> tuple[DeclineReason, ...]:
    """Every eligibility rule the profile breaks, in the order the rules check them."""
    failures = []
    if profile.account_standing is not AccountStanding.GOOD:
        failures.append(DeclineReason.ACCOUNT_STANDING)
    if not profile.identity_verified:
        failures.append(DeclineReason.UNVERIFIED)
    if profile.region not in SUPPORTED_REGIONS:
        failures.append(DeclineReason.REGION)
    if profile.age_band is AgeBand.UNDER_18:
        failures.append(DeclineReason.AGE)
    return tuple(failures)


def eligibility_failure(profile: Profile) -> DeclineReason | None:
    """The first eligibility rule the profile breaks, or None when it is eligible."""
    failures = eligibility_failures(profile)
    return failures[0] if failures else None


@dataclass(frozen=True)
class CartFit:
    """How the items in view compare with the available credit (amounts rounded)."""

    total: Decimal
    available: Decimal
    shortfall: Decimal  # 0 when it fits

    @property
    def fits(self) -> bool:
        return self.shortfall == 0


def cart_fit(profile: Profile, context: StorefrontContext) -> CartFit | None:
    """The cart against the available credit, boundary inclusive; None with nothing in view."""
    if not context.items:
        return None
    total = quantize(context.total, profile.currency)
    available = quantize(profile.available_credit, profile.currency)
    return CartFit(total, available, max(total - available, Decimal(0)))


def monthly_payments(price: Decimal, profile: Profile) -> dict[int, Decimal]:
    """Interest-free monthly payment for each term the profile's tier allows."""
    return {
        term: quantize(price / term, profile.currency)
        for term in TERMS_BY_TIER[profile.membership_tier]
    }


_REASON_TEXT: dict[DeclineReason, str] = {
    DeclineReason.ACCOUNT_STANDING: "account not in good standing",
    DeclineReason.UNVERIFIED: "identity not verified",
    DeclineReason.REGION: "region not supported",
    DeclineReason.AGE: "customer under 18",
    DeclineReason.INSUFFICIENT_CREDIT: "cart over the available credit",
    DeclineReason.PRIVACY: "another customer's account",
}


def reason_text(reason: DeclineReason) -> str:
    """A decline reason in a few plain words (prompts and reasoning traces)."""
    return _REASON_TEXT[reason]


def decide(profile: Profile, context: StorefrontContext, intent: Intent) -> Decision:
    """Apply the rules: the gold action, its reason, the licensed numbers and a short trace.

    The trace (training only: the scaffold's reasoning target) names the request, the
    fact that settles it and the decision, in about 30 tokens.
    """
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
    trace = [f"Request: {intent.value.replace('_', ' ')}."]

    def done(action: Action, reason: DeclineReason | None = None, why: str = "") -> Decision:
        if why:
            trace.append(why)
        trace.append(f"Decision: {action.value}" + (f" ({reason.value})." if reason else "."))
        return Decision(
            action, reason, amounts, frozenset(counts), failure is None, tuple(trace), intent
        )

    def ineligible() -> Decision:
        assert failure is not None
        return done(Action.DECLINE, failure, f"Not eligible: {reason_text(failure)}.")

    if intent in HANDOFF_INTENTS:
        return done(Action.HANDOFF, why="A person handles this.")
    if intent is Intent.OTHER_USER_DATA:
        return done(Action.DECLINE, DeclineReason.PRIVACY, "Only the customer's own account.")
    if intent in CREDIT_INTENTS and profile.fraud_review:
        return done(Action.HANDOFF, why="Fraud review: a person handles credit.")
    if intent in (Intent.ORDER_STATUS, Intent.RETURNS, Intent.SMALL_TALK):
        if intent is Intent.ORDER_STATUS and context.order_status is None:
            return done(Action.ASK_INFO, why="No order in view.")
        return done(Action.INFORM)
    if intent is Intent.CREDIT_INFO:
        return done(Action.INFORM, why=f"Available {money(available)}.")
    if intent is Intent.LIMIT_INCREASE:
        if failure is not None:
            return ineligible()
        return done(Action.ASK_INFO, why="A limit review needs income details.")
    if intent is Intent.INSTALMENT_ELIGIBILITY:
        if failure is not None:
            return ineligible()
        return done(Action.APPROVE, why="Eligible.")

    # PURCHASE_FIT: eligibility first, then affordability of everything in view.
    if failure is not None:
        return ineligible()
    fit = cart_fit(profile, context)
    if fit is None:
        return done(Action.ASK_INFO, why="No item in view.")
    amounts["price"] = fit.total
    for item in context.items:
        amounts[f"price:{item.title}"] = quantize(item.price, cur)
    if not fit.fits:
        amounts["shortfall"] = fit.shortfall
        why = f"Cart {money(fit.total)} > available {money(available)}."
        return done(Action.DECLINE, DeclineReason.INSUFFICIENT_CREDIT, why)
    for term, payment in monthly_payments(fit.total, profile).items():
        amounts[f"monthly:{term}"] = payment
    return done(Action.APPROVE, why=f"Cart {money(fit.total)} <= available {money(available)}.")
