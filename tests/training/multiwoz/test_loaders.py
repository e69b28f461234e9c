"""Both loaders on data whose answers we know: our 2.2 fixtures and a tiny ConvLab-2 zip."""

from __future__ import annotations

import json
import zipfile
from pathlib import Path

import pytest

from training.data.multiwoz import convlab21, official22
from training.data.multiwoz.paths import MultiWozDataMissingError
from training.data.multiwoz.turn import MultiWozTurn


def test_official22_yields_one_turn_per_system_turn(fixture_release: Path, fixture_db) -> None:
    turns = list(official22.iter_turns("test", fixture_release, db=fixture_db))
    assert [t.key for t in turns] == [
        "fix00001/0",
        "fix00001/1",
        "fix00001/2",
        "fix00002/0",
        "fix00002/1",
        "fix00003/0",
    ]
    first = turns[0]
    assert first.context[-1].text == "I need a cheap place to eat in the north."
    assert first.belief_state == {"restaurant": {"pricerange": "cheap", "area": "north"}}
    assert first.delex_reply == (
        "[restaurant_name] is a [value_pricerange] [value_food] place in the [value_area]. "
        "Shall I book it?"
    )
    # Two cheap restaurants in the north; the one the reply names is listed first.
    assert first.db_results["restaurant"].count == 2
    assert first.db_results["restaurant"].entities[0]["name"] == "da vinci pizzeria"


def test_official22_context_alternates_and_ends_with_user(
    fixture_release: Path, fixture_db
) -> None:
    turn = list(official22.iter_turns("test", fixture_release, db=fixture_db))[2]
    assert [u.role for u in turn.context] == ["user", "system", "user", "system", "user"]
    assert turn.context[1].text.startswith("Da Vinci Pizzeria")


def test_official22_state_takes_first_value_and_booking(fixture_release: Path, fixture_db) -> None:
    turn = list(official22.iter_turns("test", fixture_release, db=fixture_db))[1]
    assert turn.belief_state["restaurant"]["name"] == "da vinci pizzeria"
    assert turn.belief_state["restaurant"]["bookpeople"] == "2"
    assert turn.requested == {"restaurant": ["phone"]}
    assert turn.booked_domains == ["restaurant"]
    assert turn.new_bookings == {"restaurant": {"ref": "XK3B7QZ1"}}
    assert turn.delex_reply == (
        "Done, your reference is [restaurant_reference] and the phone is [restaurant_phone]."
    )


def test_official22_train_booking_and_derived_goal(fixture_release: Path, fixture_db) -> None:
    turns = [t for t in official22.iter_turns("test", fixture_release, db=fixture_db)]
    train = [t for t in turns if t.dialogue_id == "fix00002"]
    assert train[0].delex_reply.startswith("[train_id] leaves at [value_time]")
    assert train[0].db_results["train"].count == 2  # friday, after 09:00: TR1234 and TR5678
    assert (
        train[1].booked_domains == ["train"] and train[1].new_bookings["train"]["ref"] == "8FQ2LM0A"
    )
    goal = train[0].goal["train"]
    assert goal.requestable == ["reference"]  # a booking, no requested attribute
    assert goal.informable["leaveat"] == "09:00"
    restaurant_goal = turns[0].goal["restaurant"]
    assert restaurant_goal.requestable == ["phone", "reference"]
    assert restaurant_goal.booking == {"bookpeople": "2", "booktime": "18:00", "bookday": "friday"}


def test_official22_goal_override(fixture_release: Path, fixture_db) -> None:
    goals = {"fix00003": {}}
    turns = list(official22.iter_turns("dev", fixture_release, db=fixture_db, goals=goals))
    assert len(turns) == 1 and turns[0].goal == {}


def test_official22_missing_root_names_the_env_variable(tmp_path: Path) -> None:
    with pytest.raises(MultiWozDataMissingError, match="MORE_MULTIWOZ_DIR"):
        list(official22.iter_turns("test", tmp_path / "nowhere"))


