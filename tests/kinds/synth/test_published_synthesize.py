"""`POST /v1/synthesize/jobs` as the v1-guarantees page writes it: a dataset, `"model": "synthesize"`,
rows and a seed, as one job that trains then samples, or samples a model already trained on that
dataset with the same settings; its `_links` served; the native `params.model_id` form beside it."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import auth, mock_schema
from tests.jobs.test_lifecycle import parse_sse
from tests.synth_data import adult_frame, upload_frame


def seed_body(dataset_id: str) -> dict[str, Any]:
    return {"dataset_id": dataset_id, "model": "synthesize", "rows": 10000, "seed": 42}


def post(client: FlaskClient, headers: dict[str, str], body: dict[str, Any]) -> Any:
    """With an `X-Idempotency-Key`, as the page sends it (a fresh one per call: each body differs)."""
    return client.post("/v1/synthesize/jobs", json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex})


def test_seed_body_trains_then_samples_in_one_job_and_its_links_are_served(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any
) -> None:
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(300))
    response = post(client, gen, seed_body(ds["id"]))
    assert response.status_code == 202, response.get_json()
    job = response.get_json()
    job_id = job["job_id"]
    assert response.headers["X-Job-Id"] == job_id and int(response.headers["X-Rate-Limit-Remaining"]) >= 0
    assert response.headers["Location"] == f"/v1/synthesize/jobs/{job_id}"
    assert job["status"] == "queued" and job["kind"] == "synthesize" and job["queue"] == "gpu"
    assert set(job["estimate"]) == {"credits", "seconds"} and job["estimate"]["credits"] > 0
    assert job["evidence"] == {"expected_root_pending": True}
    assert {k: job["_links"][k] for k in ("self", "stream", "cancel")} == {
        "self": f"/v1/synthesize/jobs/{job_id}",
        "stream": f"/v1/synthesize/jobs/{job_id}/events",
        "cancel": f"/v1/synthesize/jobs/{job_id}:cancel",
    }
    assert job["seed"] == 42 and job["params"]["rows"] == 10000
    assert job["params"]["synthesizer"] == "gaussian_copula" and job["params"]["model_id"] is None
    assert [i["dataset_id"] for i in job["inputs"]] == [ds["id"]]

    inline_jobs.drain()
    done = client.get(job["_links"]["self"], headers=gen)
    assert done.status_code == 200 and done.get_json()["status"] == "succeeded", done.get_json()
    assert done.get_json()["rows"] == 10000
    events = parse_sse(client.get(job["_links"]["stream"], headers=gen).get_data(as_text=True))
    assert [e["data"]["status"] for e in events if e["event"] == "status"][-1] == "succeeded"
    assert client.post(job["_links"]["cancel"], headers=gen).status_code == 409  # over already
    assert client.get(f"/v1/client/synthesize/jobs/{job_id}", headers=gen).status_code == 200


def test_a_matching_trained_model_is_reused_and_the_native_form_still_works(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any
) -> None:
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(300))
    train = client.post("/v1/jobs", json={"kind": "train", "inputs": [ds["id"]], "seed": 5}, headers=gen).get_json()
    model_id = inline_jobs.finish(client, gen, train["id"])["result"]["model_id"]

    reused = post(client, gen, seed_body(ds["id"])).get_json()
    assert reused["params"]["model_id"] == model_id and reused["inputs"] == []
    assert "synthesizer" not in reused["params"]
    other = post(client, gen, {**seed_body(ds["id"]), "model": "tvae"}).get_json()  # other settings: trains
    assert other["params"]["synthesizer"] == "tvae" and other["params"]["model_id"] is None
    assert client.post(other["_links"]["cancel"], headers=gen).get_json()["status"] == "canceled"
    for extra in ({"class_column": "income"}, {"detect_rules": False}):  # the model had neither: trains
        by_class = post(client, gen, {**seed_body(ds["id"]), "params": extra})
        assert by_class.status_code == 202, by_class.get_json()
        assert by_class.get_json()["params"]["model_id"] is None
        assert [i["dataset_id"] for i in by_class.get_json()["inputs"]] == [ds["id"]]
        assert client.post(by_class.get_json()["_links"]["cancel"], headers=gen).get_json()["status"] == "canceled"
    by_id = post(client, gen, {"model": model_id, "rows": 20}).get_json()
    assert by_id["params"]["model_id"] == model_id

    native = post(client, gen, {"params": {"model_id": model_id, "rows": 30}, "seed": 42})
    assert native.status_code == 202 and native.get_json()["params"]["model_id"] == model_id
    first = inline_jobs.finish(client, gen, reused["id"])
    assert first["rows"] == 10000 and first["result"]["model_id"] == model_id
    assert inline_jobs.finish(client, gen, native.get_json()["id"])["rows"] == 30


def test_synthesize_links_answer_only_synthesize_jobs(client: FlaskClient, keys: dict[str, str]) -> None:
    gen = auth(keys["generate"])
    mock = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(5)}}, headers=gen).get_json()
    for method, path in [("GET", ""), ("GET", "/events"), ("POST", ":cancel")]:
        assert client.open(f"/v1/synthesize/jobs/{mock['id']}{path}", method=method, headers=gen).status_code == 404
    assert mock["_links"]["self"] == f"/v1/jobs/{mock['id']}"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"model": "gan"}, "model"),
        ({"dataset_id": "ds_4a7c81"}, "dataset_id"),
        ({"dataset_id": "ds_01JD0000000000000000000000"}, "dataset_id"),
        ({"inputs": ["ds_01JD0000000000000000000000"]}, "dataset_id"),
        ({"rows": 0}, "rows"),
        ({"model": "mdl_01JD0000000000000000000000"}, "model"),
        ({"params": {"synthesizer": "ctgan"}}, "model"),
        ({"params": {"rows": 5}}, "rows"),
        ({"engine": "sdv"}, "engine"),
    ],
)
def test_bad_seed_bodies_name_the_field(
    client: FlaskClient, keys: dict[str, str], change: dict[str, Any], field: str
) -> None:
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(60))
    response = post(client, gen, {**seed_body(ds["id"]), **change})
    assert response.status_code == 400, response.get_json()
    assert field in [d["field"] for d in response.get_json()["error"]["details"]]
