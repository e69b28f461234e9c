"""The MultiWOZ reasoning functions on hand-built turns over the fixture DB."""

from __future__ import annotations

import pytest

from training.data.multiwoz.paths import REPO_ROOT
from training.data.multiwoz.turn import DbResult, MultiWozTurn, Utterance
from training.multiwoz.dataset import build_dataset, build_sft_dataset
from training.multiwoz.prompt import build_messages
from training.multiwoz.rewards import (
    MultiWozReasoning,
    for_linguistic,
    get_multiwoz_reasoning_functions,
)

FIXTURE_ROOT = REPO_ROOT / "tests" / "fixtures" / "multiwoz22"


def _turn(**overrides) -> MultiWozTurn:
    fields = dict(
        dialogue_id="d1",
        turn_index=1,
        split="test",
        source="fixture",
        context=[
            Utterance(role="user", text="A cheap restaurant in the north?"),
            Utterance(role="system", text="Da Vinci Pizzeria is cheap."),
            Utterance(role="user", text="What is their phone number?"),
        ],
        belief_state={"restaurant": {"area": "north", "pricerange": "cheap"}},
        active_domains=["restaurant"],
        requested={"restaurant": ["phone"]},
        db_results={"restaurant": DbResult(count=2, entities=[{"name": "da vinci pizzeria"}])},
        reply="It is 01223351707.",
        delex_reply="It is [restaurant_phone].",
    )
    return MultiWozTurn(**(fields | overrides))


@pytest.fixture(scope="module")
def reasoning(fixture_db) -> MultiWozReasoning:
    return MultiWozReasoning(fixture_db)


def test_offered_entities_flags_venue_outside_state(reasoning: MultiWozReasoning) -> None:
    turn = _turn()
    assert reasoning.offered_entities(turn, "Royal Spice is also cheap.").value == 1.0
    # The golden curry is in the DB but is expensive and in the centre.
    assert reasoning.offered_entities(turn, "Try The Golden Curry.").value == 0.0
    assert reasoning.offered_entities(turn, "Royal Spice or the golden curry.").value == 0.5
    assert reasoning.offered_entities(turn, "Happy to help.").value == 1.0


def test_offered_entities_placeholder_needs_a_db_match(reasoning: MultiWozReasoning) -> None:
    no_match = _turn(belief_state={"restaurant": {"area": "south", "food": "indian"}})
    assert reasoning.offered_entities(no_match, "[restaurant_name] is great.").value == 0.0
    assert reasoning.offered_entities(_turn(), "[restaurant_name] is great.").value == 1.0


def test_offered_entities_checks_train_ids(reasoning: MultiWozReasoning) -> None:
    friday = {"departure": "cambridge", "destination": "london kings cross", "day": "friday"}
    turn = _turn(belief_state={"train": friday}, requested={})
    assert reasoning.offered_entities(turn, "TR1234 leaves at 09:17.").value == 1.0
    assert reasoning.offered_entities(turn, "TR9999 leaves at 09:17.").value == 0.0  # saturday


def test_requested_attributes_share_given(reasoning: MultiWozReasoning) -> None:
    turn = _turn(requested={"restaurant": ["phone", "postcode"]})
    assert reasoning.requested_attributes(turn, "Call 01223351707.").value == 0.5
    assert reasoning.requested_attributes(turn, "Call 01223351707, postcode CB4 1JY.").value == 1.0
    assert (
        reasoning.requested_attributes(turn, "[restaurant_phone], [restaurant_postcode]").value
        == 1.0
    )
    assert reasoning.requested_attributes(_turn(requested={}), "Hello.") is None


def test_no_invention_rejects_unknown_ids_phones_and_references(
    reasoning: MultiWozReasoning,
) -> None:
    turn = _turn()
    assert reasoning.no_invention(turn, "Call 01223351707 about TR1234.").value == 1.0
    assert reasoning.no_invention(turn, "Call 01223000000.").value == 0.0
    assert reasoning.no_invention(turn, "Take TR0000.").value == 0.0
    assert reasoning.no_invention(turn, "Your reference is ZZ99ZZ99.").value == 0.0
    booked = _turn(new_bookings={"restaurant": {"ref": "ZZ99ZZ99"}})
    assert reasoning.no_invention(booked, "Your reference is ZZ99ZZ99.").value == 1.0


