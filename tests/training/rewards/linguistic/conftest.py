"""Task examples built by hand with the rules (no generator needed) for the reward tests."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.profile import CartItem, MembershipTier, Profile, StorefrontContext
from app.domain.rules import Intent, decide
from training.data.schema import GoldDecision, Split, TaskExample

REFERENCES = [
    "Yes, Ada! The Pixel 9 phone at $300.00 fits within your available credit of "
    "$1,300.00. You could pay $100.00 a month over 3 months.",
    "Good news: the Pixel 9 phone is covered. It costs $300.00 and you have $1,300.00 "
    "of available credit, so you can split it into monthly instalments.",
    "You're all set to buy the Pixel 9 phone on instalments, since $300.00 is within "
    "your $1,300.00 available credit.",
]


def make_example(
    *,
    limit: str = "1500",
    balance: str = "200",
    price: str = "300.00",
    message: str = "Can I buy this phone on instalments?",
    references: list[str] | None = None,
    example_id: str = "dev-1-0",
) -> TaskExample:
    profile = Profile(
        user_id="u-1",
        first_name="Ada",
        credit_limit=Decimal(limit),
        outstanding_balance=Decimal(balance),
        membership_tier=MembershipTier.GOLD,
    )
    context = StorefrontContext(items=[CartItem(title="Pixel 9 phone", price=Decimal(price))])
    decision = decide(profile, context, Intent.PURCHASE_FIT)
    return TaskExample(
        id=example_id,
        split=Split.DEV,
        intent=Intent.PURCHASE_FIT,
        profile=profile,
        context=context,
        message=message,
        decision=GoldDecision.from_decision(decision),
        reasoning=list(decision.reasoning),
        references=references or REFERENCES,
    )


@pytest.fixture(scope="session")
def purchase_example() -> TaskExample:
    return make_example()


@pytest.fixture(scope="session")
def other_example() -> TaskExample:
    """A different turn: small talk about delivery, different facts and references."""
    return make_example(
        limit="800",
        balance="750",
        price="45.00",
        message="Thanks! How long does shipping usually take?",
        references=[
            "Shipping usually takes three to five working days, and you'll get a tracking "
            "link by email.",
            "Most orders arrive within a week; we'll email you the tracking details.",
        ],
        example_id="dev-2-0",
    )
