"""Currency rounding and formatting, so every number the service says is said one way."""

from __future__ import annotations

from decimal import ROUND_HALF_UP, Decimal

# code -> (symbol, minor-unit digits). JPY has no minor unit, hence whole-yen rounding.
CURRENCIES: dict[str, tuple[str, int]] = {
    "USD": ("$", 2),
    "EUR": ("€", 2),
    "GBP": ("£", 2),
    "JPY": ("¥", 0),
}


def quantize(amount: Decimal, currency: str) -> Decimal:
    """Round half-up to the currency's minor unit (cents, or whole yen)."""
    digits = CURRENCIES[currency][1]
    return amount.quantize(Decimal(1).scaleb(-digits), rounding=ROUND_HALF_UP)


def format_amount(amount: Decimal, currency: str) -> str:
    """`$1,234.50`, `¥12,000`: symbol, thousands separators, the currency's decimals."""
    symbol, digits = CURRENCIES[currency]
    return f"{symbol}{quantize(amount, currency):,.{digits}f}"
