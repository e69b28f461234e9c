"""Amounts, counts and other numbers in free text.

Handles currency symbols and codes on either side ("$1,200", "1,200 USD", "€ 50",
"JP¥12,000"), currency words ("five hundred dollars", "20 quid"), thousands separators
(English "1,234.50" and European "1.234,50"), decimals, "k"/"thousand"/"million"
multipliers ("$1.5k"), number words ("twenty-four", "a hundred and fifty") and counts
with their unit ("12 months", "3-month plan", "3, 6 or 12 months", "three instalments").

Each value keeps the precision it was stated with, so "$83" can stand for $83.33 but
"$1k" cannot stand for $1,400 (see `Amount.tolerance`).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from app.domain.rules import TERMS_BY_TIER

# --- number words ---------------------------------------------------------------------

_UNITS: dict[str, int] = {
    w: i
    for i, w in enumerate(
        (
            "zero", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine",
            "ten", "eleven", "twelve", "thirteen", "fourteen", "fifteen", "sixteen",
            "seventeen", "eighteen", "nineteen",
        )
    )
}  # fmt: skip
_TENS: dict[str, int] = {
    w: 10 * (i + 2)
    for i, w in enumerate(
        ("twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety")
    )
}
_SCALES: dict[str, int] = {"hundred": 100, "thousand": 1000, "million": 1_000_000}
_WORD = "|".join(sorted([*_UNITS, *_TENS, *_SCALES], key=len, reverse=True))
# A run of number words ("two thousand five hundred", "twenty-four", "a hundred and fifty").
_WORDS_RE = re.compile(
    rf"\b(?:an?\s+(?=(?:hundred|thousand|million)\b))?(?:{_WORD})"
    rf"(?:(?:\s+and\s+|\s+|-)(?:{_WORD}))*\b",
    re.IGNORECASE,
)


def words_to_int(text: str) -> int | None:
    """'two thousand five hundred' -> 2500; None when the words do not form a number."""
    tokens = re.split(r"[\s-]+", text.lower().strip())
    total, current, seen = 0, 0, False
    for tok in tokens:
        if tok in ("and", "a", "an"):
            if tok != "and":
                current = max(current, 1)
            continue
        if tok in _UNITS:
            current += _UNITS[tok]
        elif tok in _TENS:
            current += _TENS[tok]
        elif tok == "hundred":
            current = max(current, 1) * 100
        elif tok in _SCALES:
            total += max(current, 1) * _SCALES[tok]
            current = 0
        else:
            return None
        seen = True
    return total + current if seen else None


# --- digits ---------------------------------------------------------------------------

_EURO_NUM = r"\d{1,3}(?:\.\d{3})+,\d{1,2}|\d{1,3}(?:\.\d{3}){2,}"
_ENG_NUM = r"\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?|\.\d+"
_DIGITS_RE = re.compile(
    rf"(?<![\w.,/:])(?P<num>{_EURO_NUM}|{_ENG_NUM})"
    r"(?:\s?(?P<mult>k|K|m|M|bn|thousand|million)\b)?(?P<pct>\s?%|\s?percent\b)?"
)

CURRENCY_SYMBOLS: dict[str, str] = {
    "US$": "USD", "$": "USD", "€": "EUR", "£": "GBP", "JP¥": "JPY", "¥": "JPY", "円": "JPY",
}  # fmt: skip
CURRENCY_WORDS: dict[str, str] = {
    "usd": "USD", "dollar": "USD", "dollars": "USD", "bucks": "USD",
    "eur": "EUR", "euro": "EUR", "euros": "EUR",
    "gbp": "GBP", "pound": "GBP", "pounds": "GBP", "quid": "GBP",
    "jpy": "JPY", "yen": "JPY",
}  # fmt: skip
_LEFT_CUR_RE = re.compile(r"(US\$|JP¥|[$€£¥]|\b(?:USD|EUR|GBP|JPY))\s?$")
_RIGHT_CUR_RE = re.compile(
    r"^\s?(?:(?P<sym>[€£¥$円])|(?P<word>USD|EUR|GBP|JPY|dollars?|euros?|pounds?|bucks|quid|yen)\b)",
    re.IGNORECASE,
)
COUNT_UNITS = (
    r"months?|monthly\s+(?:payments?|instal?l?ments?)|instal?l?ments?|payments?|items?|"
    # Months as shoppers mistype or shorten them ("6 montsh", "12 mnths", "3 mo").
    r"montsh|monts|monhts?|mnths?|mths?|mos?|moths?|mounths?|monthes|"
    r"weeks?|days?|business\s+days|hours?|minutes?|years?|times|pieces?|units?|orders?"
)
_RIGHT_UNIT_RE = re.compile(rf"^(?:\s|-)(?P<unit>{COUNT_UNITS})\b", re.IGNORECASE)
# Separators inside a list that shares one unit: "3, 6 or 12 months", "3 to 12 months".
_LIST_SEP_RE = re.compile(r"^\s*(?:,\s*(?:or\s+|and\s+)?|or|and|to|vs\.?|versus|-|–|/)\s*$")
# A bare number right after these words is money: "limit is 1,500", "you owe 250.50".
_MONEY_ROLE_RE = re.compile(
    r"\b(?:limit|available credit|balance|price|costs?|owe|total|spend up to)"
    r"(?:\s+(?:is|of|are|was|stands at|comes to|now|only|just))*:?\s*$",
    re.IGNORECASE,
)
_MULTIPLIERS: dict[str, int] = {"k": 1000, "thousand": 1000, "m": 1_000_000, "million": 1_000_000}
_MULTIPLIERS["bn"] = 1_000_000_000


@dataclass(frozen=True)
class Amount:
    """A sum of money. `currency` is None when the text gives none."""

    value: Decimal
    currency: str | None
    text: str
    start: int
    end: int
    tolerance: Decimal  # half the precision it was stated with: "$83" -> 0.5, "$1.5k" -> 50


@dataclass(frozen=True)
class Count:
    value: int
    unit: str
    text: str
    start: int
    end: int


@dataclass(frozen=True)
class Number:
    """Any other number (no unit, no currency); percentages keep `percent=True`."""

    value: Decimal
    text: str
    start: int
    end: int
    percent: bool = False


@dataclass(frozen=True)
class Numbers:
    amounts: tuple[Amount, ...]
    counts: tuple[Count, ...]
    others: tuple[Number, ...]


@dataclass
class _Raw:
    value: Decimal
    start: int
    end: int
    tolerance: Decimal
    is_word: bool
    percent: bool = False
    currency: str | None = None
    unit: str | None = None


def _parse_digits(num: str) -> tuple[Decimal, int] | None:
    """Value and number of decimals of '1,234.5' or '1.234,50'."""
    if re.fullmatch(_EURO_NUM, num):
        num = num.replace(".", "").replace(",", ".")
    else:
        num = num.replace(",", "")
    try:
        value = Decimal(num)
    except InvalidOperation:
        return None
    decimals = len(num.split(".")[1]) if "." in num else 0
    return value, decimals


def _is_identifier(text: str, start: int, end: int) -> bool:
    """Digits glued to letters are ids or model names: 'ord-7781', 'S24', '5pm', '4K TV'."""
    before = text[max(0, start - 2) : start]
    after = text[end : end + 1]
    if re.search(r"[A-Za-z]-?$", before) and not re.search(
        r"(?:US|JP|USD|EUR|GBP|JPY)$", text[:start]
    ):
        return True
    return bool(re.match(r"[A-Za-z]", after))


def _raw_numbers(text: str) -> list[_Raw]:
    raws: list[_Raw] = []
    taken: list[tuple[int, int]] = []
    for m in _DIGITS_RE.finditer(text):
        num = m.group("num")
        parsed = _parse_digits(num)
        if parsed is None:
            continue
        end = m.end()
        if _is_identifier(text, m.start(), m.end("num")) and not m.group("mult"):
            continue
        if re.match(r"[:/]\d", text[m.end("num") : m.end("num") + 2]):
            continue  # times and dates: 10:30, 14/03
        value, decimals = parsed
        tol = Decimal(1).scaleb(-decimals) / 2
        mult = m.group("mult")
        if mult:
            factor = _MULTIPLIERS[mult.lower()]
            value, tol = value * factor, tol * factor
        raws.append(_Raw(value, m.start(), end, tol, is_word=False, percent=bool(m.group("pct"))))
        taken.append((m.start(), end))
    for m in _WORDS_RE.finditer(text):
        if any(s < m.end() and m.start() < e for s, e in taken):
            continue
        value = words_to_int(m.group(0))
        if value is None:
            continue
        raws.append(_Raw(Decimal(value), m.start(), m.end(), Decimal("0.5"), is_word=True))
    raws.sort(key=lambda r: r.start)
    return raws


def words_before(text: str, amount: Amount, width: int = 40) -> str:
    """Up to `width` characters before an amount, without a currency symbol or code that
    ends them: where the words giving an amount its role stand ("your limit is $")."""
    return _LEFT_CUR_RE.sub("", text[max(0, amount.start - width) : amount.start])


@lru_cache(maxsize=4096)
def extract_numbers(text: str) -> Numbers:
    """Every amount, count and other number in `text`, in order of appearance. (Cached:
    the checks read the same reply and message several times a turn; the result is
    immutable.)"""
    raws = _raw_numbers(text)
    for raw in raws:
        window = max(0, raw.start - 4)
        left = _LEFT_CUR_RE.search(text[window : raw.start])
        right = _RIGHT_CUR_RE.match(text[raw.end : raw.end + 10])
        if left:
            sym = left.group(1)
            raw.currency = CURRENCY_SYMBOLS.get(sym) or sym.upper()
            raw.start = window + left.start()  # the span includes the symbol: "$1,200"
        elif right:
            token = right.group("sym") or right.group("word")
            raw.currency = CURRENCY_SYMBOLS.get(token) or CURRENCY_WORDS[token.lower()]
            raw.end += right.end()
        elif not raw.percent:
            unit = _RIGHT_UNIT_RE.match(text[raw.end : raw.end + 30])
            if unit:
                raw.unit = re.sub(r"\s+", " ", unit.group("unit").lower())
                raw.end += unit.end()
    # A list shares the unit or currency of its last member: "3, 6 or 12 months".
    for left_raw, right_raw in zip(reversed(raws[:-1]), reversed(raws[1:]), strict=True):
        if left_raw.currency or left_raw.unit or left_raw.percent:
            continue
        if _LIST_SEP_RE.match(text[left_raw.end : right_raw.start]):
            left_raw.unit = right_raw.unit
            if right_raw.currency and not _LEFT_CUR_RE.search(text[: right_raw.start]):
                left_raw.currency = right_raw.currency  # "1,200 or 1,500 dollars"
    amounts, counts, others = [], [], []
    for raw in raws:
        span = text[raw.start : raw.end]
        if raw.currency:
            amounts.append(Amount(raw.value, raw.currency, span, raw.start, raw.end, raw.tolerance))
        elif raw.unit and raw.value == raw.value.to_integral_value():
            counts.append(Count(int(raw.value), raw.unit, span, raw.start, raw.end))
        elif not raw.is_word and not raw.percent and _MONEY_ROLE_RE.search(text[: raw.start]):
            # "your limit is 1,500": money by its role, in no stated currency
            amounts.append(Amount(raw.value, None, span, raw.start, raw.end, raw.tolerance))
        elif not raw.is_word:  # lone number words ("one of our agents") are not numbers
            others.append(Number(raw.value, span, raw.start, raw.end, raw.percent))
    return Numbers(tuple(amounts), tuple(counts), tuple(others))


# With the typos shoppers make ("wat about 6 montsh" was answered over 3 months, live API).
_MONTHS_UNIT_RE = re.compile(
    r"^(?:months?|monthly|montsh|monts|monhts?|mnths?|mths?|mos?\b|moths?|mounths?|monthes)",
    re.IGNORECASE,
)
_PAYMENTS_UNIT_RE = re.compile(r"^(?:instal|install|payments?\b)", re.IGNORECASE)
_YEARS_RE = re.compile(
    r"\b(?P<n>a|one|1|two|2|half a)\s+years?\b",
    re.IGNORECASE,
)
_YEAR_MONTHS = {"a": 12, "one": 12, "1": 12, "two": 24, "2": 24, "half a": 6}
# Months in the other languages shoppers wrote in through the live API ("und über 24
# Monate?", "en 12 meses", "sur 6 mois", "12ヶ月").
_FOREIGN_MONTHS_RE = re.compile(
    # "en 12 fois", "in 12 rate", "24回払い": that many monthly payments, so that many months.
    r"\b(?P<n>\d{1,2})\s*(?:monate?n?\b|meses\b|mois\b|mesi\b|maand(?:en)?\b|miesi\w*|"
    r"fois\b|cuotas\b|rate\b|raten\b|termijnen\b|回払い|回|"
    r"ヶ月|か月|カ月|个月|개월)",
    re.IGNORECASE,
)


# "what's the cheapest monthly option?", "the lowest payment per month": the longest term.
_LOWEST_PAYMENT_RE = re.compile(
    r"\b(?:cheapest|lowest|smallest|least)\b[^.!?]{0,30}?\b(?:monthly|a month|per month|"
    r"payments?|instal?l?ments?|option|plan)\b|\blongest (?:term|plan|option|one|period)\b|"
    r"\bmost months\b|\bmax(?:imum)? (?:term|months)\b|\blongest\W*$|"
    # "What's the longest I can spread the phone over?"
    r"\blongest (?:i|we) (?:can|could)\b",
    re.IGNORECASE,
)


# A bare number after "over" (or "pay ... in") that ends its clause ("and just the
# dishwasher over 6?" was answered with no payment at all; "can I pay the headphones in
# 3?" with the 6-month payment, live API): months, as an unsaid unit always is here.
_OVER_BARE_RE = re.compile(
    r"\bover\s+(?P<n>\d{1,2})\s*(?:(?:then|instead|please|pls|too|again)\b\s*)?"
    # "over 6 and over 12?"
    r"(?=[?!.,;]|$|(?:and|or)\s+(?:over\s+)?\d{1,2}\s*(?:[?!.,;]|$|months?\b))|"
    r"\bpay\b[^.!?]{0,40}?\bin\s+(?P<in>\d{1,2})\s*(?=[?!.,;]|$)",
    re.IGNORECASE,
)
# Every term some plan has: a small bare number is read as a term only if it is one
# ("actually make it 5", after 3 t-shirts, is five t-shirts, not five months).
PLAN_TERMS: frozenset[int] = frozenset(t for terms in TERMS_BY_TIER.values() for t in terms)
# A term picked by its number alone ("Let's do 24. What's the monthly amount?" was
# answered over 6 months, live API).
_PICKED_TERM_RE = re.compile(
    r"\b(?:do|go with|go for|pick|choose|opt for)\s+(?:the\s+)?(?P<n>\d{1,2})\b"
    r"(?!\s*(?:[$€£¥%]|[.,]\d|dollars|euros|pounds|bucks|items?|pieces?|pairs?|units?|of\b))",
    re.IGNORECASE,
)
# "over the shortest one?": the tier's shortest term.
_SHORTEST_RE = re.compile(
    r"\b(?:shortest|quickest|fewest months)\b[^.!?]{0,20}?\b(?:term|plan|option|one|months?)\b|"
    r"\b(?:shortest|quickest)\b\W*$",
    re.IGNORECASE,
)


# Words that leave a message about nothing but a term ("And over 6 months?", "and 12?",
# "what about 24 instead?"): asked after an offer, it asks what that term costs a month,
# and a bare number in it is that term (the months were said earlier in the conversation).
_TERM_ONLY_WORDS = frozenset(
    {
        *("and", "or", "what", "how", "about", "over", "for", "then", "ok", "so", "if"),
        *("in", "with", "it", "is", "would", "be", "the", "that", "instead"),
        # "ok let's go with 12", "can I do 12?", "make it 6 please" (live API, 2026-12-07)
        *("let", "s", "go", "do", "can", "i", "make", "take", "please", "actually", "okay"),
        *("months", "month", "years", "year", "a", "one", "two", "half"),
    }
)


def _term_only_words(message: str) -> list[str] | None:
    """The words of a short message made of nothing but term words and numbers."""
    words = re.findall(r"[a-z]+|\d+", message.lower())
    if 0 < len(words) <= 7 and all(w.isdigit() or w in _TERM_ONLY_WORDS for w in words):
        return words
    return None


def asks_term_only(message: str) -> bool:
    """Whether a short message names a term and nothing else."""
    return _term_only_words(message) is not None and bool(asked_terms(message))


def asked_terms(message: str, allowed: Iterable[int] | None = None) -> frozenset[int]:
    """Instalment terms, in months, a shopper's message names: "over 12 months", "six
    months", "over a year" (12), "two years" (24). With the `allowed` terms given: only
    those, and, when the message names none but asks for the lowest monthly payment, the
    longest of them."""
    counts = extract_numbers(message).counts
    months = {c.value for c in counts if _MONTHS_UNIT_RE.match(c.unit)}
    # "in 24 instalments", "24 payments": monthly ones, so that many months (a count under
    # 3 is a split no plan offers, not a term: "2 payments" stays unread).
    months |= {c.value for c in counts if _PAYMENTS_UNIT_RE.match(c.unit) and 3 <= c.value <= 36}
    months |= {_YEAR_MONTHS[m.group("n").lower()] for m in _YEARS_RE.finditer(message)}
    months |= {int(m.group("n")) for m in _FOREIGN_MONTHS_RE.finditer(message)}
    months |= {
        n
        for m in _OVER_BARE_RE.finditer(message)
        if 3 <= (n := int(m.group("n") or m.group("in"))) <= 36
    }
    months |= {
        n for m in _PICKED_TERM_RE.finditer(message) if (n := int(m.group("n"))) in PLAN_TERMS
    }
    if not months and (words := _term_only_words(message)):
        bare = [int(w) for w in words if w.isdigit()]
        # (a small number no plan has is a count: "make it 5"; "and 18?" still asks a term)
        term = bare[0] in PLAN_TERMS or 12 < bare[0] <= 36 if len(bare) == 1 else False
        if term and not extract_numbers(message).amounts:
            months = {bare[0]}
    if allowed is None:
        return frozenset(months)
    terms = frozenset(allowed)
    if not months and terms and _LOWEST_PAYMENT_RE.search(message):
        return frozenset({max(terms)})
    if not months and terms and _SHORTEST_RE.search(message):
        return frozenset({min(terms)})
    return frozenset(months) & terms


# A number that could be a term: one or two digits, not part of an amount ("3, 6 or 12").
_TERM_NUMBER_RE = re.compile(r"(?<![\d.,$€£¥])\d{1,2}(?!\d|[.,]\d)")


def year_terms(text: str) -> set[int]:
    """Terms, in months, that a text names in years ("over 1 year", "two years")."""
    return {_YEAR_MONTHS[m.group("n").lower()] for m in _YEARS_RE.finditer(text)}


def term_numbers(text: str) -> set[int]:
    """Every one- or two-digit number a text states outside an amount: the terms a list
    of plans could name."""
    return {int(n) for n in _TERM_NUMBER_RE.findall(text)}
