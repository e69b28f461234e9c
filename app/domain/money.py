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
    """`$1,234.50`, `$1,500`, `¥12,000`: symbol, thousands separators, and the currency's
    decimals unless the amount is whole (how people write prices; also fewer prompt
    tokens, since the bundled tokenizer spends one token per digit)."""
    symbol, digits = CURRENCIES[currency]
    value = quantize(amount, currency)
    if value == value.to_integral_value():
        digits = 0
    return f"{symbol}{value:,.{digits}f}"
