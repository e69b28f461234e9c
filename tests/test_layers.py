"""The layer contracts of docs/architecture.md hold, and would catch a forbidden import.

The contracts live in pyproject.toml (`[tool.importlinter]`) and are checked with
import-linter, which builds the import graph of the whole tree (a few seconds).
"""

from __future__ import annotations

import uuid
from pathlib import Path

from importlinter.cli import lint_imports

ROOT = Path(__file__).resolve().parents[1]


def _lint() -> int:
    return lint_imports(config_filename=str(ROOT / "pyproject.toml"), no_cache=True)


def test_layer_contracts_hold() -> None:
    assert _lint() == 0  # the broken contract and its import chain are printed otherwise


def test_layer_contracts_fail_on_a_forbidden_import() -> None:
    # A module in the pure domain that reaches up into the services: exactly what the
    # contracts exist to stop. Written into the tree for the length of one lint run.
    probe = ROOT / "app" / "domain" / f"_probe_{uuid.uuid4().hex[:8]}.py"
    probe.write_text("import app.services.chat  # noqa: F401\n")
    try:
        assert _lint() == 1
    finally:
        probe.unlink()
    assert _lint() == 0
