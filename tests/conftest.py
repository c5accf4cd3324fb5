from __future__ import annotations

from pathlib import Path

import pytest
from redis_server import redis_url  # noqa: F401 - the real redis-server fixture

from dedup import hash as dhash
from dedup import shingle

ROOT = Path(__file__).resolve().parents[1]
SEEDS = ROOT / "seeds"
CLOUGH = ROOT.parent / "shared" / "data" / "clough-stevenson"


@pytest.fixture(params=["compiled", "numpy"])
def hashing_path(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a test on the compiled core (dedup/_core.c) and again on the NumPy path."""
    if request.param == "numpy":
        monkeypatch.setattr(shingle, "_core", None)
        monkeypatch.setattr(dhash, "_core", None)
    elif shingle._core is None or dhash._core is None:
        pytest.fail("dedup._core is not built: `pip install -e .` needs a C compiler")
    return str(request.param)


@pytest.fixture(scope="session")
def seeds_dir() -> Path:
    return SEEDS


@pytest.fixture(scope="session")
def clough_dir() -> Path:
    if not (CLOUGH / "file_information.csv").exists():
        pytest.skip(f"Clough & Stevenson corpus not found at {CLOUGH}")
    return CLOUGH
