"""Shared fixtures: where ../shared/data is, and skips with a reason when it is not."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
SHARED_DATA = Path(os.environ.get("CUSTMINE_SHARED_DATA", REPO.parent / "shared" / "data"))


def shared_path(*parts) -> Path:
    """Path inside ../shared/data; skips the calling test with a reason when absent."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"real data not available: {p} is absent (clone with ../shared beside the repo)")
    return p


@pytest.fixture
def shared_data():
    """The ../shared/data folder (skips when absent)."""
    return shared_path()
