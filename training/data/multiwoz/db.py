"""The MultiWOZ venue databases and the search the standard evaluator uses for Inform.

`query(domain, constraints)` returns the rows matching every constraint the DB has a
column for: exact match, except fuzzy (partial ratio ≥ 90) for names, restaurant food
and train stations; `leaveat` means "leaves at or after", `arriveby` "arrives at or
before"; a DB value "?" matches anything; "dontcare" constrains nothing.
"""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from rapidfuzz import fuzz

from training.data.multiwoz.paths import db_dir
from training.data.multiwoz.slots import VENUE_DOMAINS
from training.data.multiwoz.values import is_constraint, normalise_value, time_to_minutes

# Columns that are descriptions or nested data, never search constraints.
_IGNORED_COLUMNS = {"location", "openhours", "introduction", "signature", "takesbookings"}
_HOTEL_PRICE = "price"  # a per-room-type dict in the hotel DB, not a constraint
_FUZZY = {
    "hotel": {"name"},
    "attraction": {"name"},
    "restaurant": {"name", "food"},
    "train": {"departure", "destination"},
}
FUZZY_THRESHOLD = 90


def _column(name: str) -> str:
    return name.lower().replace(
        " ", ""
    )  # "arriveBy" -> "arriveby", "entrance fee" -> "entrancefee"


def entity_key(domain: str, row: dict[str, Any]) -> str:
    """A row's identity: the train id for trains, the venue name elsewhere."""
    return str(row["trainid"] if domain == "train" else row.get("name", row.get("department", "")))


class VenueDB:
    """All eight MultiWOZ DB files, columns lowercased, searchable per domain."""

    def __init__(self, path: str | Path | None = None) -> None:
        self.path = db_dir(path)
        self.rows: dict[str, list[dict[str, Any]]] = {}
        for domain in ("restaurant", "hotel", "attraction", "train", "hospital", "police"):
            raw = json.loads((self.path / f"{domain}_db.json").read_text())
            self.rows[domain] = [
                {
                    _column(k): (str(v).lower() if k != "trainID" else v)
                    for k, v in row.items()
                    if not isinstance(v, dict | list)
                }
                for row in raw
            ]
        self.columns = {d: set().union(*(r.keys() for r in rows)) for d, rows in self.rows.items()}
        for domain in self.columns:
            self.columns[domain] -= _IGNORED_COLUMNS
        self.columns["hotel"].discard(_HOTEL_PRICE)
        self.names = {d: {entity_key(d, r).lower() for r in rows} for d, rows in self.rows.items()}
        self._query = lru_cache(maxsize=65536)(self._query_uncached)

    def query(self, domain: str, constraints: dict[str, str]) -> list[dict[str, Any]]:
        """Rows of `domain` that satisfy `constraints` (canonical slot -> value)."""
        if domain not in VENUE_DOMAINS and domain != "hospital":
            return []
        usable = tuple(
            sorted(
                (slot, normalise_value(slot, value))
                for slot, value in constraints.items()
                if slot in self.columns[domain]
            )
        )
        return self._query(domain, tuple((s, v) for s, v in usable if is_constraint(v)))

    def _query_uncached(
        self, domain: str, constraints: tuple[tuple[str, str], ...]
    ) -> list[dict[str, Any]]:
        return [row for row in self.rows[domain] if self._matches(domain, row, constraints)]

    @staticmethod
    def _matches(
        domain: str, row: dict[str, Any], constraints: tuple[tuple[str, str], ...]
    ) -> bool:
        for slot, wanted in constraints:
            have = str(row.get(slot, "?"))
            if have == "?":
                continue
            if slot in ("leaveat", "arriveby"):
                have_min, wanted_min = time_to_minutes(have), time_to_minutes(wanted)
                if have_min is None or wanted_min is None:
                    return False
                if (have_min < wanted_min) if slot == "leaveat" else (have_min > wanted_min):
                    return False
            elif slot in _FUZZY.get(domain, ()):
                if fuzz.partial_ratio(have, wanted) < FUZZY_THRESHOLD:
                    return False
            elif have != wanted:
                return False
        return True

    def keys(self, domain: str, constraints: dict[str, str]) -> list[str]:
        """Identities (`entity_key`) of the matching rows, in DB order."""
        return [entity_key(domain, r) for r in self.query(domain, constraints)]


@lru_cache(maxsize=4)
def load_db(path: str | None = None) -> VenueDB:
    """One shared `VenueDB` per folder (loading parses ~1.6 MB of JSON)."""
    return VenueDB(path)
