"""The prompt's labels said in a shopper's words.

The policy reads the rules' verdict in the prompt in a few plain words ("identity not
verified", "cart over the available credit", `rules.reason_text`) and, trained on
references that echo them, copies them into replies: "I'm sorry, instalments aren't
available on your account: cart over the available credit." Correct, and what a shopper
should not have to decode (read through the live API on carts over the credit, late,
under-18 and Brazilian accounts). The reply guard sends such a reply with the label said
as a person would, and with the figures a cart over the credit is declined on.

The training references keep the echo on purpose (a reply that copies the reason cannot
name another one), so this is serving's step, not the generator's.
"""

from __future__ import annotations

import re

from app.domain.money import format_amount
from app.domain.profile import AccountStanding, Profile, StorefrontContext
from app.domain.rules import DeclineReason, cart_fit, reason_text

# An eligibility label, or several joined as the prompt joins them ("; "), after a colon.
_ELIGIBILITY = (
    DeclineReason.ACCOUNT_STANDING,
    DeclineReason.UNVERIFIED,
    DeclineReason.REGION,
    DeclineReason.AGE,
)
_LABELS = "|".join(re.escape(reason_text(r)) for r in _ELIGIBILITY)
_ELIGIBILITY_ECHO_RE = re.compile(
    rf"\s*[:,-]\s*\(?(?P<labels>(?:{_LABELS})(?:\s*(?:;|,|and)\s*(?:{_LABELS}))*)\)?"
    r"(?=\s*(?:[.!?]|$))",
    re.IGNORECASE,
)
# A sentence that declines with the cart label: said again whole, with its figures.
_CART_ECHO_RE = re.compile(
    rf"[^.!?]*{re.escape(reason_text(DeclineReason.INSUFFICIENT_CREDIT))}[^.!?]*[.!?]?",
    re.IGNORECASE,
)


def _because(reason: DeclineReason, profile: Profile) -> str:
    if reason is DeclineReason.ACCOUNT_STANDING:
        if profile.account_standing is AccountStanding.SUSPENDED:
            return "the account is suspended"
        return "a payment is overdue"
    if reason is DeclineReason.UNVERIFIED:
        return "your identity isn't verified yet"
    if reason is DeclineReason.REGION:
        return "we don't offer them in your country yet"
    return "they're for adult customers only"


def _eligibility_said(match: re.Match[str], profile: Profile) -> str:
    labels = match.group("labels").lower()
    reasons = [r for r in _ELIGIBILITY if reason_text(r) in labels]
    return " because " + " and ".join(_because(r, profile) for r in reasons)


def _cart_said(profile: Profile, context: StorefrontContext, before: str) -> str | None:
    """The decline of a cart over the credit with its figures; its total only if the
    text `before` it has not said it ("The Lego set is $849.99. I'm sorry, ...")."""
    fit = cart_fit(profile, context)
    if fit is None or fit.fits:
        return None
    money = lambda amount: format_amount(amount, profile.currency)  # noqa: E731
    items = context.items
    one = len(items) == 1 and items[0].quantity == 1
    thing = f"the {items[0].title}" if one else "your cart"
    total = "that's" if money(fit.total) in before else f"it's {money(fit.total)}, which is"
    return (
        f"I'm sorry, {thing} won't fit: {total} "
        f"{money(fit.shortfall)} more than your available credit of {money(fit.available)}."
    )


def in_shoppers_words(text: str, profile: Profile, context: StorefrontContext) -> str:
    """`text` with each copied verdict label said as a person would; unchanged if it
    copies none, or if the cart label cannot be said with figures (nothing over the
    credit in view)."""
    said = _ELIGIBILITY_ECHO_RE.sub(lambda m: _eligibility_said(m, profile), text)
    echo = _CART_ECHO_RE.search(said)
    if echo and (cart := _cart_said(profile, context, said[: echo.start()])) is not None:
        said = _CART_ECHO_RE.sub(" " + cart, said, count=1)
        said = _CART_ECHO_RE.sub("", said)
    return re.sub(r"\s{2,}", " ", said).strip()
