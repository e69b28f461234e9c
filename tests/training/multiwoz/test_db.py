"""Venue DB search and value normalisation (the rules Inform depends on)."""

from __future__ import annotations

import pytest

from training.data.multiwoz.build import estimate_active_domains
from training.data.multiwoz.db import VenueDB
from training.data.multiwoz.values import normalise_time, normalise_value


@pytest.mark.parametrize(
    ("raw", "canonical"),
    [("after 5pm", "17:00"), ("1715", "17:15"), ("9:30", "09:30"), ("by 10.15 p.m.", "22:15"),
     ("afternoon", "13:00"), ("whenever", "whenever")],
)  # fmt: skip
def test_normalise_time(raw: str, canonical: str) -> None:
    assert normalise_time(raw) == canonical


def test_normalise_value_types_names_and_dontcare() -> None:
    assert normalise_value("type", "guest house") == "guesthouse"
    assert normalise_value("name", "Nando's") == "nandos"
    assert normalise_value("name", "christ college") == "christ's college"
    assert normalise_value("parking", "free") == "yes"
    assert normalise_value("area", "don't care") == "dontcare"


def test_query_exact_and_dontcare(fixture_db: VenueDB) -> None:
    assert fixture_db.keys("restaurant", {"area": "north", "pricerange": "cheap"}) == [
        "da vinci pizzeria",
        "royal spice",
    ]
    assert len(fixture_db.keys("restaurant", {"area": "dontcare", "food": "indian"})) == 2
    # Booking slots are not DB columns: they never constrain the search.
    assert fixture_db.keys("restaurant", {"name": "royal spice", "bookday": "friday"}) == [
        "royal spice"
    ]


def test_query_fuzzy_names_and_unknown_wildcard(fixture_db: VenueDB) -> None:
    assert fixture_db.keys("restaurant", {"name": "the da vinci pizzeria"}) == ["da vinci pizzeria"]
    assert fixture_db.keys("restaurant", {"name": "nowhere at all"}) == []
    # The water play's entrance fee is "?" in the DB: any wanted fee matches it.
    assert fixture_db.keys("attraction", {"entrancefee": "5 pounds"}) == [
        "cherry hinton water play"
    ]


def test_query_train_times_are_bounds(fixture_db: VenueDB) -> None:
    base = {"departure": "cambridge", "destination": "london kings cross", "day": "friday"}
    assert fixture_db.keys("train", {**base, "leaveat": "10:00"}) == ["TR5678"]
    assert fixture_db.keys("train", {**base, "arriveby": "11:00"}) == ["TR1234"]
    assert fixture_db.keys("train", {**base, "leaveat": "after 9am"}) == ["TR1234", "TR5678"]


def test_estimate_active_domains_follows_state_changes() -> None:
    states = [
        {},
        {"restaurant": {"area": "north"}},
        {"restaurant": {"area": "north"}},
        {"restaurant": {"area": "north"}, "hotel": {"stars": "4"}},
        {"restaurant": {"area": "north", "food": "thai"}, "hotel": {"stars": "4"}},
    ]
    assert estimate_active_domains(states) == [
        [],
        ["restaurant"],
        ["restaurant"],
        ["hotel"],
        ["restaurant"],
    ]


def test_estimate_active_domains_switches_after_two_domain_turn() -> None:
    states = [
        {"hotel": {"stars": "4"}},
        {"hotel": {"stars": "4", "area": "east"}, "taxi": {"leaveat": "17:00"}},
        {"hotel": {"stars": "4", "area": "east"}, "taxi": {"leaveat": "17:00"}},
    ]
    # Both changed at turn 1 and the hotel stayed current; with no change, the taxi takes over.
    assert estimate_active_domains(states) == [["hotel"], ["hotel"], ["taxi"]]
