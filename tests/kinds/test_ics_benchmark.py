"""The ics_benchmark kind run in-process through the worker's runner, and GET /v1/leaderboards/ics."""

from __future__ import annotations

import json
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth

BENCH = {"plant": "water", "duration": 3600, "train_duration": 3600,
         "techniques": ["spoof_reporting_message"], "detectors": ["ar_residual", "pca"]}


def test_benchmark_job_is_sealed_and_ranked(client: FlaskClient, keys: dict[str, str],
                                            inline_jobs: InlineJobs) -> None:
    headers = auth(keys["generate"])
    created = client.post("/v1/jobs", json={"kind": "ics_benchmark", "params": BENCH, "seed": 5}, headers=headers)
    assert created.status_code == 202, created.get_json()
    job = inline_jobs.finish(client, headers, created.get_json()["id"], expect=None)
    assert job["status"] == "succeeded", job["error"]
    assert [d["detector"] for d in job["result"]["detectors"]] == ["ar_residual", "pca"]
    arts = client.get(f"/v1/artifacts?job_id={job['id']}", headers=headers).get_json()["data"]
    (art,) = [a for a in arts if a["name"] == "benchmark.json"]
    result = json.loads(client.get(f"/v1/artifacts/{art['id']}/download", headers=headers).data)
    assert result["request"]["seed"] == 5 and result["techniques"] == ["spoof_reporting_message"]
    board = client.get("/v1/leaderboards/ics?plant=water", headers=headers).get_json()
    assert board["count"] == 2 and {e["job_id"] for e in board["data"]} == {job["id"]}
    assert [e["rank"] for e in board["data"]] == [1, 2]
    assert board["data"][0]["etapr_f1"] >= board["data"][1]["etapr_f1"]
    assert all(e["seal_id"] for e in board["data"])
    assert client.get("/v1/leaderboards/ics?plant=power", headers=headers).get_json()["count"] == 0
    by_f1 = client.get("/v1/leaderboards/ics?by=f1", headers=headers).get_json()
    assert by_f1["data"][0]["f1"] >= by_f1["data"][-1]["f1"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"plant": "nuclear"}, "params.plant"),
        ({"plant": "water", "seed": 3}, "params.seed"),
        ({"plant": "water", "detectors": ["magic"]}, "params.detectors"),
        ({"plant": "water", "duration": 10}, "params.duration"),
    ],
)
def test_bad_benchmark_params_name_the_field(client: FlaskClient, keys: dict[str, str],
                                             params: dict[str, Any], field: str) -> None:
    response = client.post("/v1/jobs", json={"kind": "ics_benchmark", "params": params},
                           headers=auth(keys["generate"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"] == field, response.get_json()


@pytest.mark.parametrize("query", ["by=accuracy", "plant=nuclear"])
def test_bad_leaderboard_query_is_400(client: FlaskClient, keys: dict[str, str], query: str) -> None:
    response = client.get(f"/v1/leaderboards/ics?{query}", headers=auth(keys["generate"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"]
