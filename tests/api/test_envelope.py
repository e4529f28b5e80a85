"""Every class of error comes back in the one envelope, as JSON, with a correlation id."""

from __future__ import annotations

import io
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import auth


def assert_envelope(response: Any, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status
    assert response.mimetype == "application/json"
    body = response.get_json()
    error = body["error"]
    assert error["code"] == code
    assert error["status"] == status
    assert error["message"] and error["hint"]
    assert error["correlation_id"] == response.headers["X-Correlation-Id"]
    assert isinstance(error["details"], list)
    return error


def test_unknown_route_is_json_404(client: FlaskClient) -> None:
    assert_envelope(client.get("/v1/nothing-here"), 404, "ROUTE_NOT_FOUND")


def test_wrong_method_is_json_405_with_allow(client: FlaskClient) -> None:
    response = client.delete("/healthz")
    assert_envelope(response, 405, "METHOD_NOT_ALLOWED")
    assert "GET" in response.headers["Allow"]


def test_malformed_json_is_400(client: FlaskClient) -> None:
    error = assert_envelope(
        client.post("/v1/auth/login", data="{not json", content_type="application/json"), 400, "MALFORMED_JSON"
    )
    assert error["details"][0]["field"] == "body"


def test_wrong_types_name_the_field(client: FlaskClient, keys: dict[str, str]) -> None:
    response = client.post("/v1/keys", json={"scopes": "admin", "name": 5}, headers=auth(keys["admin"]))
    error = assert_envelope(response, 400, "VALIDATION_FAILED")
    assert {d["field"] for d in error["details"]} == {"scopes", "name"}


def test_unknown_fields_are_rejected(client: FlaskClient, keys: dict[str, str]) -> None:
    response = client.post("/v1/keys", json={"scopes": ["read"], "colour": "red"}, headers=auth(keys["admin"]))
    error = assert_envelope(response, 400, "VALIDATION_FAILED")
    assert error["details"] == [{"field": "colour", "message": "Unknown field."}]


def test_bad_query_parameter_is_400(client: FlaskClient, keys: dict[str, str]) -> None:
    error = assert_envelope(client.get("/v1/keys?limit=1000", headers=auth(keys["admin"])), 400, "VALIDATION_FAILED")
    assert error["details"][0]["field"] == "limit"


def test_oversize_body_is_413(client: FlaskClient, keys: dict[str, str]) -> None:
    big = '{"name": "' + "x" * 2_000_000 + '"}'
    response = client.post("/v1/keys", data=big, content_type="application/json", headers=auth(keys["admin"]))
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "application/xml"])
def test_wrong_content_type_is_415(client: FlaskClient, keys: dict[str, str], content_type: str) -> None:
    response = client.post("/v1/keys", data="scopes=read", content_type=content_type, headers=auth(keys["admin"]))
    assert_envelope(response, 415, "UNSUPPORTED_MEDIA_TYPE")


def test_missing_credentials_is_401(client: FlaskClient) -> None:
    assert_envelope(client.get("/v1/auth/whoami"), 401, "UNAUTHENTICATED")


def test_unknown_key_is_401(client: FlaskClient) -> None:
    assert_envelope(client.get("/v1/auth/whoami", headers=auth("sl_live_nope")), 401, "UNAUTHENTICATED")


def test_insufficient_scope_is_403(client: FlaskClient, keys: dict[str, str]) -> None:
    error = assert_envelope(client.get("/v1/keys", headers=auth(keys["read"])), 403, "INSUFFICIENT_SCOPE")
    assert "admin" in error["message"]


def test_unknown_resource_is_404(client: FlaskClient, keys: dict[str, str]) -> None:
    assert_envelope(client.get("/v1/keys/key_nothing", headers=auth(keys["admin"])), 404, "NOT_FOUND")


def test_unexpected_failure_is_500_without_internals(app: Flask, client: FlaskClient) -> None:
    def explode() -> None:
        raise RuntimeError("secret internals")

    explode._sealforge_scope = None  # type: ignore[attr-defined]
    app.add_url_rule("/explode", "explode", explode)
    error = assert_envelope(client.get("/explode"), 500, "INTERNAL")
    assert "secret" not in error["message"]


def test_correlation_id_is_echoed_when_sane(client: FlaskClient) -> None:
    assert client.get("/healthz", headers={"X-Correlation-Id": "abc-123"}).headers["X-Correlation-Id"] == "abc-123"
    generated = client.get("/healthz", headers={"X-Correlation-Id": "bad id <script>"}).headers["X-Correlation-Id"]
    assert generated.startswith("cor_")


def test_error_catalogue_lists_codes(client: FlaskClient) -> None:
    body = client.get("/v1/errors").get_json()
    codes = {e["code"]: e for e in body["data"]}
    assert body["count"] == len(body["data"])
    for code in ("VALIDATION_FAILED", "RATE_LIMITED", "CREDIT_LIMIT_EXCEEDED", "IDEMPOTENCY_KEY_REUSED"):
        assert codes[code]["hint"]
    assert codes["RATE_LIMITED"]["status"] == 429


def test_oversize_chunked_body_is_413(client: FlaskClient, keys: dict[str, str]) -> None:
    """A chunked body has no Content-Length to check up front; reading stops at the limit instead."""
    big = ('{"name": "' + "x" * 2_000_000 + '"}').encode()
    response = client.post(
        "/v1/keys",
        input_stream=io.BytesIO(big),
        content_type="application/json",
        headers={**auth(keys["admin"]), "Transfer-Encoding": "chunked"},
        environ_overrides={"wsgi.input_terminated": True},  # what gunicorn sets for a chunked body
    )
    assert_envelope(response, 413, "PAYLOAD_TOO_LARGE")
