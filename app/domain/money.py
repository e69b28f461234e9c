"""Currency rounding and formatting, so every number the service says is said one way."""

from __future__ import annotations

import math
import re
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any

from pydantic import BeforeValidator, WithJsonSchema

# code -> (symbol, minor-unit digits). JPY has no minor unit, hence whole-yen rounding.
CURRENCIES: dict[str, tuple[str, int]] = {
    "USD": ("$", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
    "JPY": ("¥", 0),
}

# How a reply names each currency in words.
CURRENCY_NAMES: dict[str, str] = {
    "USD": "US dollars",
    "EUR": "euros",
    "GBP": "pounds sterling",
    "JPY": "yen",
}


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (cents, or whole yen)."""
    digits = CURRENCIES[currency][1]
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str) -> str:
    """`$1,234.50`, `$1,500`, `¥12,000`: symbol, thousands separators, and the currency's
    decimals unless the amount is whole (how people write prices; also fewer prompt
    tokens, since the bundled tokenizer spends one token per digit)."""
    symbol, digits = CURRENCIES[currency]
    value = quantize(amount, currency)
    if value == value.to_integral_value():
        digits = 0
    return f"{symbol}{value:,.{digits}f}"


# --- amounts as the API and the database take them ------------------------------------

# NUMERIC(14, 2): twelve digits before the point, two after.
MAX_AMOUNT = Decimal("999999999999.99")
_CENT = Decimal("0.01")
# ASCII digits only: a regex's \d (and Decimal) would take any script's digits.
_AMOUNT_TEXT = r"[0-9]{1,12}(\.[0-9]{1,2})?"
_NOT_ZERO = r"(?!0*(\.0*)?$)"  # lookahead: "0", "0.00", "000.0" are not positive


def _amount_validator(*, positive: bool) -> Any:
    text = re.compile(rf"^{_NOT_ZERO if positive else ''}{_AMOUNT_TEXT}$")
    low = _CENT if positive else Decimal(0)

    def check(value: object) -> Decimal:
        """A string must be exact (the schema's pattern); a JSON number is a binary float,
        so one within bounds is taken to the nearest cent instead of refused for digits
        it never meant to have (0.57 arrives as 0.5700000000000001)."""
        if isinstance(value, bool):
            raise ValueError("must be an amount, not a boolean")
        if isinstance(value, str):
            if not text.match(value):
                raise ValueError(
                    f'must be an amount like "299.00" (up to 12 digits and 2 decimals, '
                    f"at least {low})"
                )
            return Decimal(value)
        if isinstance(value, int | float):
            if not math.isfinite(value) or not low <= value <= MAX_AMOUNT:
                raise ValueError(f"must be between {low} and {MAX_AMOUNT}")
            amount = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
            return amount.quantize(_CENT, rounding=ROUND_HALF_UP)
        if isinstance(value, Decimal):  # from code (training data, the database)
            exponent = value.as_tuple().exponent
            if not value.is_finite() or not isinstance(exponent, int) or exponent < -2:
                raise ValueError("must have at most 2 decimals")
            if not low <= value <= MAX_AMOUNT:
                raise ValueError(f"must be between {low} and {MAX_AMOUNT}")
            return value
        raise ValueError('must be an amount: a string like "299.00" or a number')

    return check


def _amount_schema(*, positive: bool) -> dict[str, Any]:
    low: dict[str, Any] = {"minimum": 0.01} if positive else {"minimum": 0}
    return {
        "anyOf": [
            {"type": "number", **low, "maximum": float(MAX_AMOUNT)},
            {"type": "string", "pattern": f"^{_NOT_ZERO if positive else ''}{_AMOUNT_TEXT}$"},
        ],
        "description": 'An amount: a decimal string (exact, e.g. "299.00": up to 12 digits '
        "and 2 decimals) or a JSON number (rounded to the cent).",
    }


# The schema states every rule the validator applies, so a request the schema accepts is
# never refused for its amount, and one it refuses never gets through.
Amount = Annotated[
    Decimal,
    BeforeValidator(_amount_validator(positive=False)),
    WithJsonSchema(_amount_schema(positive=False), mode="validation"),
]
PositiveAmount = Annotated[
    Decimal,
    BeforeValidator(_amount_validator(positive=True)),
    WithJsonSchema(_amount_schema(positive=True), mode="validation"),
]
