"""A `mock` job from a description is deterministic across processes: the same description, rows
and seed give byte-identical artifacts whether the job runs in this process or in a real worker;
the plan is sealed in the contract; and `fabricate` runs the same code (same plan, same rows)."""

from __future__ import annotations

from typing import Any

from flask.testing import FlaskClient

from tests.conftest import auth, wait_for

BODY = {"rows": 2500, "description": "customers with age, country and signup date", "seed": 42, "format": "csv"}


def hashes(client: FlaskClient, headers: dict[str, str], job_id: str) -> dict[str, str]:
    listed = client.get(f"/v1/artifacts?job_id={job_id}", headers=headers).get_json()["data"]
    return {a["name"]: a["blake3"] for a in listed}


def test_same_description_rows_and_seed_give_identical_bytes_in_another_process(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any, start_worker: Any
) -> None:
    headers = auth(keys["generate"])
    body = {"rows": BODY["rows"], "description": BODY["description"], "seed": BODY["seed"]}
    here = client.post("/v1/jobs", json=body, headers=headers).get_json()
    inline_jobs.finish(client, headers, here["id"])  # in this process
    start_worker("default")  # a `sealforge worker` subprocess
    there = client.post("/v1/client/jobs", json=body, headers=headers).get_json()
    assert wait_for(client, headers, there["id"], {"succeeded", "failed"}, timeout=120)["status"] == "succeeded"
    assert there["contract_hash"] == here["contract_hash"]
    first, second = hashes(client, headers, here["id"]), hashes(client, headers, there["id"])
    assert set(first) == {"plan.json", "customers.parquet"} and first == second

    other_seed = client.post("/v1/jobs", json={**body, "seed": 43}, headers=headers).get_json()
    assert other_seed["contract_hash"] != here["contract_hash"]
    rerun = client.post(f"/v1/jobs/{here['id']}/rerun", headers=headers).get_json()
    assert rerun["contract_hash"] == here["contract_hash"]
    assert wait_for(client, headers, rerun["id"], {"succeeded", "failed"}, timeout=120)["status"] == "succeeded"
    assert hashes(client, headers, rerun["id"]) == first


def test_fabricate_and_mock_share_the_planner_and_the_generator(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any
) -> None:
    headers = auth(keys["generate"])
    params = {"description": BODY["description"], "rows": BODY["rows"], "format": "csv"}
    mock = client.post("/v1/jobs", json={"kind": "mock", "params": params, "seed": 42}, headers=headers).get_json()
    fab = client.post("/v1/jobs", json={"kind": "fabricate", "params": params, "seed": 42}, headers=headers).get_json()
    assert mock["params"] == fab["params"]  # the same plan, sealed in both contracts
    inline_jobs.drain()
    assert hashes(client, headers, mock["id"]) == hashes(client, headers, fab["id"])
    assert set(hashes(client, headers, mock["id"])) == {"plan.json", "customers.csv"}
