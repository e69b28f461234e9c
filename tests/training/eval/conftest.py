"""Hand-built task turns (labelled by the rules) covering several intents and actions."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.profile import CartItem, MembershipTier, Profile, StorefrontContext
from app.domain.rules import Intent, decide
from training.data.schema import GoldDecision, Split, TaskExample


def make_example(
    n: int,
    intent: Intent,
    message: str,
    references: list[str],
    *,
    price: str | None = None,
    verified: bool = True,
    tags: list[str] | None = None,
) -> TaskExample:
    profile = Profile(
        user_id=f"u-{n}",
        first_name="Ada",
        identity_verified=verified,
        credit_limit=Decimal("1000"),
        outstanding_balance=Decimal("400"),
        membership_tier=MembershipTier.SILVER,
    )
    items = [CartItem(title="Desk lamp", price=Decimal(price))] if price else []
    context = StorefrontContext(items=items)
    decision = decide(profile, context, intent)
    return TaskExample(
        id=f"dev-{n}-0",
        split=Split.DEV,
        intent=intent,
        profile=profile,
        context=context,
        message=message,
        decision=GoldDecision.from_decision(decision),
        reasoning=list(decision.reasoning),
        references=references,
        tags=tags or [],
    )


@pytest.fixture(scope="session")
def eval_examples() -> list[TaskExample]:
    return [
        make_example(
            1,
            Intent.PURCHASE_FIT,
            "Can I get this lamp on instalments?",
            ["Yes! The $120.00 lamp fits your $600.00 of available credit."],
            price="120.00",
        ),
        make_example(
            2,
            Intent.PURCHASE_FIT,
            "Can I buy this on instalments?",
            ["I'm sorry, at $900.00 it is more than your $600.00 available credit."],
            price="900.00",
            tags=["several_items", "boundary"],
        ),
        make_example(
            3,
            Intent.HUMAN_REQUEST,
            "I want to talk to a person.",
            ["Of course, I'm passing you to one of our agents now."],
        ),
        make_example(
            4,
            Intent.SMALL_TALK,
            "Thanks, have a nice day!",
            ["You're welcome, enjoy your day!"],
        ),
        make_example(
            5,
            Intent.INSTALMENT_ELIGIBILITY,
            "Can I pay in instalments?",
            ["Not yet, sorry: instalments need a verified identity first."],
            verified=False,
        ),
    ]
