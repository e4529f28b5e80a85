"""Job creation as the published pages show it (issue #15): mock from a description, the 202 body
and headers, the `:cancel` custom method, estimates in GET and POST form, queue routing and the
tenant tier; beside the native forms, which keep working."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from flask.testing import FlaskClient

from appliance.cli.main import cli
from tests.conftest import auth, mock_schema
from tests.synth_data import adult_frame, upload_frame

SEED_MOCK = {"rows": 100000, "description": "customer transaction records"}  # jobs-and-sdk page
SEED_ESTIMATE = {"rows": 1000000, "kind": "synthesize"}  # jobs-and-sdk page, curl
INTERACTIVE_MAX_ROWS = 10_000


@pytest.fixture
def app_config(state_dir: Path) -> dict[str, Any]:
    """The shipped routing threshold (the suite's conftest turns it off for its one-worker tests)."""
    return {
        "server": {"state_dir": str(state_dir)},
        "ratelimit": {"burst": 10_000, "rate_per_s": 10_000.0},
        "jobs": {"interactive_max_rows": INTERACTIVE_MAX_ROWS},
    }


def field_of(response: Any) -> list[str]:
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "VALIDATION_FAILED"
    return [d["field"] for d in error["details"]]


@pytest.mark.parametrize("path", ["/v1/client/jobs", "/v1/jobs", "/v1/mock/jobs", "/v1/client/mock/jobs"])
def test_mock_from_a_description_as_the_page_writes_it(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any, path: str
) -> None:
    headers = auth(keys["generate"])
    response = client.post(path, json=SEED_MOCK, headers=headers)
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    assert response.headers["X-Job-Id"] == job["job_id"] == job["id"]
    assert int(response.headers["X-Rate-Limit-Remaining"]) >= 0
    assert job["kind"] == "mock" and job["status"] == "queued" and job["queue"] == "default"
    assert job["estimate"] == {"credits": 0.1, "seconds": 0.1}
    assert job["evidence"] == {"expected_root_pending": True}
    assert job["_links"]["self"] == f"/v1/jobs/{job['id']}"
    assert job["_links"]["stream"] == f"/v1/jobs/{job['id']}/events"
    assert job["_links"]["cancel"] == f"/v1/jobs/{job['id']}/cancel"
    plan = job["params"]["plan"]  # made at submit and in the contract, so the seal covers it
    assert job["params"]["rows"] == 100000 and job["params"]["description"] == SEED_MOCK["description"]
    assert [t["rows"] for t in plan["schema"]["tables"]] == [100000]
    assert job["description"] == SEED_MOCK["description"]

    done = inline_jobs.finish(client, headers, job["id"])
    assert done["rows"] == 100000 and done["evidence"] == {"expected_root_pending": False}
    listed = client.get(f"/v1/artifacts?job_id={job['id']}", headers=headers).get_json()["data"]
    assert sorted(a["name"] for a in listed) == ["plan.json", "transactions.parquet"]  # the head noun names the table
    plan_file = next(a for a in listed if a["name"] == "plan.json")
    assert json.loads(client.get(plan_file["_links"]["download"], headers=headers).get_data()) == plan


def test_native_mock_and_fabricate_keep_their_contracts(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any
) -> None:
    headers = auth(keys["generate"])
    native = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(50)}}, headers=headers)
    assert native.status_code == 202 and native.get_json()["params"] == {"schema": mock_schema(50), "format": "parquet"}
    assert inline_jobs.finish(client, headers, native.get_json()["id"])["rows"] == 50
    fab = client.post(
        "/v1/jobs", json={"kind": "fabricate", "params": {"description": "sensors with temperature"}}, headers=headers
    ).get_json()
    assert "rows" not in fab["params"] and fab["params"]["plan"]["schema"]["tables"]
    sized = client.post(
        "/v1/jobs", json={"kind": "fabricate", "rows": 77, "params": {"description": "sensors"}}, headers=headers
    ).get_json()
    assert inline_jobs.finish(client, headers, sized["id"])["rows"] == 77
    assert inline_jobs.finish(client, headers, fab["id"])["status"] == "succeeded"


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"rows": 0, "description": "customer transaction records"}, "rows"),
        ({"rows": "many", "description": "customer transaction records"}, "rows"),
        ({"rows": 100}, "description"),
        ({"rows": 100, "description": "ab"}, "params.description"),
        ({"kind": "verify", "rows": 5, "params": {"job_id": "job_01JD0000000000000000000000"}}, "rows"),
        ({"kind": "mock", "rows": 5, "params": {"schema": mock_schema(5)}}, "params.rows"),
        ({"rows": 5, "description": "sensors", "params": {"rows": 6}}, "rows"),
        ({"rows": 5, "description": "sensors", "dataset_id": "ds_01JD0000000000000000000000"}, "dataset_id"),
        ({"rows": 5, "description": "sensors", "model": "synthesize"}, "model"),
        ({"rows": 5, "description": "sensors", "colour": "red"}, "colour"),
        ({"kind": "mock", "params": {}}, "description"),
    ],
)
def test_bad_published_bodies_name_the_field(
    client: FlaskClient, keys: dict[str, str], body: dict[str, Any], field: str
) -> None:
    assert field in field_of(client.post("/v1/client/jobs", json=body, headers=auth(keys["generate"])))


