"""The embedded demo: profiles of eligible, ineligible and boundary shoppers, each
checked against `app.domain.rules.decide` so the demo shows what it claims, and the
opt-in `sft-vs-more` A/B between the shipped adapters (`MORE_DEFAULT_EXPERIMENT`)."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

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
from app.services.assignment import ExperimentStatus, allocation_to_json, initial_allocation
from app.store import experiments as experiments_repo
from app.store import profiles as repo

logger = logging.getLogger(__name__)

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


DEFAULT_EXPERIMENT = "sft-vs-more"


def _adapter_dir(path: Path) -> bool:
    return (path / "adapter_config.json").is_file()


async def ensure_default_experiment(
    db: async_sessionmaker[AsyncSession],
    *,
    adapters_dir: Path,
    base_model: str,
    base_version: str = "base",
) -> experiments_repo.ExperimentRecord | None:
    """The embedded default: a running 50/50 "sft-vs-more" between the shipped adapters.

    `adapters_dir/sft` and `adapters_dir/more` are PEFT adapter folders; with only the
    MORE adapter the control is the bare base model, registered as `base_version` without
    an adapter. It belongs to the default storefront. Nothing happens when no MORE adapter
    is shipped, when the experiment exists, or when another one is running there.
    """
    more, sft = adapters_dir / "more", adapters_dir / "sft"
    if not _adapter_dir(more):
        return None
    storefront_id = DEFAULT_STOREFRONT_ID
    async with db() as session, session.begin():
        if (
            await experiments_repo.get_experiment(
                session, storefront_id=storefront_id, name=DEFAULT_EXPERIMENT
            )
            is not None
        ):
            return None
        if await experiments_repo.running_experiments(session, storefront_id=storefront_id):
            return None
        await experiments_repo.ensure_policy_version(
            session, name="more-v1", base_model=base_model, adapter_path=str(more.resolve())
        )
        control = ("sft", "sft-v1") if _adapter_dir(sft) else ("base", base_version)
        if _adapter_dir(sft):
            await experiments_repo.ensure_policy_version(
                session, name="sft-v1", base_model=base_model, adapter_path=str(sft.resolve())
            )
        else:
            await experiments_repo.ensure_policy_version(
                session, name=base_version, base_model=base_model, adapter_path=None
            )
        weights = {control[0]: 0.5, "more": 0.5}
        record = await experiments_repo.create_experiment(
            session,
            storefront_id=storefront_id,
            name=DEFAULT_EXPERIMENT,
            salt=DEFAULT_EXPERIMENT,
            status=ExperimentStatus.RUNNING.value,
            variants=[
                experiments_repo.VariantRecord(control[0], 0.5, control[1], 0),
                experiments_repo.VariantRecord("more", 0.5, "more-v1", 1),
            ],
            weights=weights,
            ranges=allocation_to_json(initial_allocation(weights)),
        )
    logger.info("started the default experiment %s: %s vs more", DEFAULT_EXPERIMENT, control[0])
    return record
