from __future__ import annotations

from pathlib import Path

import pytest

from training.data.schema import TaskExample
from training.rewards.linguistic.concision import (
    concision_reward,
    concision_score,
    get_concision_reward,
    repeated_ngram_share,
)


def test_concision_reward_repetitive_reply_scores_below_reference(
    purchase_example: TaskExample,
) -> None:
    reference = purchase_example.references[0]
    looping = "Yes you can buy it. " * 6
    stutter = "Yes yes yes yes yes yes yes yes"
    scores = concision_reward(None, [reference, looping, stutter], example=[purchase_example] * 3)
    assert scores[0] == 1.0  # within budget, no repeated n-grams (amounts stay whole)
    assert scores[1] < 0.4 and scores[2] < 0.2


def test_concision_reward_penalises_length_over_budget() -> None:
    reward = get_concision_reward(budget=10)
    short = "One two three four five six seven eight nine ten."
    double = " ".join(f"w{i}" for i in range(20))
    triple = " ".join(f"w{i}" for i in range(30))
    assert reward(None, [short, double, triple]) == pytest.approx([1.0, 0.5, 1 / 3])


def test_concision_score_range_and_empty_reply() -> None:
    assert concision_score("") == 0.0
    assert concision_score("   ") == 0.0
    for text in ["Hi.", "a b a b a b a b", "x " * 500, "Your $1,300.00 credit covers $300.00."]:
        assert 0.0 <= concision_score(text) <= 1.0


def test_repeated_ngram_share_ignores_case_and_punctuation() -> None:
    assert repeated_ngram_share("Yes, you can. yes you CAN!", 3) == pytest.approx(1 - 3 / 4)
    assert repeated_ngram_share("just two", 3) == 0.0
    assert repeated_ngram_share("$300.00 today and $1,300.00 later", 2) == 0.0


def test_concision_reward_counts_tokens_when_asked(bundled_model_dir: Path) -> None:
    text = "Your instalment plan is approved."  # a handful of words, more tokens
    words = get_concision_reward(budget=5, unit="words")(None, [text])[0]
    tokens = get_concision_reward(budget=5, unit="tokens", tokenizer_path=str(bundled_model_dir))
    assert words == 1.0
    assert tokens(None, [text])[0] < 1.0


@pytest.mark.parametrize(
    "kwargs", [{"budget": 0}, {"ngram_sizes": ()}, {"ngram_sizes": (0,)}, {"unit": "chars"}]
)
def test_get_concision_reward_rejects_bad_settings(kwargs: dict) -> None:
    with pytest.raises(ValueError):
        get_concision_reward(**kwargs)
