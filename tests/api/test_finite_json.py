"""No API answer carries bare NaN/Infinity, and /v1/preview refuses overflowing schemas with a 400
naming the column (issue #12, finding 5)."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from tests.conftest import auth

BIG = 1.7e308


def strict_json(text: str) -> Any:
    def refuse(name: str) -> Any:
        raise AssertionError(f"bare {name} in a JSON answer: {text[:300]}")

    return json.loads(text, parse_constant=refuse)


def one_column(**column: Any) -> dict[str, Any]:
    return {"tables": [{"name": "t", "rows": 50, "columns": [{"name": "flow", **column}]}]}


def test_preview_refuses_overflowing_normal(client: FlaskClient, keys: dict[str, str]) -> None:
    body = {"schema": one_column(type="float", generator="normal", mean=BIG, std=1e308), "rows": 50}
    response = client.post("/v1/preview", json=body, headers=auth(keys["read"]))
    assert response.status_code == 400
    error = strict_json(response.get_data(as_text=True))["error"]
    assert error["code"] == "VALIDATION_FAILED"
    assert error["details"][0]["field"] == "schema.tables[0].columns[0]"
    assert "'flow'" in error["details"][0]["message"] and "float range" in error["details"][0]["message"]


def test_preview_of_widest_uniform_is_spread_and_finite(client: FlaskClient, keys: dict[str, str]) -> None:
    body = {"schema": one_column(type="float", generator="uniform", min=-BIG, max=BIG), "rows": 50}
    response = client.post("/v1/preview", json=body, headers=auth(keys["read"]))
    assert response.status_code == 200
    values = [row["flow"] for row in strict_json(response.get_data(as_text=True))["tables"]["t"]]
    assert all(math.isfinite(v) and -BIG <= v <= BIG for v in values)
    assert len(set(values)) == 50


def test_preview_refuses_a_derived_overflow(client: FlaskClient, keys: dict[str, str]) -> None:
    schema = {"tables": [{"name": "t", "rows": 10, "columns": [
        {"name": "a", "type": "float", "generator": "uniform", "min": 1e300, "max": 1e301},
        {"name": "b", "type": "float"},
    ], "constraints": [{"type": "linear", "target": "b", "source": "a", "k": 1e10}]}]}
    response = client.post("/v1/preview", json={"schema": schema, "rows": 10}, headers=auth(keys["read"]))
    assert response.status_code == 400
    error = strict_json(response.get_data(as_text=True))["error"]
    assert error["details"][0]["field"] == "schema.tables[0].columns[1]" and "'b'" in error["message"]


def test_json_provider_writes_null_for_non_finite(app: Flask) -> None:
    text = app.json.dumps({"a": [1.5, float("nan")], "b": {"c": float("inf"), "d": -math.inf}, "e": "x"})
    assert strict_json(text) == {"a": [1.5, None], "b": {"c": None, "d": None}, "e": "x"}
    assert app.json.dumps({"z": 1, "a": 2.5}) == '{"z": 1, "a": 2.5}'  # key order kept, fast path


def test_profile_of_data_with_inf_and_nan_is_strict_json(
    client: FlaskClient, keys: dict[str, str], state_dir: Path
) -> None:
    """A profile of real data holding ±inf/NaN: the analyze job succeeds and the answer parses."""
    from appliance.jobs.runner import execute

    data = b"id,reading\n1,inf\n2,nan\n3,-inf\n4,2.5\n5,3.5\n"
    uploaded = client.post("/v1/datasets", data=data, content_type="text/csv", query_string={"name": "r.csv"},
                           headers=auth(keys["generate"]))
    assert uploaded.status_code == 201
    ds = uploaded.get_json()
    started = client.get(f"/v1/datasets/{ds['id']}/profile", headers=auth(keys["generate"]))
    assert started.status_code == 202
    execute(state_dir, started.get_json()["id"])  # what the worker's Huey task runs
    response = client.get(f"/v1/datasets/{ds['id']}/profile", headers=auth(keys["read"]))
    assert response.status_code == 200, response.get_data(as_text=True)[:500]
    profile = strict_json(response.get_data(as_text=True))
    reading = next(c for c in profile["columns"] if c["name"] == "reading")
    assert reading["type"] == "double"
    schema_column = next(c for c in profile["inferred_schema"]["tables"][0]["columns"] if c["name"] == "reading")
    assert schema_column["type"] == "float"
    listed = client.get(f"/v1/artifacts?job_id={started.get_json()['id']}", headers=auth(keys["read"])).get_json()
    names = set()
    for artifact in listed["data"]:  # profile.json and schema.json are JSON files too
        download = client.get(f"/v1/artifacts/{artifact['id']}/download", headers=auth(keys["read"]))
        strict_json(download.get_data(as_text=True))
        names.add(artifact["name"])
    assert "profile.json" in names


def test_mock_job_with_derived_overflow_fails_naming_the_column(
    client: FlaskClient, keys: dict[str, str], state_dir: Path
) -> None:
    from appliance.jobs.runner import execute

    schema = {"tables": [{"name": "t", "rows": 1000, "columns": [
        {"name": "a", "type": "float", "generator": "uniform", "min": 1e300, "max": 1e301},
        {"name": "b", "type": "float"},
    ], "constraints": [{"type": "linear", "target": "b", "source": "a", "k": 1e10}]}]}
    submitted = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": schema, "format": "csv"}},
                            headers=auth(keys["generate"]))
    assert submitted.status_code == 202, submitted.get_json()
    execute(state_dir, submitted.get_json()["job_id"])
    job = client.get(f"/v1/jobs/{submitted.get_json()['job_id']}", headers=auth(keys["read"])).get_json()
    assert job["status"] == "failed"
    assert job["error"]["code"] == "VALIDATION_FAILED"
    assert job["error"]["message"].startswith("schema.tables[0].columns[1]: column 'b'")
    artifacts = client.get(f"/v1/artifacts?job_id={job['id']}", headers=auth(keys["read"])).get_json()
    assert artifacts["data"] == []


def test_mock_job_refuses_overflowing_parameters_at_submit(client: FlaskClient, keys: dict[str, str]) -> None:
    schema = one_column(type="float", generator="lognormal", mu=800, sigma=1)
    response = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": schema}},
                           headers=auth(keys["generate"]))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["details"][0]["field"] == "params.schema.tables[0].columns[0]"


def test_event_streams_serialise_through_jsonsafe() -> None:
    """SSE data lines (job events, live SCADA values) are JSON too: same rule, same helper."""
    import datetime as dt

    from appliance import jsonsafe

    text = jsonsafe.dumps({"level": float("nan"), "flows": [1.0, -math.inf]}, separators=(",", ":"))
    assert text == '{"level":null,"flows":[1.0,null]}'
    stamped = jsonsafe.dumps({"at": dt.date(2026, 1, 2), "v": math.inf}, default=str)
    assert strict_json(stamped) == {"at": "2026-01-02", "v": None}


def test_fit_of_data_with_inf_and_nan_writes_strict_json(
    client: FlaskClient, keys: dict[str, str], state_dir: Path
) -> None:
    from appliance.jobs.runner import execute

    data = b"id,reading\n1,inf\n2,nan\n3,-inf\n4,2.5\n5,3.5\n"
    uploaded = client.post("/v1/datasets", data=data, content_type="text/csv", query_string={"name": "r.csv"},
                           headers=auth(keys["generate"]))
    submitted = client.post("/v1/jobs", json={"kind": "fit", "inputs": [uploaded.get_json()["id"]]},
                            headers=auth(keys["generate"]))
    assert submitted.status_code == 202, submitted.get_json()
    job_id = submitted.get_json()["job_id"]
    execute(state_dir, job_id)
    assert client.get(f"/v1/jobs/{job_id}", headers=auth(keys["read"])).get_json()["status"] == "succeeded"
    [artifact] = client.get(f"/v1/artifacts?job_id={job_id}", headers=auth(keys["read"])).get_json()["data"]
    download = client.get(f"/v1/artifacts/{artifact['id']}/download", headers=auth(keys["read"]))
    fit = strict_json(download.get_data(as_text=True))
    assert fit["columns"]["reading"]["mean"] is None
