"""Demo profiles for the embedded default: eligible, ineligible and boundary shoppers,
each checked against `app.domain.rules.decide` so the demo shows what it claims."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from app.core.security import DEFAULT_STOREFRONT_ID
from app.domain.profile import (
    AccountStanding,
    AgeBand,
    CartItem,
    MembershipTier,
    Profile,
    StorefrontContext,
)
from app.domain.rules import Action, DeclineReason, Intent, decide
from app.store import profiles as repo

# The item every demo case asks about ("can I buy this on instalments?").
DEMO_ITEM = CartItem(title="Pixel 9 phone", price=Decimal("299.00"))


@dataclass(frozen=True)
class DemoCase:
    profile: Profile
    action: Action  # what the rules decide for DEMO_ITEM
    reason: DeclineReason | None
    note: str


def _p(user_id: str, **fields: object) -> Profile:
    base: dict[str, object] = {
        "first_name": user_id.removeprefix("demo-").split("-")[0].title(),
        "credit_limit": Decimal("1500.00"),
        "outstanding_balance": Decimal("300.00"),
        "membership_tier": MembershipTier.GOLD,
    }
    return Profile.model_validate({"user_id": user_id, **base, **fields})


DEMO_CASES: tuple[DemoCase, ...] = (
    DemoCase(_p("demo-eligible", first_name="Ada"), Action.APPROVE, None, "fits easily"),
    DemoCase(
        _p(
            "demo-boundary",
            first_name="Ben",
            credit_limit=Decimal("500.00"),
            outstanding_balance=Decimal("201.00"),
            membership_tier=MembershipTier.STANDARD,
        ),
        Action.APPROVE,
        None,
        "available credit exactly equals the price",
    ),
    DemoCase(
        _p(
            "demo-short",
            first_name="Cleo",
            credit_limit=Decimal("500.00"),
            outstanding_balance=Decimal("201.01"),
        ),
        Action.DECLINE,
        DeclineReason.INSUFFICIENT_CREDIT,
        "one cent short",
    ),
    DemoCase(
        _p("demo-late", first_name="Dan", account_standing=AccountStanding.LATE),
        Action.DECLINE,
        DeclineReason.ACCOUNT_STANDING,
        "a payment is overdue",
    ),
    DemoCase(
        _p("demo-unverified", first_name="Eve", identity_verified=False),
        Action.DECLINE,
        DeclineReason.UNVERIFIED,
        "identity not verified",
    ),
    DemoCase(
        _p("demo-region", first_name="Fabio", region="BR"),
        Action.DECLINE,
        DeclineReason.REGION,
        "instalments not offered in the region",
    ),
    DemoCase(
        _p("demo-minor", first_name="Gus", age_band=AgeBand.UNDER_18),
        Action.DECLINE,
        DeclineReason.AGE,
        "under 18",
    ),
    DemoCase(
        _p("demo-fraud", first_name="Hana", fraud_review=True),
        Action.HANDOFF,
        None,
        "under fraud review: a human handles credit questions",
    ),
    DemoCase(
        _p(
            "demo-yen",
            first_name="Ichiro",
            region="JP",
            currency="JPY",
            credit_limit=Decimal("200000"),
            outstanding_balance=Decimal("0"),
            membership_tier=MembershipTier.PLATINUM,
        ),
        Action.APPROVE,
        None,
        "JPY amounts (no minor unit)",
    ),
)


def check_demo_cases() -> None:
    """Raise if a case no longer matches the rules (e.g. after a rules change)."""
    context = StorefrontContext(items=[DEMO_ITEM])
    for case in DEMO_CASES:
        decision = decide(case.profile, context, Intent.PURCHASE_FIT)
        if (decision.action, decision.reason) != (case.action, case.reason):
            raise AssertionError(
                f"{case.profile.user_id}: rules say {decision.action}/{decision.reason}, "
                f"demo expects {case.action}/{case.reason}"
            )


async def seed_demo_profiles(db: async_sessionmaker[AsyncSession]) -> list[DemoCase]:
    """Upsert every demo profile into the default storefront (idempotent; the demo keys
    belong to it) and return the cases."""
    check_demo_cases()
    async with db() as session, session.begin():
        for case in DEMO_CASES:
            await repo.upsert_profile(
                session, storefront_id=DEFAULT_STOREFRONT_ID, profile=case.profile
            )
    return list(DEMO_CASES)
