from __future__ import annotations

import math
from pathlib import Path

import pytest

from training.data.schema import TaskExample
from training.rewards.base import RewardFunc
from training.rewards.linguistic.fluency import DEFAULT_CENTER, get_fluency_reward, squash

GARBLED = "phone the yes credit Pixel of available fits 300 your within month over"


@pytest.fixture(scope="session")
def smol_fluency(bundled_model_dir: Path) -> RewardFunc:
    return get_fluency_reward(bundled_model_dir)


@pytest.fixture(scope="session")
def tiny_fluency(tiny_model_dir: Path) -> RewardFunc:
    return get_fluency_reward(tiny_model_dir, batch_size=3)


def test_squash_maps_center_to_half_and_is_monotonic() -> None:
    assert squash(DEFAULT_CENTER) == pytest.approx(0.5)
    values = [squash(x) for x in (-20.0, -8.0, -4.0, -2.0, -0.5, 0.0)]
    assert values == sorted(values)
    assert 0.0 <= values[0] < 0.01 and values[-1] < 1.0
    assert squash(-1e9) == 0.0


def test_fluency_reward_garbled_reply_scores_below_reference(
    smol_fluency: RewardFunc, purchase_example: TaskExample
) -> None:
    reference = purchase_example.references[0]
    garbled = "xq zzv blorp fnark qwe ptang " + GARBLED
    scores = smol_fluency(None, [reference, GARBLED, garbled], example=[purchase_example] * 3)
    assert all(0.0 <= s <= 1.0 for s in scores)
    assert scores[0] > 0.7  # a fluent, on-topic reply
    assert scores[1] < 0.2 and scores[2] < 0.2
    assert scores[0] > scores[1] and scores[0] > scores[2]


def test_fluency_reward_is_conditioned_on_the_prompt(
    smol_fluency: RewardFunc, purchase_example: TaskExample
) -> None:
    # The same reply is likelier after the prompt that states its facts than after none.
    reply = purchase_example.references[0]
    conditioned = smol_fluency(None, [reply], example=[purchase_example])[0]
    unconditioned = smol_fluency(None, [reply])[0]
    assert conditioned > unconditioned


def test_fluency_reward_batch_equals_one_by_one(
    tiny_fluency: RewardFunc, purchase_example: TaskExample, other_example: TaskExample
) -> None:
    # Shared prompts (GRPO groups, scored through one prompt cache) and single prompts
    # (joint passes), in one padded batch, must give the one-by-one scores.
    texts = [*purchase_example.references, GARBLED, "Sure.", "Shipping takes a week."]
    examples = [purchase_example] * 4 + [other_example] * 2
    batched = tiny_fluency(None, texts, example=examples)
    single = [tiny_fluency(None, [t], example=[e])[0] for t, e in zip(texts, examples, strict=True)]
    assert batched == pytest.approx(single, abs=1e-5)
    means = tiny_fluency.scorer.mean_logprobs([None, None], ["Yes, it fits.", "Yes, it fits."])
    assert means[0] == pytest.approx(means[1], abs=1e-5) and means[0] < 0


def test_fluency_reward_empty_reply_scores_zero_and_accepts_conversational_completions(
    tiny_fluency: RewardFunc, purchase_example: TaskExample
) -> None:
    completions = [
        [{"role": "assistant", "content": "  "}],
        [{"role": "assistant", "content": "Yes."}],
    ]
    scores = tiny_fluency(None, completions, example=[purchase_example] * 2)
    assert scores[0] == 0.0
    assert 0.0 < scores[1] < 1.0


def test_fluency_reward_uses_trl_prompts_without_example_column(
    tiny_fluency: RewardFunc, purchase_example: TaskExample
) -> None:
    # TRL passes conversational prompts: the same prompt as the example gives the same score.
    reply = purchase_example.references[1]
    from_example = tiny_fluency(None, [reply], example=[purchase_example])[0]
    from_prompts = tiny_fluency([purchase_example.messages()], [reply])[0]
    assert from_prompts == pytest.approx(from_example, abs=1e-6)
    assert not math.isnan(from_prompts)
