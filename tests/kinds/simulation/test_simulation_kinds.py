"""simulate, scenario_fabricate and lift as jobs run in-process through the worker's runner, and /v1/ics/scenarios."""

from __future__ import annotations

import io
from typing import Any

import pyarrow.parquet as pq
import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.services.datasets.test_upload import upload

SIMULATE = {"plant": "water", "duration": 900, "sample_rate": 1}
SCENARIO = {"plant": "water", "duration": 3600, "mix": [{"technique": "T0831", "count": 2}], "intensity": 0.6}


def artifacts(client: FlaskClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    rows = client.get(f"/v1/artifacts?job_id={job_id}", headers=headers).get_json()["data"]
    return {a["name"]: a for a in rows}


def test_simulate_is_deterministic_and_labelled(
    client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs
) -> None:
    headers = auth(keys["generate"])
    first = client.post("/v1/jobs", json={"kind": "simulate", "params": SIMULATE, "seed": 11}, headers=headers)
    assert first.status_code == 202, first.get_json()
    job = inline_jobs.finish(client, headers, first.get_json()["id"], expect=None)
    assert job["status"] == "succeeded", job["error"]
    assert first.get_json()["estimate"]["credits"] == job["rows"] / 1_000_000
    arts = artifacts(client, headers, job["id"])
    assert set(arts) == {"water-telemetry.parquet", "manifest.json"}
    data = client.get(f"/v1/artifacts/{arts['water-telemetry.parquet']['id']}/download", headers=headers).data
    table = pq.read_table(io.BytesIO(data))
    assert {"timestamp", "attack", "attack_id", "technique"} <= set(table.column_names)
    assert table.num_rows == job["rows"]
    rerun = client.post(f"/v1/jobs/{job['id']}/rerun", headers=headers).get_json()
    again = inline_jobs.finish(client, headers, rerun["id"])
    assert (
        artifacts(client, headers, again["id"])["water-telemetry.parquet"]["blake3"]
        == arts["water-telemetry.parquet"]["blake3"]
    )


def test_ics_scenarios_front(client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs) -> None:
    headers = auth(keys["generate"])
    created = client.post("/v1/ics/scenarios", json={**SCENARIO, "seed": 1}, headers=headers)
    assert created.status_code == 202, created.get_json()
    scenario_id = created.get_json()["id"]
    assert created.headers["Location"] == f"/v1/ics/scenarios/{scenario_id}"
    inline_jobs.finish(client, headers, scenario_id)
    body = client.get(f"/v1/ics/scenarios/{scenario_id}", headers=headers).get_json()
    manifest = body["manifest"]
    assert manifest["labels"]["attack_rows"] > 0
    assert {a["technique"] for a in manifest["attacks"]} == {"T0831"}


@pytest.mark.parametrize(
    "params,field",
    [
        ({"plant": "nuclear", "duration": 60}, "params.plant"),
        ({"plant": "water", "duration": -5}, "params.duration"),
        ({"plant": "water", "duration": 60, "seed": 3}, "params.seed"),
        ({"plant": "water", "duration": 60, "params": {"no_such_param": 1}}, "params.params.no_such_param"),
    ],
)
def test_bad_simulate_params_name_the_field(
    client: FlaskClient, keys: dict[str, str], params: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/jobs", json={"kind": "simulate", "params": params}, headers=auth(keys["generate"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == field, response.get_json()


def test_bad_scenario_is_400(client: FlaskClient, keys: dict[str, str]) -> None:
    short = {**SCENARIO, "duration": 60}
    response = client.post("/v1/ics/scenarios", json=short, headers=auth(keys["generate"]))
    assert response.status_code == 400 and response.get_json()["error"]["details"][0]["field"] == "params.mix"
    unknown = client.post(
        "/v1/ics/scenarios", json={**SCENARIO, "mix": [{"technique": "T9999"}]}, headers=auth(keys["generate"])
    )
    assert unknown.status_code == 400
    assert client.get("/v1/ics/scenarios/job_00000000000000000000000000", headers=auth(keys["read"])).status_code == 404


def test_lift_matches_a_plant(client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs) -> None:
    headers = auth(keys["generate"])
    sim = client.post(
        "/v1/jobs", json={"kind": "simulate", "params": {**SIMULATE, "format": "csv"}, "seed": 2}, headers=headers
    ).get_json()
    inline_jobs.finish(client, headers, sim["id"])
    csv = client.get(
        f"/v1/artifacts/{artifacts(client, headers, sim['id'])['water-telemetry.csv']['id']}/download", headers=headers
    ).data
    dataset = upload(client, keys["generate"], csv, "historian.csv").get_json()
    job = client.post("/v1/jobs", json={"kind": "lift", "inputs": [dataset["id"]]}, headers=headers).get_json()
    done = inline_jobs.finish(client, headers, job["id"], expect=None)
    assert done["status"] == "succeeded", done["error"]
    assert done["result"]["plant"] == "water" and done["result"]["tags"] > 5
