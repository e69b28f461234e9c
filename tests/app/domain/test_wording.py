"""The prompt's verdict labels, copied by the policy, said in a shopper's words."""

from __future__ import annotations

from decimal import Decimal

import pytest

from app.domain.checks import TurnFacts, verify
from app.domain.profile import CartItem, StorefrontContext
from app.domain.rules import DeclineReason, Intent, reason_text
from app.domain.wording import in_shoppers_words
from tests.factories import make_profile

FRIDGE = StorefrontContext(items=[CartItem(title="LG fridge", price=Decimal("1300"))])
CHAIRS = StorefrontContext(
    items=[CartItem(title="Herman Miller chair", price=Decimal("520"), quantity=3)]
)
ECHO = "I'm sorry, instalments aren't available on your account: {}."


@pytest.mark.parametrize(
    ("fields", "reason", "said"),
    [
        ({"account_standing": "late"}, DeclineReason.ACCOUNT_STANDING, "a payment is overdue"),
        ({"account_standing": "suspended"}, DeclineReason.ACCOUNT_STANDING, "is suspended"),
        ({"identity_verified": False}, DeclineReason.UNVERIFIED, "identity isn't verified"),
        ({"region": "BR"}, DeclineReason.REGION, "in your country"),
        ({"age_band": "under_18"}, DeclineReason.AGE, "adult customers only"),
    ],
)
def test_an_eligibility_label_is_said_as_a_reason_and_still_passes(
    fields: dict[str, object], reason: DeclineReason, said: str
) -> None:
    profile = make_profile(**fields)
    copied = ECHO.format(reason_text(reason))
    worded = in_shoppers_words(copied, profile, FRIDGE)
    assert reason_text(reason) not in worded and said in worded
    assert worded.startswith("I'm sorry, instalments aren't available on your account because")
    facts = TurnFacts(profile, FRIDGE, "Can I pay for the fridge monthly?", Intent.PURCHASE_FIT)
    assert verify(facts, copied).passed and verify(facts, worded).passed


def test_two_labels_are_both_said() -> None:
    profile = make_profile(region="BR", age_band="under_18")
    copied = ECHO.format("region not supported; customer under 18")
    worded = in_shoppers_words(copied, profile, FRIDGE)
    assert "country" in worded and "adult" in worded and "customer under 18" not in worded


@pytest.mark.parametrize(
    ("context", "said"),
    [
        (FRIDGE, "the LG fridge won't fit: it's $1,300, which is $100 more than your available"),
        (CHAIRS, "your cart won't fit: it's $1,560"),
    ],
)
def test_the_cart_label_is_said_with_the_figures(context: StorefrontContext, said: str) -> None:
    profile = make_profile()  # $1,200 available
    copied = "Unfortunately, pay-later isn't available on your account: cart over the available "
    copied += "credit. Sorry I don't have better news."
    worded = in_shoppers_words(copied, profile, context)
    assert said in worded and "cart over the available credit" not in worded
    assert worded.endswith("Sorry I don't have better news.")
    facts = TurnFacts(profile, context, "Can I pay for this monthly?", Intent.PURCHASE_FIT)
    assert verify(facts, worded).passed


def test_a_reply_without_labels_and_a_cart_that_fits_are_left_alone() -> None:
    profile = make_profile()
    plain = "Yes, the LG fridge fits: it's $1,300 and you have $1,500 available."
    assert in_shoppers_words(plain, profile, FRIDGE) == plain
    fits = StorefrontContext(items=[CartItem(title="kettle", price=Decimal("40"))])
    copied = "Sorry: cart over the available credit."
    assert in_shoppers_words(copied, profile, fits) == copied  # no figures to say it with
