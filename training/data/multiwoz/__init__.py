"""MultiWOZ data: loaders (official 2.2 layout, ConvLab-2 2.1 zips), venue DB, delexicalisation.

Both loaders yield `MultiWozTurn` records (one per system turn); see `docs/multiwoz.md`.
"""

from training.data.multiwoz.turn import DomainGoal, MultiWozTurn

__all__ = ["DomainGoal", "MultiWozTurn"]
