"""Delexicalisation from spans, from free text, and lexicalisation back from the DB."""

from __future__ import annotations

from training.data.multiwoz.delex import (
    delexicalise,
    delexicalise_free_text,
    lexicalise,
    word_span_to_chars,
)
from training.data.multiwoz.slots import coarsen
from training.data.multiwoz.turn import DbResult, MultiWozTurn, Span, Utterance


def _turn(**overrides) -> MultiWozTurn:
    fields = dict(
        dialogue_id="d",
        turn_index=0,
        split="test",
        source="fixture",
        context=[Utterance(role="user", text="hi")],
        belief_state={"restaurant": {"area": "north", "pricerange": "cheap", "bookpeople": "2"}},
        active_domains=["restaurant"],
        db_results={
            "restaurant": DbResult(
                count=2,
                entities=[{"name": "da vinci pizzeria", "phone": "01223351707", "food": "italian"}],
            )
        },
        reply="",
        delex_reply="",
    )
    return MultiWozTurn(**(fields | overrides))


def test_word_span_to_chars_inclusive_last_word() -> None:
    text = "Try Da Vinci Pizzeria ."
    assert word_span_to_chars(text, 1, 3) == (4, 21)
    assert text[4:21] == "Da Vinci Pizzeria"
    assert word_span_to_chars(text, 1, 9) is None


def test_delexicalise_skips_overlaps_and_dontcare() -> None:
    text = "Da Vinci is in any area at 18:00"
    spans = [
        Span(domain="restaurant", slot="name", value="Da Vinci", start=0, end=8),
        Span(domain="restaurant", slot="name", value="Vinci", start=3, end=8),  # overlaps
        Span(domain="restaurant", slot="area", value="dontcare", start=15, end=23),
        Span(domain="booking", slot="booktime", value="18:00", start=27, end=32),
    ]
    assert delexicalise(text, spans) == "[restaurant_name] is in any area at [value_time]"


def test_delexicalise_joins_address_pieces() -> None:
    text = "at unit g6 , clifton road ."
    spans = [
        Span(domain="attraction", slot="address", value="unit g6", start=3, end=10),
        Span(domain="attraction", slot="address", value="clifton road", start=13, end=25),
    ]
    assert delexicalise(text, spans) == "at [attraction_address] ."


def test_coarsen_drops_domain_and_plural() -> None:
    assert coarsen("[hotel_phone] [train_id] [value_count]s [hotel_reference]") == (
        "[phone] [trainid] [count] [reference]"
    )


def test_lexicalise_fills_from_db_state_and_booking() -> None:
    turn = _turn(new_bookings={"restaurant": {"ref": "XK3B7QZ1"}})
    text = lexicalise(
        "[restaurant_name] ([value_food], [value_area]) for [value_count] people, "
        "phone [restaurant_phone], ref [restaurant_reference], [restaurant_postcode]",
        turn,
    )
    assert text == (
        "da vinci pizzeria (italian, north) for 2 people, "
        "phone 01223351707, ref XK3B7QZ1, [restaurant_postcode]"
    )


def test_delexicalise_free_text_finds_db_and_shape_values(fixture_db) -> None:
    turn = _turn()
    text = "Da Vinci Pizzeria (01223351707) is cheap; TR1234 leaves 09:17 on Friday, ref AB12CD34."
    assert delexicalise_free_text(text, turn, fixture_db) == (
        "[restaurant_name] ([restaurant_phone]) is [value_pricerange]; [train_id] leaves "
        "[value_time] on [value_day], ref [restaurant_reference]."
    )


def test_delexicalise_free_text_names_other_db_venues(fixture_db) -> None:
    # Royal Spice is not in the turn's DB results but is a restaurant of the DB.
    assert (
        delexicalise_free_text("Try Royal Spice.", _turn(), fixture_db) == "Try [restaurant_name]."
    )
