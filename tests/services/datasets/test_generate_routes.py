"""POST /v1/preview, /v1/mock-data and /v1/fabricate/plan: results and bad inputs."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import auth
from tests.jobs.conftest import mock_schema


def test_preview_is_stateless_and_deterministic(client: FlaskClient, keys: dict[str, str]) -> None:
    body = {"schema": mock_schema(50), "rows": 5, "seed": 9}
    first = client.post("/v1/preview", json=body, headers=auth(keys["read"])).get_json()
    second = client.post("/v1/preview", json=body, headers=auth(keys["read"])).get_json()
    assert first == second and len(first["tables"]["readings"]) == 5
    assert client.get("/v1/datasets", headers=auth(keys["read"])).get_json()["count"] == 0
    assert client.get("/v1/billing/balance", headers=auth(keys["read"])).get_json()["credits"] == 1000


@pytest.mark.parametrize(
    "body,field",
    [
        ({"schema": mock_schema(), "rows": 1001}, "rows"),
        ({"schema": mock_schema(), "rows": 0}, "rows"),
        (
            {
                "schema": {
                    "tables": [
                        {"name": "t", "rows": 5, "columns": [{"name": "x", "type": "int", "generator": "teleport"}]}
                    ]
                }
            },
            "schema.tables[0].columns[0].generator",
        ),
        ({"schema": {}}, "schema.tables"),
        ({}, "schema"),
    ],
)
def test_preview_bad_inputs(client: FlaskClient, keys: dict[str, str], body: dict[str, Any], field: str) -> None:
    response = client.post("/v1/preview", json=body, headers=auth(keys["read"]))
    assert response.status_code == 400
    assert field in [d["field"] for d in response.get_json()["error"]["details"]], response.get_json()


def test_mock_data_stores_a_dataset_and_charges(client: FlaskClient, keys: dict[str, str]) -> None:
    response = client.post(
        "/v1/mock-data",
        json={"schema": mock_schema(20_000), "seed": 3, "format": "csv", "name": "pumps"},
        headers=auth(keys["generate"]),
    )
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["rows"] == 20_000 and body["credits"] == 0.02
    (dataset,) = body["datasets"]
    assert dataset["rows"] == 20_000 and dataset["format"] == "csv" and dataset["name"] == "pumps.csv"
    assert client.get("/v1/billing/balance", headers=auth(keys["read"])).get_json()["credits"] == 999.98
    same = client.post(
        "/v1/mock-data",
        json={"schema": mock_schema(20_000), "seed": 3, "format": "csv"},
        headers=auth(keys["generate"]),
    ).get_json()
    assert same["datasets"][0]["blake3"] == dataset["blake3"]


def test_mock_data_over_100k_rows_is_400(client: FlaskClient, keys: dict[str, str]) -> None:
    response = client.post("/v1/mock-data", json={"schema": mock_schema(100_001)}, headers=auth(keys["generate"]))
    assert response.status_code == 400 and "mock" in response.get_json()["error"]["message"]
    assert client.get("/v1/datasets", headers=auth(keys["read"])).get_json()["count"] == 0


def test_mock_data_needs_credits(client: FlaskClient, db: Any) -> None:
    from appliance.services import identity

    poor = identity.create_key(db, identity.create_tenant(db, "poor", credits=0.00001)["id"], ["generate"])
    response = client.post("/v1/mock-data", json={"schema": mock_schema(1000)}, headers=auth(poor["api_key"]))
    assert response.status_code == 429 and response.get_json()["error"]["code"] == "CREDIT_LIMIT_EXCEEDED"


def test_fabricate_plan(client: FlaskClient, keys: dict[str, str]) -> None:
    body = {"description": "10k customers with age, country and signup date; 5% churn", "seed": 1}
    plan = client.post("/v1/fabricate/plan", json=body, headers=auth(keys["read"])).get_json()
    table = plan["schema"]["tables"][0]
    assert table["rows"] == 10_000
    names = {c["name"] for c in table["columns"]}
    assert {"age", "country", "signup_date", "churn"} <= names
    bad = client.post("/v1/fabricate/plan", json={"description": ""}, headers=auth(keys["read"]))
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "description"
