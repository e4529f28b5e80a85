"""Routes listed under [deprecations] carry Deprecation, Sunset and X-Sunset headers."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import auth


@pytest.fixture
def app_config(state_dir: Path) -> dict[str, Any]:
    return {"server": {"state_dir": str(state_dir)}, "deprecations": {"/v1/client/tenants": "2027-06-30"}}


def test_deprecated_prefix_gets_headers(client: FlaskClient, keys: dict[str, str]) -> None:
    old = client.get("/v1/client/tenants/current", headers=auth(keys["read"]))
    assert old.headers["Deprecation"] == "true"
    assert old.headers["Sunset"] == "Wed, 30 Jun 2027 00:00:00 GMT"
    assert old.headers["X-Sunset"] == "2027-06-30"
    assert "Deprecation" not in client.get("/v1/tenants/current", headers=auth(keys["read"])).headers