@pytest.mark.parametrize("prefix", ["/v1/jobs", "/v1/client/jobs"])
@pytest.mark.parametrize("verb", [":cancel", "/cancel"])
def test_cancel_as_custom_method_and_as_path(client: FlaskClient, keys: dict[str, str], prefix: str, verb: str) -> None:
    headers = auth(keys["generate"])
    job_id = client.post("/v1/jobs", json=SEED_MOCK, headers=headers).get_json()["id"]
    assert client.get(f"{prefix}/{job_id}", headers=headers).get_json()["status"] == "queued"
    canceled = client.post(f"{prefix}/{job_id}{verb}", headers=headers)
    assert canceled.status_code == 200 and canceled.get_json()["status"] == "canceled"
    again = client.post(f"{prefix}/{job_id}{verb}", headers=headers)
    assert again.status_code == 409
    assert client.post(f"{prefix}/job_01JD0000000000000000000000:cancel", headers=headers).status_code == 404
    assert client.get(f"{prefix}/{job_id}:cancel", headers=headers).status_code in (404, 405)


def test_estimate_as_the_page_curls_it_and_as_a_query(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["read"])
    posted = client.post("/v1/client/estimate", json=SEED_ESTIMATE, headers=headers)
    assert posted.status_code == 200, posted.get_json()
    got = client.get("/v1/client/estimate?rows=1000000&kind=synthesize", headers=headers)
    assert got.status_code == 200 and got.get_json() == posted.get_json()
    answer = posted.get_json()
    assert answer["estimated_rows"] == 1_000_000 and answer["estimated_credits"] >= 1
    assert answer["training_tier"] and answer["kind"] == "synthesize" and answer["queue"] == "gpu"
    assert answer["estimated_seconds"] > 0
    small = client.get("/v1/estimate?rows=1000&kind=synthesize", headers=headers).get_json()
    assert small["estimated_rows"] == 1000 and small["estimated_credits"] < answer["estimated_credits"]
    mock = client.get("/v1/estimate", query_string={**SEED_MOCK}, headers=headers).get_json()
    assert mock["kind"] == "mock" and mock["estimated_rows"] == 100000 and mock["estimated_credits"] == 0.1
    native = client.post("/v1/estimate", json={"kind": "mock", "params": {"schema": mock_schema(10)}}, headers=headers)
    assert native.get_json()["estimated_rows"] == 10 and native.get_json()["queue"] == "interactive"


@pytest.mark.parametrize(
    ("method", "query", "body", "field"),
    [
        ("GET", "rows=1000000&kind=synthesize&tier=gpu", None, "tier"),
        ("GET", "rows=1000000", None, "description"),  # no longer priced as 1,000 rows without a word
        ("GET", "rows=-1&kind=synthesize", None, "rows"),
        ("GET", "kind=synthesize&params=[1]", None, "params"),
        ("POST", "", {"rows": 1000000, "kind": "synthesize", "model_size": "xl"}, "model_size"),
        ("POST", "", {"rows": 1000000, "kind": "nope"}, "kind"),
        ("POST", "", {"rows": 10, "kind": "verify"}, "rows"),
    ],
)
def test_estimate_refuses_what_it_would_ignore(
    client: FlaskClient, keys: dict[str, str], method: str, query: str, body: Any, field: str
) -> None:
    response = client.open(f"/v1/client/estimate?{query}", method=method, json=body, headers=auth(keys["read"]))
    assert field in field_of(response)


def test_queue_routing_per_case(client: FlaskClient, keys: dict[str, str], db: Any, state_dir: Path) -> None:
    from appliance.services import identity

    headers = auth(keys["generate"])

    def queue_of(body: dict[str, Any], hdrs: dict[str, str] = headers) -> str:
        response = client.post("/v1/jobs", json=body, headers=hdrs)
        assert response.status_code == 202, response.get_json()
        return str(response.get_json()["queue"])

    assert queue_of({"rows": INTERACTIVE_MAX_ROWS, "description": "sensors"}) == "interactive"
    assert queue_of({"kind": "mock", "params": {"schema": mock_schema(10)}}) == "interactive"
    assert queue_of({"rows": INTERACTIVE_MAX_ROWS + 1, "description": "sensors"}) == "default"
    assert queue_of({"rows": 10, "description": "sensors", "queue": "default"}) == "default"  # named: kept
    ds = upload_frame(client, keys["generate"], adult_frame(60))
    assert queue_of({"kind": "train", "inputs": [ds["id"]]}) == "gpu"
    assert queue_of({"kind": "analyze", "inputs": [ds["id"]]}) == "default"

    free = identity.create_tenant(db, "thrifty", credits=100)
    state = ["--state-dir", str(state_dir)]
    runner = CliRunner().invoke(cli, ["admin", "tenants", "set-tier", free["id"], "free", *state])
    assert runner.exit_code == 0, runner.output
    assert json.loads(runner.output)["tier"] == "free"
    free_headers = auth(identity.create_key(db, free["id"], ["generate", "read"])["api_key"])
    assert client.get("/v1/client/tenants/current", headers=free_headers).get_json()["tier"] == "free"
    assert client.get("/v1/tenants/current", headers=auth(keys["read"])).get_json()["tier"] == "standard"
    assert queue_of({"rows": 10, "description": "sensors"}, free_headers) == "free"
    assert queue_of({"rows": 10**6, "description": "sensors"}, free_headers) == "free"
    assert queue_of({"kind": "mock", "params": {"schema": mock_schema(10)}, "queue": "free"}, free_headers) == "free"
    refused = client.post("/v1/jobs", json={**SEED_MOCK, "queue": "interactive"}, headers=free_headers)
    assert field_of(refused) == ["queue"]
    priced = client.post("/v1/estimate", json=SEED_MOCK, headers=free_headers).get_json()
    assert priced["queue"] == "free"

    bad = CliRunner().invoke(cli, ["admin", "tenants", "set-tier", free["id"], "gold", *state])
    assert bad.exit_code != 0
    nobody = "ten_01JD0000000000000000000000"
    missing = CliRunner().invoke(cli, ["admin", "tenants", "set-tier", nobody, "free", *state])
    assert missing.exit_code != 0
