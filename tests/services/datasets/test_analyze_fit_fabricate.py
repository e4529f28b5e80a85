"""The analyze, fit and fabricate kinds, run in-process through the worker's runner, and the cached profile."""

from __future__ import annotations

from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.services.datasets.test_upload import CSV, upload


def test_profile_is_computed_once_then_cached(
    client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs
) -> None:
    headers = auth(keys["generate"])
    ds = upload(client, keys["generate"], CSV, "pumps.csv").get_json()
    first = client.get(f"/v1/datasets/{ds['id']}/profile", headers=headers)
    assert first.status_code == 202 and first.get_json()["kind"] == "analyze"
    job_id = first.get_json()["id"]
    assert client.get(f"/v1/datasets/{ds['id']}/profile", headers=headers).get_json()["id"] == job_id
    inline_jobs.finish(client, headers, job_id)
    profile = client.get(f"/v1/datasets/{ds['id']}/profile", headers=headers)
    assert profile.status_code == 200
    body = profile.get_json()
    assert body["job_id"] == job_id and body["rows"] == 3
    cols = {c["name"]: c for c in body["columns"]}
    assert cols["id"]["semantic_type"] == "id" and cols["flow"]["min"] == 9.0 and cols["flow"]["max"] == 11.25
    assert cols["name"]["distinct"] == 3 and cols["flow"]["quantiles"]["p50"] == 10.5
    assert body["inferred_schema"]["tables"][0]["columns"]
    listed = client.get("/v1/jobs?kind=analyze", headers=headers).get_json()
    assert listed["count"] == 1


def test_inferred_schema_mocks_at_scale(client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs) -> None:
    headers = auth(keys["generate"])
    ds = upload(client, keys["generate"], CSV, "pumps.csv").get_json()
    job = client.post("/v1/jobs", json={"kind": "analyze", "inputs": [ds["id"]]}, headers=headers).get_json()
    inline_jobs.finish(client, headers, job["id"])
    schema = client.get(f"/v1/datasets/{ds['id']}/profile", headers=headers).get_json()["inferred_schema"]
    schema["tables"][0]["rows"] = 50_000
    mock = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": schema}, "seed": 1}, headers=headers)
    assert mock.status_code == 202, mock.get_json()
    assert inline_jobs.finish(client, headers, mock.get_json()["id"])["rows"] == 50_000


def test_fit_and_compare(client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs) -> None:
    headers = auth(keys["generate"])
    a = upload(client, keys["generate"], CSV, "a.csv").get_json()
    b = upload(client, keys["generate"], CSV.replace(b"10.5", b"30.5"), "b.csv").get_json()
    fits = []
    for ds in (a, b):
        job = client.post("/v1/jobs", json={"kind": "fit", "inputs": [ds["id"]]}, headers=headers).get_json()
        fits.append(inline_jobs.finish(client, headers, job["id"])["id"])
    same = client.get(f"/v1/fits/compare?a={fits[0]}&b={fits[0]}", headers=headers).get_json()["comparison"]
    diff = client.get(f"/v1/fits/compare?a={fits[0]}&b={fits[1]}", headers=headers).get_json()["comparison"]
    assert same != diff
    bad = client.get(f"/v1/fits/compare?a={fits[0]}&b=job_nope", headers=headers)
    assert bad.status_code == 400 and bad.get_json()["error"]["details"][0]["field"] == "b"
    missing = client.get(f"/v1/fits/compare?a={fits[0]}", headers=headers)
    assert missing.status_code == 400


def test_analyze_needs_one_dataset(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["generate"])
    none = client.post("/v1/jobs", json={"kind": "analyze"}, headers=headers)
    assert none.status_code == 400 and none.get_json()["error"]["details"][0]["field"] == "inputs"
    unknown = client.post(
        "/v1/jobs", json={"kind": "fit", "inputs": ["ds_00000000000000000000000000"]}, headers=headers
    )
    assert unknown.status_code == 400 and unknown.get_json()["error"]["details"][0]["field"] == "inputs.0"


def test_fabricate_seals_its_plan(client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs) -> None:
    headers = auth(keys["generate"])
    body = {"kind": "fabricate", "params": {"description": "2k sensors with temperature and pressure"}, "seed": 5}
    job = client.post("/v1/jobs", json=body, headers=headers).get_json()
    plan = job["params"]["plan"]
    assert plan["schema"]["tables"][0]["rows"] == 2000
    done = inline_jobs.finish(client, headers, job["id"])
    assert done["rows"] == 2000
    names = sorted(
        a["name"] for a in client.get(f"/v1/artifacts?job_id={job['id']}", headers=headers).get_json()["data"]
    )
    assert names[0] == "plan.json" and len(names) == 2
    rerun = client.post(f"/v1/jobs/{job['id']}/rerun", headers=headers).get_json()
    assert rerun["contract_hash"] == job["contract_hash"]
    again = inline_jobs.finish(client, headers, rerun["id"], expect=None)
    assert again["status"] == "succeeded" and again["rows"] == 2000, again


def test_fabricate_with_a_broken_plan_is_400(client: FlaskClient, keys: dict[str, str]) -> None:
    body = {"kind": "fabricate", "params": {"description": "some rows", "plan": {"schema": {"tables": []}}}}
    response = client.post("/v1/jobs", json=body, headers=auth(keys["generate"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["details"][0]["field"].startswith("params.plan.schema")
