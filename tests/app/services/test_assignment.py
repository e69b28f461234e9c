"""Variant assignment: determinism, split accuracy, ramp stickiness, GrowthBook parity."""

from __future__ import annotations

from collections import Counter

import pytest
from growthbook.core import chooseVariation, gbhash, getBucketRanges

from app.services.assignment import (
    SLOTS,
    AllocationError,
    InMemoryAssignmentStore,
    allocation_from_json,
    allocation_shares,
    allocation_to_json,
    assign_sticky,
    bucket,
    hashed_variant,
    initial_allocation,
    reallocate,
    slot_counts,
)

USERS = [f"user-{i}" for i in range(10_000)]


def _split(users: list[str], *, salt: str, allocation) -> dict[str, float]:
    counts = Counter(hashed_variant(u, salt=salt, allocation=allocation) for u in users)
    return {name: n / len(users) for name, n in counts.items()}


def test_assignment_is_deterministic_across_calls_and_allocation_copies() -> None:
    allocation = initial_allocation({"control": 0.5, "treatment": 0.5})
    first = [hashed_variant(u, salt="exp-1", allocation=allocation) for u in USERS[:500]]
    rebuilt = allocation_from_json(allocation_to_json(allocation))
    again = [hashed_variant(u, salt="exp-1", allocation=rebuilt) for u in USERS[:500]]
    assert first == again
    assert bucket("user-7", salt="exp-1") == bucket("user-7", salt="exp-1")


def test_assignment_salt_changes_buckets() -> None:
    a = [bucket(u, salt="exp-a") for u in USERS[:200]]
    b = [bucket(u, salt="exp-b") for u in USERS[:200]]
    # Independent hashes agree on a slot about 1/10,000 of the time.
    assert sum(x == y for x, y in zip(a, b, strict=True)) < 5


def test_assignment_matches_growthbook_sdk_bucketing() -> None:
    weights = {"control": 0.3, "sft": 0.3, "more": 0.4}
    allocation = initial_allocation(weights)
    ranges = getBucketRanges(3, 1, list(weights.values()))
    names = list(weights)
    for user in USERS[:2_000]:
        gb = names[chooseVariation(gbhash("exp-gb", user, 2), ranges)]
        assert hashed_variant(user, salt="exp-gb", allocation=allocation) == gb


@pytest.mark.parametrize(
    ("salt", "weights"),
    [
        ("sft-vs-more", {"control": 0.5, "treatment": 0.5}),
        ("exp-2", {"control": 0.9, "treatment": 0.1}),
        ("exp-3", {"a": 0.2, "b": 0.3, "c": 0.5}),
    ],
)
def test_assignment_split_within_one_percent_at_10k_users(
    salt: str, weights: dict[str, float]
) -> None:
    split = _split(USERS, salt=salt, allocation=initial_allocation(weights))
    for name, weight in weights.items():
        assert abs(split.get(name, 0.0) - weight) <= 0.01, (name, split)


def test_slot_counts_sum_exactly_and_normalise() -> None:
    counts = slot_counts({"a": 1, "b": 1, "c": 1})
    assert sum(counts.values()) == SLOTS
    assert sorted(counts.values()) == [3333, 3333, 3334]
    assert slot_counts({"a": 2, "b": 6}) == {"a": 2500, "b": 7500}


@pytest.mark.parametrize(
    "weights", [{}, {"a": -0.1, "b": 1.1}, {"a": 0.0}, {"": 1.0}, {"a": float("nan")}]
)
def test_slot_counts_rejects_bad_weights(weights: dict[str, float]) -> None:
    with pytest.raises(AllocationError):
        slot_counts(weights)


def test_reallocate_moves_only_the_minimal_share_of_slots() -> None:
    before = initial_allocation({"control": 0.9, "treatment": 0.1})
    after = reallocate(before, {"control": 0.5, "treatment": 0.5})
    assert allocation_shares(after) == {"control": 0.5, "treatment": 0.5}
    moved = sum(
        hashed_variant(u, salt="ramp", allocation=before)
        != hashed_variant(u, salt="ramp", allocation=after)
        for u in USERS
    )
    # Half the absolute weight change (0.4 + 0.4) / 2 = 40% of the hash space moves,
    # and only ever from the shrinking control to the growing treatment.
    assert abs(moved / len(USERS) - 0.4) <= 0.01
    for u in USERS:
        if hashed_variant(u, salt="ramp", allocation=before) == "treatment":
            assert hashed_variant(u, salt="ramp", allocation=after) == "treatment"


def test_reallocate_adds_and_drops_variants() -> None:
    before = initial_allocation({"a": 0.5, "b": 0.5})
    after = reallocate(before, {"a": 0.5, "c": 0.5})
    assert allocation_shares(after) == {"a": 0.5, "c": 0.5}
    # Every slot of the kept variant stays put.
    for u in USERS[:2_000]:
        if hashed_variant(u, salt="s", allocation=before) == "a":
            assert hashed_variant(u, salt="s", allocation=after) == "a"


async def test_assignment_ramp_never_moves_an_assigned_user() -> None:
    store = InMemoryAssignmentStore()
    allocation = initial_allocation({"control": 0.9, "treatment": 0.1})
    first = {}
    for user in USERS:
        got = await assign_sticky(
            store, experiment="ramp", salt="ramp", allocation=allocation, user_id=user
        )
        assert got.new
        first[user] = got.variant

    ramped = reallocate(allocation, {"control": 0.5, "treatment": 0.5})
    for user in USERS:
        again = await assign_sticky(
            store, experiment="ramp", salt="ramp", allocation=ramped, user_id=user
        )
        assert again.variant == first[user]
        assert not again.new

    # New users follow the ramped weights, within ±1% at 10,000 users.
    newcomers = [f"new-{i}" for i in range(10_000)]
    counts: Counter[str] = Counter()
    for user in newcomers:
        got = await assign_sticky(
            store, experiment="ramp", salt="ramp", allocation=ramped, user_id=user
        )
        counts[got.variant] += 1
    assert abs(counts["treatment"] / len(newcomers) - 0.5) <= 0.01
    assert len(store) == 20_000


async def test_assignment_first_stored_variant_wins_a_race() -> None:
    store = InMemoryAssignmentStore()
    await store.put_if_absent(experiment="e", user_id="u", variant="b")
    allocation = initial_allocation({"a": 1.0, "b": 0.0})
    got = await assign_sticky(store, experiment="e", salt="e", allocation=allocation, user_id="u")
    assert (got.variant, got.new) == ("b", False)


def test_allocation_from_json_rejects_gaps_and_overlaps() -> None:
    with pytest.raises(AllocationError):
        allocation_from_json([[0, 5000, "a"]])
    with pytest.raises(AllocationError):
        allocation_from_json([[0, 6000, "a"], [5000, SLOTS, "b"]])
