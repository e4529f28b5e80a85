"""Deeply nested JSON is refused at the door with 400 JSON_TOO_DEEP, on every JSON route.

Python's json parser recurses once per bracket; without the bound a body of 100k ``[`` made
webargs raise RecursionError and the API answer 500.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.api.extensions import BODY_ATTR
from tests.conftest import auth, mock_schema


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


def json_write_routes(app: Flask) -> list[tuple[str, str]]:
    """(method, url) of every route that takes a JSON body, path arguments filled with dummies."""
    out = []
    for rule in app.url_map.iter_rules():
        view = app.view_functions[rule.endpoint]
        if getattr(view, BODY_ATTR, "json") != "json":
            continue
        url = rule.rule
        for name in rule.arguments:
            url = re.sub(r"<(?:[a-z]+:)?" + name + ">", "1" if "int:" in url else "x_1", url)
        out.extend((method, url) for method in sorted((rule.methods or set()) & {"POST", "PUT", "PATCH", "DELETE"}))
    return out


def test_100k_brackets_are_400_on_every_json_route(app: Flask, client: FlaskClient, keys: dict[str, str]) -> None:
    routes = json_write_routes(app)
    assert ("POST", "/v1/jobs") in routes and ("POST", "/v1/client/preview") in routes
    body = "[" * 100_000
    checked = 0
    for method, url in routes:
        response = client.open(url, method=method, data=body, content_type="application/json",
                               headers=auth(keys["admin"]))
        if response.status_code == 403:  # a scope above `admin`: authorization comes before the body
            continue
        checked += 1
        assert response.status_code == 400, (method, url, response.get_data(as_text=True)[:300])
        error = response.get_json()["error"]
        assert error["code"] == "JSON_TOO_DEEP", (method, url, error)
        assert "64" in error["message"] and "max_json_depth" in error["message"]
    assert checked > len(routes) // 2


def test_deep_objects_are_refused_too(client: FlaskClient, keys: dict[str, str]) -> None:
    body = '{"a":' * 5000 + "1" + "}" * 5000
    response = client.post("/v1/jobs", data=body, content_type="application/json", headers=auth(keys["generate"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "JSON_TOO_DEEP"


def test_json_query_parameter_is_bounded(client: FlaskClient, keys: dict[str, str]) -> None:
    response = client.get(
        "/v1/estimate", query_string={"kind": "mock", "params": nested(3000)}, headers=auth(keys["read"])
    )
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["code"] == "JSON_TOO_DEEP" and error["details"][0]["field"] == "params"


def test_nesting_at_the_limit_is_parsed_normally(client: FlaskClient, keys: dict[str, str]) -> None:
    body: dict[str, Any] = {"kind": "mock", "params": {"schema": mock_schema(rows=5)}}
    ok = client.post("/v1/estimate", json=body, headers=auth(keys["read"]))
    assert ok.status_code == 200, ok.get_json()
    # 64 levels is fine (it fails validation, not the depth check); 65 is not
    at_limit = client.post("/v1/jobs", data=nested(64), content_type="application/json", headers=auth(keys["generate"]))
    assert at_limit.status_code == 400 and at_limit.get_json()["error"]["code"] != "JSON_TOO_DEEP"
    over = client.post("/v1/jobs", data=nested(65), content_type="application/json", headers=auth(keys["generate"]))
    assert over.get_json()["error"]["code"] == "JSON_TOO_DEEP"


def test_brackets_inside_strings_do_not_count(client: FlaskClient, keys: dict[str, str]) -> None:
    schema = mock_schema(rows=3)
    schema["tables"][0]["columns"][2]["categories"] = ["[" * 500, '\\"{' * 300, "b"]
    response = client.post("/v1/preview", json={"schema": schema, "rows": 3}, headers=auth(keys["read"]))
    assert response.status_code == 200, response.get_json()


class TestConfiguredLimit:
    @pytest.fixture
    def app_config(self, state_dir: Path) -> dict[str, Any]:
        return {"server": {"state_dir": str(state_dir), "max_json_depth": 8}}

    def test_limit_comes_from_config(self, client: FlaskClient, keys: dict[str, str]) -> None:
        response = client.post("/v1/jobs", data=nested(9), content_type="application/json",
                               headers=auth(keys["generate"]))
        error = response.get_json()["error"]
        assert error["code"] == "JSON_TOO_DEEP" and "8 levels" in error["message"]


@pytest.mark.parametrize(
    ("text", "limit", "deep"),
    [
        (b"[]", 1, False),
        (b"[[]]", 1, True),
        (b'["[[[[", {"k": "]]]]"}]', 2, False),
        (b'["\\"[[[[", 1]', 1, False),
        (b'"unterminated [[[[', 3, False),
        (b'[[[[ "unterminated', 3, True),
        (b'{"a": [{"b\\"": "[[[["}]}', 3, False),
        (b"[{[{}]}]", 3, True),
        (b"]]]]]][[[", 2, True),
        (b'{"a": [{"b": [1, 2]}, {"c": {}}]}', 4, False),
        (b'{"a": [{"b": [1, 2]}, {"c": {}}]}', 3, True),
    ],
)
def test_depth_scanner(text: bytes, limit: int, deep: bool) -> None:
    from appliance.api.jsondepth import exceeds

    assert exceeds(text, limit) is deep
