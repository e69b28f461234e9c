"""Delexicalisation (values -> placeholders) and lexicalisation (placeholders -> DB values).

Gold replies are delexicalised from their span annotations. Generated replies carry no
spans, so `delexicalise_free_text` finds values by matching the turn's DB rows, belief
state and bookings (and the shapes of ids, phones, postcodes, references, times) instead.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from training.data.multiwoz.db import VenueDB, entity_key
from training.data.multiwoz.slots import DOMAINS, PLACEHOLDER_RE, placeholder
from training.data.multiwoz.turn import MultiWozTurn, Span

_PUNCT = re.compile(r"[^\w\[\]]+")


def word_span_to_chars(text: str, first: int, last: int) -> tuple[int, int] | None:
    """Character span [start, end) of whitespace tokens `first..last` (inclusive) of `text`.

    A few 2.1 spans swallow the sentence's final "." token; trailing punctuation-only
    tokens are left outside the span.
    """
    tokens = [m.span() for m in re.finditer(r"\S+", text)]
    if not 0 <= first <= last < len(tokens):
        return None
    while last > first and _PUNCT.fullmatch(text[tokens[last][0] : tokens[last][1]]):
        last -= 1
    return tokens[first][0], tokens[last][1]


def span_domain(act_domain: str, fallback: Sequence[str]) -> str | None:
    """The domain a span talks about: its act's, or for "booking" acts the turn's domain."""
    if act_domain in DOMAINS:
        return act_domain
    return next(iter(fallback), None)


def delexicalise(text: str, spans: Iterable[Span]) -> str:
    """Replace annotated values by placeholders; overlapping or "dontcare" spans are skipped."""
    out: list[str] = []
    cursor = 0
    for span in sorted(spans, key=lambda s: (s.start, -s.end)):
        token = placeholder(span.domain, span.slot)
        if token is None or span.start < cursor or span.value.strip().lower() == "dontcare":
            continue
        out.append(text[cursor : span.start])
        out.append(token)
        cursor = span.end
    out.append(text[cursor:])
    # 2.1 annotates an address in comma-separated pieces: one address, one placeholder.
    return _SPLIT_ADDRESS.sub(r"\1", "".join(out))


_SPLIT_ADDRESS = re.compile(r"(\[[a-z]+_address\])(?:\s*,\s*\1)+")


def lexicalise(delex: str, turn: MultiWozTurn) -> str:
    """Fill placeholders from the turn's first DB row, belief state and bookings (for display).

    Unknown placeholders stay as they are, so a reader sees what could not be filled.
    """
    domains = list(dict.fromkeys([*turn.active_domains, *turn.db_results, *turn.belief_state]))

    def fill(match: re.Match[str]) -> str:
        prefix, slot = match.group(1), match.group(2)
        for domain in [prefix] if prefix in DOMAINS else domains:
            value = _lookup(turn, domain, slot)
            if value:
                return value
        return match.group(0)

    return PLACEHOLDER_RE.sub(fill, delex)


_ROW_FIELDS = {"id": "trainid", "reference": "ref"}
_STATE_FIELDS = {
    "time": ("leaveat", "arriveby", "booktime"),
    "day": ("day", "bookday"),
    "place": ("destination", "departure"),
    "count": ("bookpeople", "bookstay", "stars"),
    "area": ("area",),
    "food": ("food",),
    "pricerange": ("pricerange",),
    "type": ("type",),
    "department": ("department",),
}


def _lookup(turn: MultiWozTurn, domain: str, slot: str) -> str | None:
    booking = turn.new_bookings.get(domain, {})
    field = _ROW_FIELDS.get(slot, slot)
    if field in booking:
        return booking[field]
    result = turn.db_results.get(domain)
    if slot == "count" and result and result.count:
        return str(result.count)
    if result and result.entities and field in result.entities[0]:
        return result.entities[0][field]
    state = turn.belief_state.get(domain, {})
    for name in _STATE_FIELDS.get(slot, ()):
        if state.get(name) and state[name] != "dontcare":
            return state[name]
    return None


# Shapes of values that identify or contact a venue, for replies without annotations.
_SHAPES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"\bTR\d{4}\b", re.IGNORECASE), "trainid"),
    (re.compile(r"\b0?1223\s?\d{6}\b|\b\d{11}\b"), "phone"),
    (re.compile(r"\bcb\s?\d{1,2}\s?\d[a-z]{2}\b", re.IGNORECASE), "postcode"),
    (re.compile(r"\b(?=[A-Z0-9]*\d)(?=[A-Z0-9]*[A-Z])[A-Z0-9]{8}\b"), "ref"),
    (re.compile(r"\b\d{1,2}:\d{2}\b"), "leaveat"),
    (re.compile(r"\b\d+(?:\.\d+)?\s?(?:pounds|gbp)\b", re.IGNORECASE), "price"),
    (re.compile(r"\b(?:mon|tues|wednes|thurs|fri|satur|sun)day\b", re.IGNORECASE), "day"),
)


def _value_map(turn: MultiWozTurn, db: VenueDB) -> dict[str, str]:
    """Lowercased literal value -> placeholder, for every value the turn makes known."""
    values: dict[str, str] = {}
    focus = turn.active_domains[0] if turn.active_domains else None

    def add(value: str, token: str | None) -> None:
        text = value.strip().lower()
        if token and len(text) > 2 and text not in ("yes", "no", "none", "dontcare"):
            values.setdefault(text, token)

    for domain, booking in turn.new_bookings.items():
        add(booking.get("ref", ""), placeholder(domain, "ref"))
    for domain, result in turn.db_results.items():
        for row in result.entities:
            for field, value in row.items():
                add(value, placeholder(domain, field))
    for domain, state in turn.belief_state.items():
        for slot, value in state.items():
            add(value, placeholder(domain, slot))
    # Any other venue of the DB named in the reply still names a venue of that domain.
    for domain in ("restaurant", "hotel", "attraction"):
        for row in db.rows[domain]:
            add(entity_key(domain, row), placeholder(domain, "name"))
    if focus:
        for row in db.rows.get(focus, []):
            for field in ("address", "postcode", "phone"):
                add(row.get(field, ""), placeholder(focus, field))
    return values


def delexicalise_free_text(text: str, turn: MultiWozTurn, db: VenueDB) -> str:
    """Delexicalise a generated reply by value matching (placeholders already there stay)."""
    values = _value_map(turn, db)
    focus = turn.active_domains[0] if turn.active_domains else None
    if values:
        alternation = "|".join(re.escape(v) for v in sorted(values, key=len, reverse=True))
        pattern = re.compile(rf"(?<![\w\[])(?:{alternation})(?![\w\]])", re.IGNORECASE)
        text = pattern.sub(lambda m: values[m.group(0).lower()], text)
    for shape, slot in _SHAPES:
        token = placeholder(focus if slot in ("phone", "postcode", "ref") else None, slot)
        if token:
            text = shape.sub(token, text)
    return text
