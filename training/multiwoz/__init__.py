"""MultiWOZ benchmark: evaluator (BLEU, Inform, Success), reasoning rewards, prompts, datasets."""
