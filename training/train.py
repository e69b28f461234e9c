"""Script entry point of the training stages, for `accelerate launch` (and plain python).

    python -m training.train more --config training/configs/more.yaml
    accelerate launch --config_file training/configs/accelerate/cpu_2proc.yaml \
        training/train.py more --config training/configs/more.yaml

Same commands and options as `more train ...` (see docs/training.md).
"""

from __future__ import annotations

import sys
from pathlib import Path

if __name__ == "__main__":
    # `accelerate launch training/train.py` runs this file as a script: make the repo importable.
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from training.more.cli import app

    app()
