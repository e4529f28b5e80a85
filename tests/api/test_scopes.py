"""Every route × every scope: the right scopes pass, the others get 403, no credentials get 401."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.api.extensions import SCOPE_ATTR
from appliance.services import identity
from appliance.services.principal import effective_scopes
from tests.conftest import auth

SCOPES = ("read", "generate", "admin", "operator")


def protected_routes(app: Flask) -> list[tuple[str, str, str]]:
    routes = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        needed = getattr(view, SCOPE_ATTR, None)
        if needed is None:
            continue
        path = re.sub(r"<[^>]+>", "xyz_00000000000000000000000000", rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            routes.append((method, path, needed))
    return routes


def call(client: FlaskClient, method: str, path: str, headers: dict[str, str]) -> Any:
    return client.open(path, method=method, json={} if method in {"POST", "PUT", "PATCH"} else None, headers=headers)


def test_every_route_declares_scope_and_the_matrix_holds(
    app: Flask, client: FlaskClient, keys: dict[str, str], db: Any, tenant: dict[str, Any]
) -> None:
    keys = {**keys, "operator": identity.create_key(db, tenant["id"], ["operator"], allow_operator=True)["api_key"]}
    routes = protected_routes(app)
    classes = {needed for _, _, needed in routes}
    assert {"read", "admin", "operator"} <= classes
    for method, path, needed in routes:
        assert call(client, method, path, {}).status_code == 401, (method, path)
        for scope in SCOPES:
            status = call(client, method, path, auth(keys[scope])).status_code
            if needed in effective_scopes([scope]):
                assert status not in (401, 403), (method, path, scope, status)
            else:
                assert status == 403, (method, path, scope, status)


@pytest.mark.parametrize("path", ["/healthz", "/livez", "/metrics", "/v1/errors", "/openapi.json"])
def test_public_routes_need_no_credentials(client: FlaskClient, path: str) -> None:
    assert client.get(path).status_code == 200


def test_client_aliases_share_handlers(app: Flask, client: FlaskClient, keys: dict[str, str]) -> None:
    for rule in list(app.url_map.iter_rules()):
        if rule.rule.startswith("/v1/") and not rule.rule.startswith("/v1/client/"):
            alias = "/v1/client/" + rule.rule[len("/v1/") :]
            assert any(r.rule == alias and r.endpoint == rule.endpoint for r in app.url_map.iter_rules()), alias
    direct = client.get("/v1/auth/whoami", headers=auth(keys["read"])).get_json()
    aliased = client.get("/v1/client/auth/whoami", headers=auth(keys["read"])).get_json()
    assert direct == aliased
    assert client.get("/v1/client/keys", headers=auth(keys["read"])).status_code == 403