def test_official22_env_variable_sets_root(
    fixture_release: Path, fixture_db, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("MORE_MULTIWOZ_DIR", str(fixture_release))
    assert len(list(official22.iter_turns("train", db=fixture_db))) == 3


def _convlab_dialogue() -> dict:
    empty = {"book": {"booked": []}, "semi": {}}
    state = {d: empty for d in ("taxi", "police", "hospital", "hotel", "attraction", "train")}
    restaurant = {
        "book": {"booked": [], "time": "", "day": "", "people": ""},
        "semi": {"food": "", "pricerange": "cheap", "name": "", "area": "north"},
    }
    booked = {
        "book": {
            "booked": [{"name": "da vinci pizzeria", "reference": "XK3B7QZ1"}],
            "time": "18:00",
            "day": "friday",
            "people": "2",
        },
        "semi": {"food": "", "pricerange": "cheap", "name": "da vinci pizzeria", "area": "north"},
    }
    return {
        "goal": {
            "restaurant": {
                "info": {"pricerange": "cheap", "area": "north"},
                "reqt": ["phone"],
                "book": {"invalid": False, "people": "2"},
            },
            "taxi": {},
            "message": [],
        },
        "log": [
            {
                "text": "A cheap place in the north please .",
                "metadata": {},
                "dialog_act": {"Restaurant-Inform": [["Price", "cheap"], ["Area", "north"]]},
                "span_info": [],
            },
            {
                "text": "Da Vinci Pizzeria is cheap and in the north .",
                "metadata": {**state, "restaurant": restaurant},
                "dialog_act": {
                    "Restaurant-Inform": [["Name", "Da Vinci Pizzeria"], ["Price", "cheap"]]
                },
                "span_info": [
                    ["Restaurant-Inform", "Name", "Da Vinci Pizzeria", 0, 2],
                    ["Restaurant-Inform", "Price", "cheap", 4, 4],
                    ["Restaurant-Inform", "Area", "north", 8, 9],
                ],
            },
            {
                "text": "Book it and what is the phone ?",
                "metadata": {},
                "dialog_act": {"Restaurant-Request": [["Phone", "?"]]},
                "span_info": [],
            },
            {
                "text": "Booked , reference XK3B7QZ1 .",
                "metadata": {**state, "restaurant": booked},
                "dialog_act": {"Booking-Book": [["Ref", "XK3B7QZ1"]]},
                "span_info": [["Booking-Book", "Ref", "XK3B7QZ1", 3, 3]],
            },
        ],
    }


def _convlab_turns(tmp_path: Path, fixture_db) -> list[MultiWozTurn]:
    with zipfile.ZipFile(tmp_path / "test.json.zip", "w") as archive:
        archive.writestr("test.json", json.dumps({"SNG9999.json": _convlab_dialogue()}))
    return list(convlab21.iter_turns("test", tmp_path, db=fixture_db))


def test_convlab21_word_spans_become_placeholders(tmp_path: Path, fixture_db) -> None:
    first, second = _convlab_turns(tmp_path, fixture_db)
    assert first.dialogue_id == "sng9999"
    # "north ." is annotated with the final "." inside: the span stops before it.
    assert first.delex_reply == "[restaurant_name] is [value_pricerange] and in the [value_area] ."
    assert second.delex_reply == "Booked , reference [restaurant_reference] ."


def test_convlab21_state_booking_and_goal(tmp_path: Path, fixture_db) -> None:
    first, second = _convlab_turns(tmp_path, fixture_db)
    assert first.belief_state == {"restaurant": {"pricerange": "cheap", "area": "north"}}
    assert first.booked_domains == [] and second.booked_domains == ["restaurant"]
    assert second.new_bookings["restaurant"]["ref"] == "XK3B7QZ1"
    assert second.belief_state["restaurant"]["bookday"] == "friday"
    assert second.requested == {"restaurant": ["phone"]}
    assert set(first.goal) == {"restaurant"}  # empty domain goals are not goals
    assert first.goal["restaurant"].requestable == ["phone", "reference"]
    assert first.goal["restaurant"].booking == {"bookpeople": "2"}


def test_convlab21_real_test_split_counts(real_test_turns: list[MultiWozTurn]) -> None:
    assert len(real_test_turns) == 7372
    assert len({t.dialogue_id for t in real_test_turns}) == 1000


def test_load_turns_takes_21_goals_for_22_dialogues(
    fixture_release: Path, fixture_db, tmp_path: Path
) -> None:
    from training.data.multiwoz.load import load_turns

    goal = {"restaurant": {"info": {"food": "indian", "area": "centre"}, "reqt": ["phone"]}}
    with zipfile.ZipFile(tmp_path / "val.json.zip", "w") as archive:
        archive.writestr("val.json", json.dumps({"FIX00003.json": {"goal": goal, "log": []}}))
    turns = load_turns(
        "multiwoz22",
        "dev",
        root=fixture_release,
        db=fixture_db,
        goals="multiwoz21",
        goals_root=tmp_path,
    )
    assert turns[0].goal["restaurant"].requestable == ["phone"]  # derived goal says "address"
    derived = load_turns("multiwoz22", "dev", root=fixture_release, db=fixture_db)
    assert derived[0].goal["restaurant"].requestable == ["address"]
