"""Per-tenant, per-route token buckets: 429 with Retry-After, remaining on every response."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.services import ratelimit
from tests.conftest import auth


@pytest.fixture
def app_config(state_dir: Path) -> dict[str, Any]:
    return {"server": {"state_dir": str(state_dir)}, "ratelimit": {"burst": 3, "rate_per_s": 0.01}}


def test_burst_then_429(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["read"])
    remaining = [
        int(client.get("/v1/auth/whoami", headers=headers).headers["X-Rate-Limit-Remaining"]) for _ in range(3)
    ]
    assert remaining == [2, 1, 0]
    response = client.get("/v1/auth/whoami", headers=headers)
    assert response.status_code == 429
    assert response.get_json()["error"]["code"] == "RATE_LIMITED"
    assert int(response.headers["Retry-After"]) >= 1
    assert response.headers["X-Rate-Limit-Remaining"] == "0"
    # another route has its own bucket
    assert client.get("/v1/tenants/current", headers=headers).status_code == 200


def test_tenants_do_not_share_buckets(client: FlaskClient, db: Any, keys: dict[str, str]) -> None:
    from appliance.services import identity

    other = identity.create_key(db, identity.create_tenant(db, "globex")["id"], ["read"])["api_key"]
    statuses = [client.get("/v1/auth/whoami", headers=auth(keys["read"])).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]  # acme spent its burst of 3 and is limited
    assert client.get("/v1/auth/whoami", headers=auth(other)).status_code == 200
    assert client.get("/v1/auth/whoami", headers=auth(keys["read"])).status_code == 429  # and still is


def test_bucket_refills_over_time(tmp_path: Path) -> None:
    decisions = [ratelimit.take(tmp_path, "b", 1.0, 2, now=100.0) for _ in range(3)]
    assert [d.allowed for d in decisions] == [True, True, False]
    assert decisions[2].retry_after == 1
    assert ratelimit.take(tmp_path, "b", 1.0, 2, now=101.5).allowed


def test_unauthenticated_callers_are_limited_by_address(client: FlaskClient) -> None:
    statuses = [client.get("/v1/auth/whoami", headers=auth("sl_live_guess")).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]