def test_booking_claim_only_with_a_booking(reasoning: MultiWozReasoning) -> None:
    claim = "I have booked it, your reference number is ZZ99ZZ99."
    assert reasoning.booking_claim(_turn(), claim).value == 0.0
    assert reasoning.booking_claim(_turn(), "Shall I book it?").value == 1.0
    booked = _turn(new_bookings={"restaurant": {"ref": "ZZ99ZZ99"}})
    assert reasoning.booking_claim(booked, claim).value == 1.0


def test_reasoning_functions_follow_trl_signature() -> None:
    fns = get_multiwoz_reasoning_functions(str(FIXTURE_ROOT / "db"))
    turn = _turn()
    completions = [
        [{"role": "assistant", "content": "It is 01223351707."}],
        "Try The Golden Curry.",
    ]
    example = [turn.model_dump_json()] * 2
    assert fns["requested_attributes_reward"](None, completions, example=example) == [1.0, 0.0]
    assert fns["offered_entities_reward"](None, completions, example=example) == [1.0, 0.0]
    assert fns["offered_entities_reward"].__name__ == "offered_entities_reward"


def test_prompt_holds_state_db_booking_and_history() -> None:
    turn = _turn(new_bookings={"restaurant": {"ref": "ZZ99ZZ99"}})
    messages = build_messages(turn)
    assert [m["role"] for m in messages] == ["system", "user", "assistant", "user"]
    system = messages[0]["content"]
    assert "restaurant: area=north, pricerange=cheap" in system
    assert "restaurant: 2 matches" in system and "name da vinci pizzeria" in system
    assert "restaurant booked, reference ZZ99ZZ99" in system
    assert messages[-1]["content"] == "What is their phone number?"


def test_dataset_columns_round_trip() -> None:
    dataset = build_dataset([_turn(), _turn(turn_index=2)])
    assert set(dataset.column_names) == {"prompt", "example", "references"}
    assert MultiWozTurn.model_validate_json(dataset[1]["example"]).turn_index == 2
    assert dataset[0]["references"] == ["It is 01223351707."]
    sft = build_sft_dataset([_turn()])
    assert sft[0]["completion"] == [{"role": "assistant", "content": "It is 01223351707."}]


def test_linguistic_reward_adapter_feeds_references() -> None:
    seen: dict = {}

    def fake_reward(prompts, completions, **kwargs):
        seen.update(kwargs, prompts=prompts)
        return [1.0] * len(completions)

    fake_reward.__name__ = "fake_reward"
    adapted = for_linguistic(fake_reward)
    assert adapted(None, ["hi"], example=[_turn().model_dump_json()]) == [1.0]
    assert seen["references"] == [["It is 01223351707."]]
    assert "example" not in seen and seen["prompts"][0][0]["role"] == "system"
    assert adapted.__name__ == "fake_reward"


def test_linguistic_adapter_with_registry_concision_reward() -> None:
    from training.rewards.registry import get_reward

    concision = for_linguistic(get_reward("concision"))
    scores = concision(
        None, ["It is 01223351707.", "word " * 400], example=[_turn().model_dump_json()] * 2
    )
    assert all(isinstance(s, float) for s in scores)
    assert scores[0] > scores[1]  # the short reply beats the rambling one


def test_dotted_path_rewards_use_the_configured_db(monkeypatch: pytest.MonkeyPatch) -> None:
    from training.rewards.registry import get_reward

    monkeypatch.setenv("MORE_MULTIWOZ_DB_DIR", str(FIXTURE_ROOT / "db"))
    from training.multiwoz import rewards

    rewards._default_reasoning.cache_clear()
    try:
        fn = get_reward("training.multiwoz.rewards:no_invention_reward")
        assert fn(
            None, ["Take TR1234.", "Take TR0000."], example=[_turn().model_dump_json()] * 2
        ) == [1.0, 0.0]
    finally:
        rewards._default_reasoning.cache_clear()
