"""The e-commerce generator: determinism, labels, splits, hard categories, loaders."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections import Counter
from dataclasses import replace
from decimal import Decimal
from pathlib import Path

import pytest

from app.domain.money import CURRENCIES, format_amount
from app.domain.numbers import asked_terms
from app.domain.rules import TERMS_BY_TIER, Action, Intent
from training.data.ecommerce import (
    HARD_TAGS,
    SplitSizes,
    dataset_card,
    generate,
    load_split,
    split_path,
    to_dataset,
    write_split,
)
from training.data.ecommerce.population import fingerprint
from training.data.schema import GoldDecision, Split, TaskExample

SIZES = SplitSizes(train=400, dev=80, test=80, hard=140, train_terms=60)


@pytest.fixture(scope="module")
def splits() -> dict[Split, list[TaskExample]]:
    return generate(11, SIZES)


def _bytes(splits: dict[Split, list[TaskExample]], tmp: Path) -> dict[str, bytes]:
    for split, examples in splits.items():
        write_split(examples, split_path(tmp, split))
    return {s.value: split_path(tmp, s).read_bytes() for s in splits}


def test_generator_same_seed_same_bytes(tmp_path: Path) -> None:
    small = SplitSizes(train=120, dev=30, test=30, hard=30)
    first = _bytes(generate(5, small), tmp_path / "a")
    second = _bytes(generate(5, small), tmp_path / "b")
    assert first == second
    other = _bytes(generate(6, small), tmp_path / "c")
    assert other["train"] != first["train"]


def test_generator_bytes_do_not_depend_on_hash_seed(tmp_path: Path) -> None:
    """Set iteration order changes with PYTHONHASHSEED; the output must not."""
    code = (
        "import hashlib, sys\n"
        "from training.data.ecommerce import generate, SplitSizes\n"
        "s = generate(3, SplitSizes(60, 20, 20, 21))\n"
        "h = hashlib.sha256()\n"
        "[h.update(e.model_dump_json().encode()) for exs in s.values() for e in exs]\n"
        "print(h.hexdigest())\n"
    )
    digests = set()
    for hash_seed in ("0", "12345"):
        env = {**os.environ, "PYTHONHASHSEED": hash_seed}
        out = subprocess.run(
            [sys.executable, "-c", code],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            cwd=Path(__file__).resolve().parents[3],
        )
        digests.add(out.stdout.strip())
    assert len(digests) == 1


def test_generator_sizes_and_ids(splits: dict[Split, list[TaskExample]]) -> None:
    for split, examples in splits.items():
        extra = SIZES.train_terms if split is Split.TRAIN else 0
        assert len(examples) == SIZES.of(split) + extra
        assert all(ex.split is split and ex.id.startswith(f"{split.value}-") for ex in examples)
        assert len({ex.id for ex in examples}) == len(examples)


def test_generator_labels_match_rules(splits: dict[Split, list[TaskExample]]) -> None:
    for examples in splits.values():
        for ex in examples:
            decision = ex.redecide()
            assert GoldDecision.from_decision(decision) == ex.decision, ex.id
            assert list(decision.reasoning) == ex.reasoning
            assert ex.reasoning[-1].startswith("Decision:")


def test_generator_references_varied_and_formatted(
    splits: dict[Split, list[TaskExample]],
) -> None:
    all_refs = [r for exs in splits.values() for ex in exs for r in ex.references]
    for examples in splits.values():
        for ex in examples:
            assert len(ex.references) >= 3, ex.id
            assert len(set(ex.references)) == len(ex.references)
    # Many distinct phrasings overall and per intent x action, not a handful of sentences.
    # (Decision-first replies open with the verdict rather than a greeting, so whole-reply
    # repeats are commoner for declines that carry no amounts.)
    assert len(set(all_refs)) > 0.6 * len(all_refs)
    assert all(
        not r.startswith(("Hi ", "Hi!", "Thanks for"))
        for exs in splits.values()
        for ex in exs
        if ex.decision.action is not Action.INFORM
        for r in ex.references
    )
    groups: dict[tuple[str, str], list[str]] = {}
    for examples in splits.values():
        for ex in examples:
            key = (ex.intent.value, ex.decision.action.value)
            groups.setdefault(key, []).extend(ex.references)
    for key, refs in groups.items():
        if len(refs) >= 40:
            assert len(set(refs)) >= 15, key
    # Amounts appear exactly as app.domain.money formats them.
    fits = [
        ex
        for ex in splits[Split.TRAIN]
        if ex.decision.action is Action.APPROVE and ex.intent is Intent.PURCHASE_FIT
    ]
    assert fits
    for ex in fits:
        price = format_amount(ex.decision.amounts["price"], ex.profile.currency)
        monthly = [
            format_amount(v, ex.profile.currency)
            for k, v in ex.decision.amounts.items()
            if k.startswith("monthly:")
        ]
        assert any(price in r or any(m in r for m in monthly) for r in ex.references)


def test_generator_covers_intents_actions_and_realistic_profiles(
    splits: dict[Split, list[TaskExample]],
) -> None:
    train = splits[Split.TRAIN]
    assert {ex.intent for ex in train} == set(Intent)
    assert {ex.decision.action for ex in train} == set(Action)
    profiles = [ex.profile for ex in train]
    assert {p.currency for p in profiles} == {"USD", "EUR", "GBP", "JPY"}
    assert {"CA", "MX", "AU"} & {p.region for p in profiles}  # unsupported regions occur
    standings = Counter(p.account_standing.value for p in profiles)
    assert standings.most_common(1)[0][0] == "good" and len(standings) >= 3
    jpy = [p for p in profiles if p.currency == "JPY" and p.credit_limit > 0]
    assert jpy and all(p.credit_limit >= 5000 for p in jpy)  # yen limits look like yen
    assert any(ex.history for ex in train)  # multi-turn dialogues
    for ex in train:
        if ex.history:
            assert [m["role"] for m in ex.history][:2] == ["user", "assistant"]
            assert ex.messages()[-1] == {"role": "user", "content": ex.message}


def test_generator_splits_have_disjoint_profiles(
    splits: dict[Split, list[TaskExample]],
) -> None:
    owners: dict[str, Split] = {}
    for split, examples in splits.items():
        for ex in examples:
            for key in (ex.profile.user_id, fingerprint(ex.profile)):
                assert owners.setdefault(key, split) is split, (key, split)


def test_generator_hard_split_has_every_category(
    splits: dict[Split, list[TaskExample]],
) -> None:
    hard = splits[Split.HARD]
    tags = Counter(t for ex in hard for t in ex.tags)
    assert set(HARD_TAGS) <= set(tags)
    assert min(tags[t] for t in HARD_TAGS) >= len(hard) // len(HARD_TAGS) - 1
    by_tag = {t: [ex for ex in hard if t in ex.tags] for t in HARD_TAGS}
    for ex in by_tag["boundary"]:
        minor = Decimal(1).scaleb(-CURRENCIES[ex.profile.currency][1])
        gap = abs(ex.decision.amounts["price"] - ex.decision.amounts["available_credit"])
        assert gap <= 99 * minor, ex.id  # within 99 cents (or yen) of the available credit
    assert any(
        ex.decision.amounts["price"] == ex.decision.amounts["available_credit"]
        for ex in by_tag["boundary"]
    )
    for ex in by_tag["balance_flip"]:
        assert ex.decision.reason is not None and ex.decision.reason.value == "insufficient_credit"
        assert ex.decision.amounts["price"] <= ex.profile.credit_limit
    assert all(len(ex.context.items) >= 2 for ex in by_tag["multi_item"])
    assert all(ex.decision.reason.value == "privacy" for ex in by_tag["other_user_data"])  # type: ignore[union-attr]
    assert all(ex.intent is Intent.CREDIT_INFO for ex in by_tag["unknown_fact"])
    injections = ("ignore", "system", "developer mode", "pretend", "new policy", "assistant note")
    assert all(any(w in ex.message.lower() for w in injections) for ex in by_tag["injection"])


def test_generator_term_follow_ups_answer_for_the_tier(
    splits: dict[Split, list[TaskExample]],
) -> None:
    follow_ups = [ex for ex in splits[Split.TRAIN] if "term" in ex.tags and ex.history]
    assert len(follow_ups) >= SIZES.train_terms // 2 - 1
    refused = 0
    for ex in follow_ups:
        if ex.decision.action is not Action.APPROVE:
            continue
        offered = TERMS_BY_TIER[ex.profile.membership_tier]
        (asked,) = asked_terms(ex.message)
        term = asked if asked in offered else offered[-1]
        payment = format_amount(ex.decision.amounts[f"monthly:{term}"], ex.profile.currency)
        for reply in ex.references:
            assert f"{payment} a month" in reply, (ex.message, reply)
            if asked not in offered:
                assert str(asked) in reply, reply
                assert ex.profile.membership_tier.value in reply.lower(), reply
        refused += asked not in offered
    assert refused > 0


def test_term_follow_ups_leave_the_other_splits_as_they_were() -> None:
    sizes = SplitSizes(train=60, dev=20, test=20, hard=14, train_terms=0)
    without = generate(3, sizes)
    with_terms = generate(3, replace(sizes, train_terms=30))
    assert with_terms[Split.TRAIN][:60] == without[Split.TRAIN]
    for split in (Split.DEV, Split.TEST, Split.HARD):
        assert with_terms[split] == without[split]


def test_load_split_round_trip(tmp_path: Path, splits: dict[Split, list[TaskExample]]) -> None:
    write_split(splits[Split.DEV], split_path(tmp_path, Split.DEV))
    assert load_split(tmp_path, "dev") == splits[Split.DEV]
    assert load_split(split_path(tmp_path, Split.DEV)) == splits[Split.DEV]
    with pytest.raises(ValueError, match="pass the split"):
        load_split(tmp_path)
    with pytest.raises(FileNotFoundError, match="more data generate"):
        load_split(tmp_path, "test")
    lines = split_path(tmp_path, Split.DEV).read_text().splitlines()
    assert len(lines) == len(splits[Split.DEV])
    assert TaskExample.model_validate(json.loads(lines[0])) == splits[Split.DEV][0]


def test_to_dataset_columns(splits: dict[Split, list[TaskExample]]) -> None:
    examples = splits[Split.DEV][:12]
    ds = to_dataset(examples)
    assert ds.column_names == ["prompt", "example", "intent", "action"]
    row = ds[3]
    assert row["prompt"] == [dict(m) for m in examples[3].messages()]
    assert TaskExample.model_validate_json(row["example"]) == examples[3]
    assert row["intent"] == examples[3].intent.value
    assert row["action"] == examples[3].decision.action.value


def test_dataset_card_counts(splits: dict[Split, list[TaskExample]]) -> None:
    card = dataset_card(splits, seed=11, version="1")
    purchase = sum(1 for ex in splits[Split.TRAIN] if ex.intent is Intent.PURCHASE_FIT)
    row = next(line for line in card.splitlines() if line.startswith("| purchase_fit |"))
    assert row.split("|")[2].strip() == str(purchase)
    assert "## Examples per action" in card and "| injection |" in card
    digest = hashlib.sha256(card.encode()).hexdigest()
    assert digest == hashlib.sha256(dataset_card(splits, seed=11, version="1").encode()).hexdigest()


def test_the_checks_decide_every_example_as_its_gold_says(
    splits: dict[Split, list[TaskExample]],
) -> None:
    # The readings the checks add on top of the intent ("I lost my job, can I pause my
    # payments?" goes to a person, "when is my next payment due?" is a credit question,
    # ...) come from hand-written turns; none may change what a generated turn asks, or
    # the evaluation's gold would move under the references.
    from app.domain.checks import TurnFacts
    from app.domain.intents import in_context

    for examples in splits.values():
        for ex in examples:
            facts = TurnFacts(ex.profile, ex.context, ex.message, ex.intent, tuple(ex.history))
            assert facts.decided_intent is in_context(ex.intent, ex.context), (ex.id, ex.message)
