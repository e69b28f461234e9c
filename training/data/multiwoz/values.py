"""Slot-value normalisation so belief states, goals and DB rows compare equal.

MultiWOZ states hold free text ("after 5pm", "guest house", "nando's"), the DB holds
canonical values ("17:00", "guesthouse", "nandos"). These rules follow the standard
evaluator's documented intent (canonical times, types, a few venue-name aliases); the
alias table is ours and short, and fuzzy name matching (see `db.py`) covers the rest.
"""

from __future__ import annotations

import re

# Values that mean "no constraint" in either release.
UNCONSTRAINED = frozenset(
    {
        "",
        "not mentioned",
        "none",
        "dontcare",
        "don't care",
        "dont care",
        "do n't care",
        "do not care",
        "any",
        "?",
    }
)

_TYPE_ALIASES = {
    "guest house": "guesthouse",
    "guesthouses": "guesthouse",
    "swimming pool": "swimmingpool",
    "night club": "nightclub",
    "concert hall": "concerthall",
    "mutliple sports": "multiple sports",
}
_FOOD_ALIASES = {
    "english": "british",
    "sea food": "seafood",
    "portugese": "portuguese",
    "modern american": "north american",
    "asian or oriental": "asian",
    "gastropod": "gastropub",
}
_NAME_ALIASES = {
    "nando's": "nandos",
    "lime house": "limehouse",
    "cityrooms": "cityroomz",
    "cafe uno": "caffe uno",
    "the junction": "junction theatre",
    "university hotel": "university arms hotel",
    "bridge house": "bridge guest house",
    "cambridge botanic gardens": "cambridge university botanic gardens",
    "christ college": "christ's college",
    "christs college": "christ's college",
    "christs": "christ's college",
    "rosa's": "rosas bed and breakfast",
    "acorn house": "acorn guest house",
    "arbury guesthouse": "arbury lodge guesthouse",
    "scudamores punt co": "scudamores punting co",
    "broughton gallery": "broughton house gallery",
    "parkside pools": "parkside swimming pool",
    "whale of time": "whale of a time",
    "hotel du vin bistro": "hotel du vin and bistro",
}
_WORD_TIMES = {"morning": "08:00", "lunch": "12:00", "noon": "12:00", "afternoon": "13:00"}
_TIME_RE = re.compile(r"(\d{1,2})(?:[:.](\d{2}))?\s*(a\.?m\.?|p\.?m\.?)?")


def normalise_time(value: str) -> str:
    """ "after 5pm" -> "17:00", "1715" -> "17:15", "9:30" -> "09:30"; unparsable text is kept."""
    text = value.strip().lower()
    if text in _WORD_TIMES:
        return _WORD_TIMES[text]
    compact = re.fullmatch(r"(\d{2})(\d{2})", text)  # "1715"
    if compact:
        return f"{compact.group(1)}:{compact.group(2)}"
    match = _TIME_RE.search(text)
    if not match:
        return text
    hours, minutes = int(match.group(1)), int(match.group(2) or 0)
    if match.group(3) and match.group(3).startswith("p") and hours < 12:
        hours += 12
    if hours > 24 or minutes > 59:
        return text
    return f"{hours:02d}:{minutes:02d}"


def time_to_minutes(value: str) -> int | None:
    """Minutes after midnight of an "HH:MM" value (None when it is not one)."""
    match = re.fullmatch(r"(\d{1,2}):(\d{2})", value.strip())
    return int(match.group(1)) * 60 + int(match.group(2)) if match else None


def normalise_name(value: str) -> str:
    """Lowercase, "&" spelled out, tokenised apostrophes rejoined, known aliases resolved."""
    name = value.strip().lower().replace(" & ", " and ").replace("&", " and ").replace(" '", "'")
    return _NAME_ALIASES.get(name, name)


def normalise_value(slot: str, value: str) -> str:
    """Normalise `value` of canonical `slot` for comparison with the DB and with goals."""
    text = " ".join(str(value).strip().lower().split())
    if text in UNCONSTRAINED:
        return "dontcare" if "care" in text or text == "any" else text
    if slot in ("name", "departure", "destination"):
        return normalise_name(text)
    if slot == "type":
        return _TYPE_ALIASES.get(text, text)
    if slot == "food":
        return _FOOD_ALIASES.get(text, text)
    if slot in ("leaveat", "arriveby", "booktime"):
        return normalise_time(text)
    if slot in ("parking", "internet"):
        return "yes" if text == "free" else text
    return text


def is_constraint(value: str) -> bool:
    """Whether a normalised value restricts a DB search."""
    return value not in UNCONSTRAINED and value != "dontcare"
