"""Job tests use a short lease so crash recovery is quick to observe."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import LEASE_S, mock_schema, wait_for

__all__ = ["LEASE_S", "mock_schema", "wait_for"]


@pytest.fixture
def app_config(state_dir: Path) -> dict[str, Any]:
    return {
        "server": {"state_dir": str(state_dir)},
        "ratelimit": {"burst": 10_000, "rate_per_s": 10_000.0},
        "jobs": {"lease_s": LEASE_S, "max_attempts": 2},
    }
