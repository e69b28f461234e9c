"""One slot vocabulary for both releases, and the placeholders delexicalised replies use.

2.1 acts say `Addr`, `Leave`, `Ref`; 2.2 acts say `address`, `leaveat`, `ref`; states
say `leaveAt` (2.1) or `train-leaveat` (2.2). Everything is mapped to the 2.2-style
lowercase names below before anything else looks at it.
"""

from __future__ import annotations

import re

DOMAINS = ("restaurant", "hotel", "attraction", "train", "taxi", "police", "hospital")
VENUE_DOMAINS = ("restaurant", "hotel", "attraction", "train")  # domains with a searchable DB

# Act-slot and state-slot spellings of both releases -> canonical slot name.
_SLOT_ALIASES: dict[str, str] = {
    "addr": "address",
    "post": "postcode",
    "ref": "ref",
    "reference": "ref",
    "id": "trainid",
    "trainid": "trainid",
    "leave": "leaveat",
    "leaveat": "leaveat",
    "arrive": "arriveby",
    "arriveby": "arriveby",
    "dest": "destination",
    "depart": "departure",
    "ticket": "price",  # 2.1 acts say "Ticket" for a train fare and "Price" for a price range
    "fee": "entrancefee",
    "entrance fee": "entrancefee",
    "car": "type",  # taxi car type
    "car type": "type",
    "open": "openhours",
    "time": "booktime",
    "people": "bookpeople",
    "stay": "bookstay",
}
# 2.1 `metadata[domain]["book"]` slots and 2.2 `book*` state slots.
BOOK_SLOTS = ("bookday", "bookpeople", "booktime", "bookstay")


def canonical_slot(slot: str, *, book: bool = False, act21: bool = False, domain: str = "") -> str:
    """Canonical lowercase name of an act or state slot.

    `book`: a slot of 2.1's `book` state section; `act21`: a 2.1 act slot, where "Price"
    is the price range (2.2 acts say "pricerange" for that and "price" for a fare) and
    a train's "Time" its duration (`domain` is the act's domain).
    """
    name = slot.strip().lower()
    if act21 and name == "price":
        return "pricerange"
    if act21 and name == "time" and domain == "train":
        return "duration"  # a train's "Time" act slot is its travel time
    name = name.split("-", 1)[1] if "-" in name else name  # 2.2 "train-leaveat"
    if book and not name.startswith("book"):
        return "book" + name
    return _SLOT_ALIASES.get(name, name)


# Canonical slot -> placeholder. Entity attributes are domain-specific ("[hotel_phone]"),
# search values are generic ("[value_time]"), as in the delexicalised MultiWOZ corpora.
_DOMAIN_PLACEHOLDERS = {"name", "address", "postcode", "phone", "ref"}
_VALUE_PLACEHOLDERS: dict[str, str] = {
    "trainid": "[train_id]",
    "leaveat": "[value_time]",
    "arriveby": "[value_time]",
    "booktime": "[value_time]",
    "duration": "[value_time]",
    "day": "[value_day]",
    "bookday": "[value_day]",
    "departure": "[value_place]",
    "destination": "[value_place]",
    "choice": "[value_count]",
    "bookpeople": "[value_count]",
    "bookstay": "[value_count]",
    "stars": "[value_count]",
    "area": "[value_area]",
    "food": "[value_food]",
    "pricerange": "[value_pricerange]",
    "price": "[value_price]",
    "entrancefee": "[value_price]",
    "type": "[value_type]",
    "internet": "[value_internet]",
    "parking": "[value_parking]",
    "department": "[value_department]",
    "openhours": "[value_openhours]",
}


def placeholder(domain: str | None, slot: str) -> str | None:
    """The placeholder for a canonical `slot` said about `domain` (None: not delexicalised)."""
    if slot in _DOMAIN_PLACEHOLDERS:
        suffix = "reference" if slot == "ref" else slot
        return f"[{domain}_{suffix}]" if domain in DOMAINS else f"[value_{suffix}]"
    return _VALUE_PLACEHOLDERS.get(slot)


# Placeholder -> coarse class used for BLEU and Inform/Success. Like the standard evaluator
# we drop the domain: "[hotel_phone]" and "[restaurant_phone]" both become "[phone]", and
# which domain a turn talks about comes from the active-domain estimate instead.
_COARSE: dict[str, str] = {
    "name": "name",
    "address": "address",
    "postcode": "postcode",
    "phone": "phone",
    "reference": "reference",
    "ref": "reference",
    "id": "trainid",
    "trainid": "trainid",
    "time": "time",
    "leaveat": "time",
    "arriveby": "time",
    "duration": "time",
    "day": "day",
    "place": "place",
    "departure": "place",
    "destination": "place",
    "count": "count",
    "choice": "count",
    "people": "count",
    "stay": "count",
    "stars": "count",
    "area": "area",
    "food": "food",
    "pricerange": "price",
    "price": "price",
    "entrancefee": "price",
    "type": "type",
    "car": "type",
    "internet": "internet",
    "parking": "parking",
    "department": "department",
    "openhours": "open",
}
PLACEHOLDER_RE = re.compile(r"\[([a-z]+)_([a-z]+)\](?:es|s)?")


def coarse_placeholder(match: re.Match[str]) -> str:
    """`[restaurant_phone]` -> `[phone]`, `[value_time]` -> `[time]`; unknown ones pass through."""
    coarse = _COARSE.get(match.group(2))
    return f"[{coarse}]" if coarse else match.group(0)


def coarsen(text: str) -> str:
    """Replace every placeholder in `text` by its coarse class (plural suffixes dropped)."""
    return PLACEHOLDER_RE.sub(coarse_placeholder, text)
