"""Deterministic, sticky A/B variant assignment.

A user's bucket is GrowthBook's version-2 hash of the user id seeded with the
experiment salt (`growthbook.core.gbhash`): a slot in [0, 10,000). An experiment's
*allocation* maps slot ranges to variants. The first allocation is exactly
GrowthBook's contiguous bucket ranges, so a GrowthBook SDK given the same salt,
weights and `hashVersion: 2` puts every user in the same variant.

Ramping (changing the weights of a running experiment) never moves a user who was
already assigned, for two reasons that work together (docs/experiments.md):

* `reallocate()` changes the fewest slots possible: a shrinking variant gives up its
  highest slots and only those go to growing variants, so a 90/10 → 50/50 ramp
  re-maps 40% of the hash space instead of the 40%+ a fresh range layout can touch.
* The first assignment of each user is persisted (`AssignmentStore`) and always wins
  over the allocation, so even users in re-mapped slots keep their variant. New users
  follow the current allocation, i.e. the current weights.

Pure logic plus a tiny async store protocol: no database imports here.
"""

from __future__ import annotations

import asyncio
import math
from bisect import bisect_right
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Protocol

from growthbook.core import gbhash

# GrowthBook's v2 hash resolves to 1/10,000: one slot per hash value.
SLOTS = 10_000
HASH_VERSION = 2


class ExperimentStatus(StrEnum):
    DRAFT = "draft"
    RUNNING = "running"
    STOPPED = "stopped"


@dataclass(frozen=True, order=True)
class SlotRange:
    """Slots [start, end) belong to `variant`."""

    start: int
    end: int
    variant: str


Allocation = tuple[SlotRange, ...]


class AllocationError(ValueError):
    """Weights that cannot be turned into an allocation (negative, all zero, unnamed)."""


def bucket(user_id: str, *, salt: str) -> int:
    """The user's slot in [0, SLOTS): GrowthBook's v2 hash of `salt + user_id`."""
    value = gbhash(salt, user_id, HASH_VERSION)
    if value is None:  # only for an unknown hash version
        raise AllocationError(f"growthbook does not support hash version {HASH_VERSION}")
    # gbhash returns (n % 10000) / 10000; round() undoes the float division exactly.
    return round(value * SLOTS)


def slot_counts(weights: Mapping[str, float]) -> dict[str, int]:
    """Slots per variant, proportional to `weights` and summing to exactly SLOTS.

    Weights need not sum to one (they are normalised). Rounding uses the largest
    remainder method so no slot is lost or double-counted; ties go to the earlier
    variant, which keeps the result deterministic.
    """
    if not weights:
        raise AllocationError("an experiment needs at least one variant")
    for name, weight in weights.items():
        if not name:
            raise AllocationError("variant names must be non-empty")
        if not math.isfinite(weight) or weight < 0:
            raise AllocationError(f"weight of {name!r} must be a finite number >= 0")
    total = sum(weights.values())
    if total <= 0:
        raise AllocationError("at least one variant needs a positive weight")
    exact = {name: SLOTS * w / total for name, w in weights.items()}
    counts = {name: math.floor(x) for name, x in exact.items()}
    missing = SLOTS - sum(counts.values())
    order = sorted(exact, key=lambda n: (-(exact[n] - counts[n]), list(exact).index(n)))
    for name in order[:missing]:
        counts[name] += 1
    return counts


def initial_allocation(weights: Mapping[str, float]) -> Allocation:
    """Contiguous ranges in variant order: GrowthBook's `getBucketRanges` in slots."""
    ranges: list[SlotRange] = []
    start = 0
    for name, count in slot_counts(weights).items():
        if count:
            ranges.append(SlotRange(start, start + count, name))
        start += count
    return tuple(ranges)


def reallocate(allocation: Allocation, weights: Mapping[str, float]) -> Allocation:
    """The allocation for new weights that re-maps the fewest slots.

    Each shrinking variant (or one dropped from `weights`) releases its highest slots;
    the released slots, lowest first, fill growing variants in `weights` order. A slot
    changes owner only if its variant had to shrink, so the moved share of the hash
    space equals half the total absolute weight change, its minimum.
    """
    targets = slot_counts(weights)
    owners = _expand(allocation)
    for name in {r.variant for r in allocation} - targets.keys():
        targets[name] = 0
    held = _counts(owners)
    released: list[int] = []
    for name, target in targets.items():
        surplus = held.get(name, 0) - target
        if surplus > 0:
            mine = [slot for slot in range(SLOTS - 1, -1, -1) if owners[slot] == name]
            released.extend(mine[:surplus])
    released.sort()
    cursor = 0
    for name in weights:
        deficit = targets[name] - held.get(name, 0)
        for slot in released[cursor : cursor + max(deficit, 0)]:
            owners[slot] = name
        cursor += max(deficit, 0)
    return _compress(owners)


