"""Another tenant's resources answer 404, never 403, and never leak in lists."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from appliance.services import identity
from tests.conftest import auth


def test_other_tenants_key_is_404(client: FlaskClient, db: Any, keys: dict[str, str]) -> None:
    other = identity.create_tenant(db, "globex")
    other_admin = identity.create_key(db, other["id"], ["admin"])
    mine = client.post("/v1/keys", json={"scopes": ["read"]}, headers=auth(keys["admin"])).get_json()

    as_other = auth(other_admin["api_key"])
    for method in ("GET", "DELETE"):
        response = client.open(f"/v1/keys/{mine['id']}", method=method, headers=as_other)
        assert response.status_code == 404
        assert response.get_json()["error"]["code"] == "NOT_FOUND"
    listed = client.get("/v1/keys", headers=as_other).get_json()
    assert mine["id"] not in {k["id"] for k in listed["data"]}
    assert client.get("/v1/auth/whoami", headers=auth(mine["api_key"])).status_code == 200


def test_current_tenant_is_the_callers(
    client: FlaskClient, db: Any, keys: dict[str, str], tenant: dict[str, Any]
) -> None:
    body = client.get("/v1/tenants/current", headers=auth(keys["read"])).get_json()
    assert body == {
        "id": tenant["id"], "name": "acme", "credits": 1000, "tier": "standard", "created_at": tenant["created_at"]
    }
