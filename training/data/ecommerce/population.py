"""Who the shoppers are: profiles drawn from realistic distributions.

The shares below are our own estimates for a mid-sized European/US/Japanese storefront
with a pay-later offer: most shoppers are in good standing and verified, a minority are
behind on payments, a few live where instalments are not offered. Amounts are drawn in
US dollars and converted, so a JPY limit looks like a real yen limit (¥150,000, not ¥1,000).
"""

from __future__ import annotations

import math
import random
from collections.abc import Sequence
from decimal import Decimal
from typing import TypeVar

from app.domain.money import quantize
from app.domain.profile import AccountStanding, AgeBand, MembershipTier, Profile
from app.domain.rules import SUPPORTED_REGIONS

T = TypeVar("T")

# Approximate units of each currency per US dollar (only the order of magnitude matters).
RATES: dict[str, Decimal] = {
    "USD": Decimal("1"),
    "EUR": Decimal("0.92"),
    "GBP": Decimal("0.79"),
    "JPY": Decimal("150"),
}

# (country, currency, share). Countries outside app.domain.rules.SUPPORTED_REGIONS are
# here on purpose: they exercise the region rule.
REGIONS: tuple[tuple[str, str, float], ...] = (
    ("US", "USD", 0.32),
    ("GB", "GBP", 0.14),
    ("DE", "EUR", 0.10),
    ("FR", "EUR", 0.07),
    ("ES", "EUR", 0.05),
    ("IT", "EUR", 0.05),
    ("NL", "EUR", 0.04),
    ("JP", "JPY", 0.09),
    ("CA", "USD", 0.04),
    ("MX", "USD", 0.03),
    ("AU", "USD", 0.03),
    ("IE", "EUR", 0.02),
    ("CH", "EUR", 0.02),
)

STANDINGS: tuple[tuple[AccountStanding, float], ...] = (
    (AccountStanding.GOOD, 0.82),
    (AccountStanding.LATE, 0.10),
    (AccountStanding.DELINQUENT, 0.05),
    (AccountStanding.SUSPENDED, 0.03),
)

AGE_BANDS: tuple[tuple[AgeBand, float], ...] = (
    (AgeBand.UNDER_18, 0.03),
    (AgeBand.AGE_18_24, 0.15),
    (AgeBand.AGE_25_34, 0.30),
    (AgeBand.AGE_35_44, 0.25),
    (AgeBand.AGE_45_64, 0.20),
    (AgeBand.AGE_65_PLUS, 0.07),
)

TIERS: tuple[tuple[MembershipTier, float], ...] = (
    (MembershipTier.STANDARD, 0.50),
    (MembershipTier.SILVER, 0.25),
    (MembershipTier.GOLD, 0.17),
    (MembershipTier.PLATINUM, 0.08),
)

# Median credit limit in USD by tier; limits are log-normal around it (sigma 0.5).
MEDIAN_LIMIT_USD: dict[MembershipTier, float] = {
    MembershipTier.STANDARD: 800.0,
    MembershipTier.SILVER: 1500.0,
    MembershipTier.GOLD: 3000.0,
    MembershipTier.PLATINUM: 6000.0,
}

FIRST_NAMES: tuple[str, ...] = (
    "Ada", "Ben", "Chloe", "Diego", "Emma", "Farid", "Grace", "Hiro", "Ines", "Jonas",
    "Keiko", "Liam", "Maya", "Noah", "Olivia", "Pablo", "Quinn", "Rosa", "Sam", "Tomas",
    "Uma", "Victor", "Wen", "Yuki", "Zoe", "Lena", "Marco", "Sofia", "Arjun", "Claire",
    "Haruto", "Elena", "Felix", "Nora", "Oscar", "Priya", "Ruth", "Theo", "Aiko", "Luca",
)  # fmt: skip


def weighted(rng: random.Random, table: Sequence[tuple[T, float]]) -> T:
    """One draw from a (value, share) table."""
    values = [value for value, _ in table]
    shares = [share for _, share in table]
    return rng.choices(values, weights=shares, k=1)[0]


def convert(usd: float | Decimal, currency: str) -> Decimal:
    return Decimal(str(usd)) * RATES[currency]


def round_limit(amount: Decimal, currency: str) -> Decimal:
    """Limits are round numbers: 50s in USD/EUR/GBP, 5,000s in yen."""
    step = Decimal("5000") if currency == "JPY" else Decimal("50")
    return max((amount / step).to_integral_value() * step, step)


def sample_limit(rng: random.Random, tier: MembershipTier, currency: str) -> Decimal:
    if rng.random() < 0.03:  # brand-new accounts start without a limit
        return Decimal("0")
    usd = MEDIAN_LIMIT_USD[tier] * math.exp(rng.gauss(0.0, 0.5))
    return round_limit(convert(round(usd, 2), currency), currency)


def sample_balance(rng: random.Random, limit: Decimal, currency: str) -> Decimal:
    """Half of shoppers owe nothing; the rest owe a share of their limit (a few all of it)."""
    if limit == 0 or rng.random() < 0.45:
        return Decimal("0")
    if rng.random() < 0.06:
        return limit
    share = Decimal(str(round(rng.uniform(0.03, 0.97), 4)))
    return quantize(limit * share, currency)


def sample_profile(rng: random.Random, user_id: str) -> Profile:
    """A shopper drawn from the shares above."""
    region, currency, _ = rng.choices(REGIONS, weights=[r[2] for r in REGIONS], k=1)[0]
    tier = weighted(rng, TIERS)
    limit = sample_limit(rng, tier, currency)
    return Profile(
        user_id=user_id,
        first_name=None if rng.random() < 0.1 else rng.choice(FIRST_NAMES),
        account_standing=weighted(rng, STANDINGS),
        identity_verified=rng.random() < 0.88,
        region=region,
        age_band=weighted(rng, AGE_BANDS),
        membership_tier=tier,
        currency=currency,
        credit_limit=limit,
        outstanding_balance=sample_balance(rng, limit, currency),
        fraud_review=rng.random() < 0.02,
    )


def eligible_profile(rng: random.Random, user_id: str) -> Profile:
    """A shopper who passes every eligibility rule (for affordability cases)."""
    base = sample_profile(rng, user_id)
    region, currency, _ = rng.choice([r for r in REGIONS if r[0] in SUPPORTED_REGIONS])
    tier = base.membership_tier
    limit = sample_limit(rng, tier, currency) or round_limit(convert(500, currency), currency)
    return base.model_copy(
        update={
            "account_standing": AccountStanding.GOOD,
            "identity_verified": True,
            "region": region,
            "currency": currency,
            "age_band": rng.choice([band for band, _ in AGE_BANDS[1:]]),
            "credit_limit": limit,
            "outstanding_balance": sample_balance(rng, limit, currency),
            "fraud_review": False,
        }
    )


def fingerprint(profile: Profile) -> str:
    """A profile's content without its id: splits must not share one."""
    return profile.model_dump_json(exclude={"user_id"})
