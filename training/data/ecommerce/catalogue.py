"""The storefront catalogue: products with realistic prices in every currency."""

from __future__ import annotations

import random
from dataclasses import dataclass
from decimal import Decimal

from app.domain.money import quantize
from app.domain.profile import CartItem
from training.data.ecommerce.population import convert


@dataclass(frozen=True)
class Product:
    sku: str
    title: str
    usd_price: float
    category: str


# A few titles carry digits on purpose ("55-inch", "Series 9"): replies repeat titles,
# and the numbers in them are licensed by the storefront context, not invented.
CATALOGUE: tuple[Product, ...] = tuple(
    Product(f"sku-{i:04d}", title, price, category)
    for i, (title, price, category) in enumerate(
        (
            ("wireless earbuds", 79.0, "audio"),
            ("noise-cancelling headphones", 329.0, "audio"),
            ("bookshelf speakers", 249.0, "audio"),
            ("smartphone", 699.0, "phones"),
            ("budget smartphone", 229.0, "phones"),
            ("foldable phone", 1799.0, "phones"),
            ("13-inch laptop", 1099.0, "computers"),
            ("gaming laptop", 1899.0, "computers"),
            ("tablet", 449.0, "computers"),
            ("mechanical keyboard", 139.0, "computers"),
            ("27-inch monitor", 379.0, "computers"),
            ("smartwatch", 399.0, "wearables"),
            ("fitness tracker", 129.0, "wearables"),
            ("55-inch TV", 899.0, "tv"),
            ("soundbar", 299.0, "tv"),
            ("games console", 499.0, "gaming"),
            ("robot vacuum", 549.0, "home"),
            ("espresso machine", 649.0, "home"),
            ("air fryer", 119.0, "home"),
            ("stand mixer", 429.0, "home"),
            ("three-seat sofa", 1299.0, "furniture"),
            ("office chair", 349.0, "furniture"),
            ("standing desk", 579.0, "furniture"),
            ("mattress", 899.0, "furniture"),
            ("road bike", 1599.0, "sport"),
            ("electric scooter", 749.0, "sport"),
            ("treadmill", 1199.0, "sport"),
            ("mirrorless camera", 1249.0, "photo"),
            ("camera lens", 599.0, "photo"),
            ("drone", 899.0, "photo"),
            ("winter coat", 229.0, "fashion"),
            ("leather boots", 189.0, "fashion"),
            ("designer handbag", 1450.0, "fashion"),
            ("gold necklace", 980.0, "jewellery"),
            ("diamond ring", 2450.0, "jewellery"),
            ("Series 9 watch", 429.0, "wearables"),
        ),
        start=1,
    )
)


def local_price(usd: float | Decimal, currency: str, rng: random.Random) -> Decimal:
    """A shelf price: ¥ in whole hundreds, others ending .99, .00 or .50."""
    raw = convert(usd, currency) * Decimal(str(round(rng.uniform(0.9, 1.1), 3)))
    if currency == "JPY":
        return max((raw / 100).to_integral_value() * 100 - rng.choice((0, 0, 20)), Decimal(100))
    whole = max(raw.to_integral_value(), Decimal(2))
    ending = rng.choice((Decimal("-0.01"), Decimal("-0.01"), Decimal("0"), Decimal("0.50")))
    return quantize(whole + ending, currency)


def sample_item(
    rng: random.Random, currency: str, *, quantity: int = 1, product: Product | None = None
) -> CartItem:
    product = product or rng.choice(CATALOGUE)
    return CartItem(
        title=product.title, price=local_price(product.usd_price, currency, rng), quantity=quantity
    )


ORDER_STATUSES: tuple[str, ...] = (
    "shipped, arriving Thursday",
    "out for delivery today",
    "processing, ships within 2 business days",
    "delivered on Monday",
    "delayed at the carrier, new estimate Friday",
    "packed and waiting for the courier",
    "shipped, arriving tomorrow",
    "cancelled, refund issued",
)


def sample_order(rng: random.Random) -> tuple[str, str]:
    """An order id and its status, as the storefront would pass them."""
    return f"ord-{rng.randint(1000, 99999)}", rng.choice(ORDER_STATUSES)
