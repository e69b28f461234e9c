"""`ReplySFTTrainer`: TRL's `SFTTrainer` with the loss computed where it pays on a CPU.

Two changes to the loss, nothing else (data, collator, PEFT, checkpoints stay TRL's):

* **Only reply positions go through the output layer.** TRL's fused head scores every
  position on devices without Triton (CPU included), and with a ~120-token prompt and a
  ~30-token reply most of that work is thrown away: the vocabulary projection (49k x 576
  for SmolLM2) is ~20% of the model's FLOPs per position. Here the backbone runs once and
  only the positions whose next token is a label are projected.
* **The stance is weighted.** References state the decision in their first words
  ("Yes, ...", "Unfortunately, ..."), so the first `head_tokens` reply tokens get weight
  `head_weight`; without it the approve/decline token is ~3% of a reply's loss.
"""

from __future__ import annotations

from typing import Any

import torch
import torch.nn.functional as F
from trl import SFTTrainer


def reply_token_weights(
    label_mask: torch.Tensor, head_tokens: int, head_weight: float
) -> torch.Tensor:
    """(B, T) bool mask of label positions -> (B, T) weights: `head_weight` on each row's
    first `head_tokens` label positions, 1 on the others, 0 where there is no label."""
    rank = label_mask.long().cumsum(dim=1)  # 1 for the first reply token, 2 for the next...
    head = (rank <= head_tokens) & label_mask
    weights = label_mask.float()
    return torch.where(head, torch.full_like(weights, head_weight), weights)


def reply_nll(
    hidden: torch.Tensor, labels: torch.Tensor, lm_head: torch.nn.Module
) -> tuple[torch.Tensor, torch.Tensor]:
    """Per-token NLL of the next-token labels, projecting only labelled positions.

    Args:
        hidden: (B, T, H) final hidden states.
        labels: (B, T) token ids, -100 where there is no target.
        lm_head: the output projection.

    Returns:
        (B, T-1) NLL (0 where unlabelled) and the (B, T-1) label mask.
    """
    targets = labels[:, 1:]  # position t predicts token t+1
    mask = targets != -100  # (B, T-1)
    selected = hidden[:, :-1][mask]  # (N, H): reply positions only
    logits = lm_head(selected).float()  # (N, V)
    nll = F.cross_entropy(logits, targets[mask], reduction="none")  # (N,)
    return nll.new_zeros(mask.shape).masked_scatter(mask, nll), mask


class ReplySFTTrainer(SFTTrainer):
    """SFT on replies with a reply-only output projection and a weighted stance.

    Args:
        head_tokens: reply tokens counted as "the stance" (weighted), e.g. 4.
        head_weight: their loss weight (1 = plain SFT).
        **kwargs: `SFTTrainer` arguments.
    """

    def __init__(self, *args: Any, head_tokens: int = 4, head_weight: float = 2.0, **kwargs: Any):
        if head_tokens < 0 or head_weight <= 0:
            raise ValueError("head_tokens must be >= 0 and head_weight > 0")
        super().__init__(*args, **kwargs)
        self.head_tokens = head_tokens
        self.head_weight = head_weight

    def compute_loss(  # type: ignore[override]
        self,
        model: Any,
        inputs: dict[str, torch.Tensor],
        return_outputs: bool = False,
        num_items_in_batch: Any = None,
    ) -> Any:
        causal = self.accelerator.unwrap_model(model)
        if hasattr(causal, "get_base_model"):  # PEFT: LoRA layers live inside the base model
            causal = causal.get_base_model()
        backbone = causal.get_decoder() if hasattr(causal, "get_decoder") else causal.model
        hidden = backbone(
            input_ids=inputs["input_ids"],
            attention_mask=inputs.get("attention_mask"),
            use_cache=False,
        ).last_hidden_state  # (B, T, H)
        nll, mask = reply_nll(hidden, inputs["labels"], causal.get_output_embeddings())
        weights = reply_token_weights(mask, self.head_tokens, self.head_weight)
        loss = (nll * weights).sum() / weights.sum().clamp(min=1.0)
        if self.model.training:
            with torch.no_grad():
                n = mask.sum().clamp(min=1)
                self._metrics["train"]["reply_nll"].append((nll.sum() / n).item())
        return (loss, {"nll": nll}) if return_outputs else loss
