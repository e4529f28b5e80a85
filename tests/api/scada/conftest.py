"""One state dir, app and real `sim` worker per module, for the live-run tests that only need a
worker to serve their runs.

Starting a `sim` worker is the dearest part of most live-run tests (the process imports the
simulators, SciPy and asyncua before it takes a job), and one worker serves several runs at once
(tests/api/scada/test_live_concurrency.py shows it). Tests that share the worker each get a tenant
of their own (`sim_keys`), so what they list, count and pay for is theirs alone, and each starts,
watches and stops its own runs on its own ports. Tests that need the API or the worker configured
otherwise, a fresh database, or no worker at all keep the per-test fixtures of tests/conftest.py.
"""

from __future__ import annotations

import itertools
import sqlite3
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import LEASE_S, forget_worker_log, spawn_worker, stop_worker

_tenants = itertools.count(1)


@dataclass
class SimAppliance:
    """The module's app (through its test client), its database and its state dir."""

    client: FlaskClient
    db: sqlite3.Connection
    state_dir: Path


@pytest.fixture(scope="module")
def sim_appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SimAppliance]:
    """The app over a state dir of the module's and a `sim` worker on it, with the lease and the
    attempts `start_worker` gives its workers; stopped when the module's last test is done."""
    from appliance.api import create_app
    from appliance.cli.release import release
    from appliance.store.open import open_db

    root = tmp_path_factory.mktemp("sim-appliance")
    state_dir = root / "var"
    state_dir.mkdir()
    app = create_app({"server": {"state_dir": str(state_dir)}, "ratelimit": {"burst": 10_000, "rate_per_s": 10_000.0}})
    db = open_db(state_dir)
    log = root / "worker-sim.log"
    worker = spawn_worker(
        state_dir, log, "sim", {"SEALFORGE_JOBS_LEASE_S": str(LEASE_S), "SEALFORGE_JOBS_MAX_ATTEMPTS": "2"}
    )
    try:
        yield SimAppliance(app.test_client(), db, state_dir)
    finally:
        stop_worker(worker)
        forget_worker_log(log)
        release(state_dir)


@pytest.fixture
def sim_tenant(sim_appliance: SimAppliance) -> dict[str, Any]:
    """A new tenant on the module's appliance, with credits, for this test alone."""
    from appliance.services import identity

    return identity.create_tenant(sim_appliance.db, f"tenant-{next(_tenants)}", credits=1000)


@pytest.fixture
def sim_keys(sim_appliance: SimAppliance, sim_tenant: dict[str, Any]) -> dict[str, str]:
    """Plaintext API keys of this test's tenant on the module's appliance, one per scope."""
    from appliance.services import identity

    return {
        scope: identity.create_key(sim_appliance.db, sim_tenant["id"], [scope])["api_key"]
        for scope in ("read", "generate", "admin")
    }
