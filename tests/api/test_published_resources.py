"""Resource paths and shapes as the published pages show them (issue #15): trailing slashes,
/billing and the /usage history, seals with `contract_hash`, artifacts with `artifact_type` and
`content_hash`, the 429 reset hint, and the OpenAPI declarations that go with them."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.api import openapi_document
from appliance.services import artifacts, credits
from tests.conftest import InlineJobs, auth, mock_schema

METHODS = {"get", "post", "put", "patch", "delete"}


@pytest.fixture
def finished(client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs) -> dict[str, Any]:
    """One succeeded mock job (CSV rows, so one `rows` artifact and a seal)."""
    headers = auth(keys["generate"])
    body = {"kind": "mock", "params": {"schema": mock_schema(3000), "format": "csv"}, "seed": 7}
    job = client.post("/v1/client/jobs", json=body, headers=headers).get_json()
    return dict(inline_jobs.finish(client, headers, job["id"]))


def test_trailing_slash_is_the_same_route(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["generate"])
    body = {"schema": mock_schema(5), "rows": 3, "seed": 1}
    plain = client.post("/v1/client/preview", json=body, headers=headers)
    slashed = client.post("/v1/client/preview/", json=body, headers=headers)
    assert plain.status_code == slashed.status_code == 200  # answered in place, not redirected
    assert slashed.get_json() == plain.get_json()
    made = client.post("/v1/client/mock-data/", json={"schema": mock_schema(5), "format": "csv"}, headers=headers)
    assert made.status_code in (200, 201), made.get_json()
    assert made.get_json()["rows"] == 5
    assert client.get("/v1/jobs/", headers=headers).get_json()["count"] == 0
    assert client.get("/healthz/").status_code == 200
    # a slash does not make a path match that did not, and two slashes are not one
    assert client.get("/v1/client/nothing/", headers=headers).get_json()["error"]["code"] == "ROUTE_NOT_FOUND"
    bad = client.post("/v1/preview/", json={"rows": 3}, headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "schema"


def test_every_spec_path_answers_under_the_client_prefix(app: Flask) -> None:
    """What the spec's `x-path-aliases` promises holds for every /v1/ operation: its /v1/client/
    form, and the same with a trailing slash, reach the same view."""
    import json
    import re

    spec = json.loads(openapi_document(app))
    assert spec["x-path-aliases"][0]["pattern"] == "/v1/client/{path}"
    urls = app.url_map.bind("localhost")
    paths = [p for p in spec["paths"] if p.startswith("/v1/")]
    assert len(paths) > 20
    for path in paths:
        concrete = re.sub(r"{[^}]+}", "x1", path)
        alias = "/v1/client/" + concrete[len("/v1/") :]
        for method in set(spec["paths"][path]) & METHODS:
            native = urls.match(concrete, method=method.upper())[0]
            assert urls.match(alias, method=method.upper())[0] == native, (path, method)
            assert urls.match(alias + "/", method=method.upper())[0] == native, (path, method)


def test_artifacts_carry_type_and_content_hash(client: FlaskClient, keys: dict[str, str], finished: Any) -> None:
    headers = auth(keys["read"])
    listed = client.get("/v1/client/artifacts", query_string={"job_id": finished["id"]}, headers=headers).get_json()
    assert listed["count"] >= 1
    for item in listed["data"]:
        assert item["content_hash"] == item["blake3"] and len(item["content_hash"]) == 64
        assert item["artifact_type"] in artifacts.ARTIFACT_TYPES
    rows = [a for a in listed["data"] if a["name"].endswith(".csv")]
    assert [a["artifact_type"] for a in rows] == ["rows"]
    one = client.get(f"/v1/client/artifacts/{rows[0]['id']}/", headers=headers).get_json()
    assert one["artifact_type"] == "rows" and one["content_hash"] == rows[0]["blake3"]


@pytest.mark.parametrize(
    ("name", "media_type", "expected"),
    [
        ("readings.parquet", "application/vnd.apache.parquet", "rows"),
        ("readings.csv", "text/csv", "rows"),
        ("model.pkl", "application/octet-stream", "model"),
        ("plan.json", "application/json", "plan"),
        ("manifest.json", "application/json", "manifest"),
        ("schema.json", "application/json", "schema"),
        ("register-map.json", "application/json", "schema"),
        ("report.json", "application/json", "report"),
        ("verify-report.json", "application/json", "report"),
        ("evidence.zip", "application/zip", "bundle"),
        ("blob.bin", "application/octet-stream", "other"),
    ],
)
def test_artifact_type_rules(name: str, media_type: str, expected: str) -> None:
    assert artifacts.artifact_type(name, media_type) == expected


def test_seals_carry_contract_hash_and_created_at(client: FlaskClient, keys: dict[str, str], finished: Any) -> None:
    headers = auth(keys["read"])
    listed = client.get("/v1/client/seals/", query_string={"job_id": finished["id"]}, headers=headers).get_json()
    assert listed["count"] == 1
    seal = listed["data"][0]
    assert seal["contract_hash"] == finished["contract_hash"]
    assert datetime.fromisoformat(seal["created_at"].replace("Z", "+00:00")).tzinfo is not None
    detail = client.get(f"/v1/client/seals/{seal['id']}", headers=headers).get_json()
    assert detail["contract_hash"] == finished["contract_hash"] == seal["contract_hash"]
    assert detail["created_at"] == seal["created_at"]
    bad = client.get("/v1/seals", query_string={"limit": 0}, headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "limit"


def test_billing_summary(client: FlaskClient, keys: dict[str, str], finished: Any) -> None:
    headers = auth(keys["read"])
    summary = client.get("/v1/client/billing", headers=headers).get_json()
    assert summary == client.get("/v1/billing/", headers=headers).get_json()
    balance = client.get("/v1/billing/balance", headers=headers).get_json()["credits"]
    assert summary["credit_balance"] == balance
    assert summary["plan"] in ("free", "standard")
    start, end = credits.billing_period(datetime.now(UTC))
    assert summary["period"]["basis"] == "calendar_month_utc"
    assert summary["period"]["start"].startswith(start.strftime("%Y-%m-01T00:00:00"))
    assert summary["period"]["end"].startswith(end.strftime("%Y-%m-01T00:00:00"))
    assert summary["period_usage"] == {"credits": 0.003, "jobs": 1, "rows": 3000}


def test_billing_period_is_the_calendar_month() -> None:
    start, end = credits.billing_period(datetime(2026, 12, 31, 23, 59, tzinfo=UTC))
    assert (start, end) == (datetime(2026, 12, 1, tzinfo=UTC), datetime(2027, 1, 1, tzinfo=UTC))
    start, end = credits.billing_period(datetime(2027, 2, 1, 0, 0, tzinfo=UTC))
    assert (start, end) == (datetime(2027, 2, 1, tzinfo=UTC), datetime(2027, 3, 1, tzinfo=UTC))


def test_usage_history_pages(client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs, finished: Any) -> None:
    headers = auth(keys["generate"])
    second = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(2000)}}, headers=headers)
    inline_jobs.finish(client, headers, second.get_json()["id"])
    first_page = client.get("/v1/client/usage", query_string={"limit": 1}, headers=headers).get_json()
    assert first_page["count"] == 1 and first_page["has_more"] is True
    charge = first_page["data"][0]
    assert charge["job_id"] == finished["id"] and charge["kind"] == "mock" and charge["rows"] == 3000
    assert charge["credits"] == 0.003 and charge["finished_at"] == finished["finished_at"]
    assert first_page["by_kind"] == [{"kind": "mock", "jobs": 2, "credits": 0.005}]  # totals, not the page's
    rest = client.get(
        "/v1/usage/", query_string={"limit": 1, "after": first_page["next_after"]}, headers=headers
    ).get_json()
    assert [c["job_id"] for c in rest["data"]] == [second.get_json()["id"]] and rest["has_more"] is False
    for query, field in (({"limit": 500}, "limit"), ({"limit": "x"}, "limit"), ({"after": "x" * 65}, "after")):
        bad = client.get("/v1/usage", query_string=query, headers=headers)
        assert bad.status_code == 400, query
        assert bad.get_json()["error"]["details"][0]["field"] == field


def test_usage_and_billing_are_the_tenants_own(
    client: FlaskClient, db: Any, keys: dict[str, str], finished: Any
) -> None:
    from appliance.services import identity

    other = identity.create_key(db, identity.create_tenant(db, "globex")["id"], ["read"])["api_key"]
    assert client.get("/v1/usage", headers=auth(other)).get_json()["data"] == []
    assert client.get("/v1/billing", headers=auth(other)).get_json()["period_usage"]["jobs"] == 0
    assert client.get("/v1/billing").status_code == 401


@pytest.fixture
def tight_limits(app_config: dict[str, Any]) -> dict[str, Any]:
    app_config["ratelimit"] = {"burst": 2, "rate_per_s": 0.1}
    return app_config


def test_429_carries_the_reset_hint(tight_limits: Any, client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["read"])
    remaining = [client.get("/v1/billing", headers=headers).headers["X-Rate-Limit-Remaining"] for _ in range(2)]
    assert remaining == ["1", "0"]
    limited = client.get("/v1/billing", headers=headers)
    assert limited.status_code == 429
    retry, reset = int(limited.headers["Retry-After"]), int(limited.headers["X-RateLimit-Reset"])
    assert 1 <= retry <= reset <= 20  # one token back in 10 s at 0.1/s, the burst of 2 in 20 s
    details = {d["field"]: d["message"] for d in limited.get_json()["error"]["details"]}
    assert details == {"retry_after_s": str(retry), "reset_after_s": str(reset)}


def test_spec_declares_headers_scopes_and_limits(app: Flask) -> None:
    import json

    spec = json.loads(openapi_document(app))
    submit = spec["paths"]["/v1/jobs"]["post"]
    assert {"$ref": "#/components/parameters/Idempotency-Key"} in submit["parameters"]
    assert {"$ref": "#/components/parameters/X-Idempotency-Key"} in submit["parameters"]
    assert set(submit["responses"]["202"]["headers"]) >= {"X-Job-Id", "X-Rate-Limit-Remaining", "Retry-After"}
    assert submit["security"] == [{"ApiKey": ["generate"]}, {"Bearer": ["generate"]}]
    assert spec["paths"]["/v1/billing"]["get"]["security"] == [{"ApiKey": ["read"]}, {"Bearer": ["read"]}]
    assert spec["paths"]["/v1/billing/topup"]["post"]["security"][0] == {"ApiKey": ["operator"]}
    limited = spec["components"]["responses"]["TOO_MANY_REQUESTS"]
    assert set(limited["headers"]) >= {"Retry-After", "X-RateLimit-Reset", "X-Rate-Limit-Remaining"}
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in METHODS:
                continue  # path-level `parameters`
            assert operation["responses"]["429"] == {"$ref": "#/components/responses/TOO_MANY_REQUESTS"}, path
            if method == "get":
                assert "parameters" not in operation or all(
                    p.get("$ref", "").split("/")[-1] not in ("Idempotency-Key", "X-Idempotency-Key")
                    for p in operation["parameters"]
                ), path


def test_committed_spec_validates(tmp_path: Path) -> None:
    import json

    from openapi_spec_validator import validate

    committed = json.loads((Path(__file__).resolve().parents[2] / "openapi.json").read_text())
    validate(committed)  # raises on any violation of OpenAPI 3.1
    assert committed["openapi"] == "3.1.0"


def test_billing_plan_is_the_tenants_tier(client: FlaskClient, db: Any, tenant: dict[str, Any], keys: Any) -> None:
    from appliance.services import identity

    assert client.get("/v1/billing", headers=auth(keys["read"])).get_json()["plan"] == "standard"
    identity.set_tier(db, tenant["id"], "free")
    assert client.get("/v1/billing", headers=auth(keys["read"])).get_json()["plan"] == "free"
