"""Fixtures for the MultiWOZ tests: the hand-written 2.2 fixture release and its venue DB."""

from __future__ import annotations

from pathlib import Path

import pytest

from training.data.multiwoz.db import VenueDB, load_db
from training.data.multiwoz.paths import REPO_ROOT

FIXTURE_ROOT = REPO_ROOT / "tests" / "fixtures" / "multiwoz22"
SHARED_21 = REPO_ROOT.parent / "shared" / "data" / "multiwoz21-convlab2"
SHARED_DB = REPO_ROOT.parent / "shared" / "data" / "multiwoz22" / "db"


@pytest.fixture(scope="session")
def fixture_release() -> Path:
    return FIXTURE_ROOT / "MultiWOZ_2.2"


@pytest.fixture(scope="session")
def fixture_db() -> VenueDB:
    return load_db(str(FIXTURE_ROOT / "db"))


@pytest.fixture(scope="session")
def real_test_turns() -> list:
    """The real MultiWOZ 2.1 test split (ConvLab-2 copy), when this machine has it."""
    if not (SHARED_21 / "test.json.zip").exists() or not SHARED_DB.exists():
        pytest.skip("MultiWOZ 2.1 ConvLab-2 copy not available")
    from training.data.multiwoz.convlab21 import iter_turns

    return list(iter_turns("test", SHARED_21, db=load_db(str(SHARED_DB))))
