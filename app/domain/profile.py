"""The customer profile and storefront context: the facts every reply reasons over.

One schema for serving (the `profiles` table, the admin API) and training (the data
generator, the reasoning functions). Pure pydantic: no I/O.
"""

from __future__ import annotations

from decimal import Decimal
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field, model_validator

from app.domain.json_types import JsonInteger, Text
from app.domain.money import CURRENCIES, Amount, PositiveAmount


class AccountStanding(StrEnum):
    GOOD = "good"
    LATE = "late"  # a payment is overdue
    DELINQUENT = "delinquent"  # several payments overdue
    SUSPENDED = "suspended"


class AgeBand(StrEnum):
    UNDER_18 = "under_18"
    AGE_18_24 = "18_24"
    AGE_25_34 = "25_34"
    AGE_35_44 = "35_44"
    AGE_45_64 = "45_64"
    AGE_65_PLUS = "65_plus"


class MembershipTier(StrEnum):
    STANDARD = "standard"
    SILVER = "silver"
    GOLD = "gold"
    PLATINUM = "platinum"


class Profile(BaseModel):
    """What the service knows about one shopper; the only user facts a prompt may hold."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    user_id: str = Field(min_length=1, max_length=128, examples=["u-1001"])
    first_name: str | None = Field(
        default=None,
        max_length=64,
        pattern=r"^[^\x00-\x1f]*$",  # no control characters: it is quoted in the prompt
        examples=["Ada"],
    )
    account_standing: AccountStanding = AccountStanding.GOOD
    # Strict: `true`/`false` only, as the schema says (not 0, 1 or "yes").
    identity_verified: bool = Field(default=True, strict=True)
    region: str = Field(
        default="US",
        min_length=2,
        max_length=2,
        pattern="^[A-Z]{2}$",
        description="ISO 3166-1 alpha-2 country code.",
    )
    age_band: AgeBand = AgeBand.AGE_25_34
    membership_tier: MembershipTier = MembershipTier.STANDARD
    currency: str = Field(
        default="USD",
        pattern="^[A-Z]{3}$",
        description="ISO 4217 code, one of the supported currencies.",
        json_schema_extra={"enum": sorted(CURRENCIES)},
    )
    credit_limit: Amount = Decimal("0")
    outstanding_balance: Amount = Decimal("0")
    fraud_review: bool = Field(
        default=False,
        strict=True,
        description="The account is under fraud review: credit questions go to a human.",
    )

    @model_validator(mode="after")
    def _known_currency(self) -> Profile:
        if self.currency not in CURRENCIES:
            raise ValueError(
                f"currency {self.currency!r} is not supported; use one of {sorted(CURRENCIES)}"
            )
        return self

    @property
    def available_credit(self) -> Decimal:
        """Credit limit minus outstanding balance, never below zero."""
        return max(self.credit_limit - self.outstanding_balance, Decimal("0"))


class CartItem(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    title: Text = Field(min_length=1, max_length=200, examples=["Pixel 9 phone"])
    price: PositiveAmount = Field(examples=["299.00"])
    quantity: JsonInteger = Field(default=1, ge=1, le=99)


class StorefrontContext(BaseModel):
    """What the storefront tells us about the page the shopper is on."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    product_id: Text | None = Field(default=None, max_length=128, examples=["sku-123"])
    items: list[CartItem] = Field(
        default_factory=list,
        max_length=20,
        description="Items in view or in the cart, with prices in the profile's currency.",
    )
    order_id: Text | None = Field(default=None, max_length=64, examples=["ord-7781"])
    order_status: Text | None = Field(
        default=None, max_length=64, examples=["shipped, arriving Thursday"]
    )

    @property
    def total(self) -> Decimal:
        return sum((item.price * item.quantity for item in self.items), Decimal("0"))