def variant_for_slot(allocation: Allocation, slot: int) -> str:
    """The variant owning `slot` (an allocation always covers every slot)."""
    starts = [r.start for r in allocation]
    index = bisect_right(starts, slot) - 1
    if index < 0 or not allocation[index].start <= slot < allocation[index].end:
        raise AllocationError(f"slot {slot} is not covered by the allocation")
    return allocation[index].variant


def hashed_variant(user_id: str, *, salt: str, allocation: Allocation) -> str:
    """The variant the allocation gives a user, before stickiness is applied."""
    return variant_for_slot(allocation, bucket(user_id, salt=salt))


def allocation_shares(allocation: Allocation) -> dict[str, float]:
    """Share of the hash space per variant (the effective weights)."""
    shares: dict[str, float] = {}
    for r in allocation:
        shares[r.variant] = shares.get(r.variant, 0.0) + (r.end - r.start) / SLOTS
    return shares


def allocation_to_json(allocation: Allocation) -> list[list[int | str]]:
    """`[[start, end, variant], ...]`: how an allocation is stored in a JSON column."""
    return [[r.start, r.end, r.variant] for r in allocation]


def allocation_from_json(rows: Iterable[Sequence[int | str]]) -> Allocation:
    """Parse `allocation_to_json` output, checking it still covers every slot once."""
    ranges = tuple(sorted(SlotRange(int(s), int(e), str(v)) for s, e, v in rows))
    _expand(ranges)  # validates coverage
    return ranges


def _expand(allocation: Allocation) -> list[str]:
    owners: list[str | None] = [None] * SLOTS
    for r in allocation:
        if not 0 <= r.start < r.end <= SLOTS:
            raise AllocationError(f"bad slot range {r}")
        for slot in range(r.start, r.end):
            if owners[slot] is not None:
                raise AllocationError(f"slot {slot} is allocated twice")
            owners[slot] = r.variant
    if any(o is None for o in owners):
        raise AllocationError("the allocation leaves slots unassigned")
    return owners  # type: ignore[return-value]  # checked: no None left


def _compress(owners: Sequence[str]) -> Allocation:
    ranges: list[SlotRange] = []
    start = 0
    for slot in range(1, SLOTS + 1):
        if slot == SLOTS or owners[slot] != owners[start]:
            ranges.append(SlotRange(start, slot, owners[start]))
            start = slot
    return tuple(ranges)


def _counts(owners: Sequence[str]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for name in owners:
        counts[name] = counts.get(name, 0) + 1
    return counts


class AssignmentStore(Protocol):
    """Where first assignments are persisted (the database in serving)."""

    async def get(self, *, experiment: str, user_id: str) -> str | None: ...

    async def put_if_absent(
        self, *, experiment: str, user_id: str, variant: str
    ) -> tuple[str, bool]:
        """Store `variant` unless one is stored already: (stored variant, inserted now)."""
        ...


class InMemoryAssignmentStore:
    """A process-local `AssignmentStore` for tests and the simulator's local arms."""

    def __init__(self) -> None:
        self._data: dict[tuple[str, str], str] = {}
        self._lock = asyncio.Lock()

    async def get(self, *, experiment: str, user_id: str) -> str | None:
        return self._data.get((experiment, user_id))

    async def put_if_absent(
        self, *, experiment: str, user_id: str, variant: str
    ) -> tuple[str, bool]:
        async with self._lock:
            key = (experiment, user_id)
            if key in self._data:
                return self._data[key], False
            self._data[key] = variant
            return variant, True

    def __len__(self) -> int:
        return len(self._data)


@dataclass(frozen=True)
class Assignment:
    experiment: str
    variant: str
    new: bool  # first exposure: the caller may count it (sessions per variant, SRM)


async def assign_sticky(
    store: AssignmentStore,
    *,
    experiment: str,
    salt: str,
    allocation: Allocation,
    user_id: str,
) -> Assignment:
    """The user's persisted variant, or the hashed one, persisted on first exposure.

    Two replicas racing on a first exposure compute the same hashed variant, and
    `put_if_absent` makes the stored value win either way.
    """
    stored = await store.get(experiment=experiment, user_id=user_id)
    if stored is not None:
        return Assignment(experiment, stored, new=False)
    variant = hashed_variant(user_id, salt=salt, allocation=allocation)
    kept, inserted = await store.put_if_absent(
        experiment=experiment, user_id=user_id, variant=variant
    )
    return Assignment(experiment, kept, new=inserted)
