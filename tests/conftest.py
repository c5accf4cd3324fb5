from __future__ import annotations

from pathlib import Path

import pytest
from redis_server import redis_url  # noqa: F401 - the real redis-server fixture

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CLOUGH = ROOT.parent / "shared" / "data" / "clough-stevenson"


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def clough_dir() -> Path:
    if not (CLOUGH / "file_information.csv").exists():
        pytest.skip(f"Clough & Stevenson corpus not found at {CLOUGH}")
    return CLOUGH
