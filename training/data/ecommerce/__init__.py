"""The e-commerce task: seeded generator, JSONL splits, dataset card and loaders."""

from training.data.ecommerce.generator import (
    GENERATOR_VERSION,
    SplitSizes,
    generate,
    generate_split,
)
from training.data.ecommerce.io import (
    DEFAULT_DIR,
    dataset_card,
    load_split,
    split_path,
    to_dataset,
    write_split,
)
from training.data.ecommerce.scenarios import HARD_TAGS

__all__ = [
    "DEFAULT_DIR",
    "GENERATOR_VERSION",
    "HARD_TAGS",
    "SplitSizes",
    "dataset_card",
    "generate",
    "generate_split",
    "load_split",
    "split_path",
    "to_dataset",
    "write_split",
]
