"""train and synthesize through a real `gpu`-queue worker (on CPU here), and the routes around them:
models, report, evaluations (TSTR), the leaderboard, credits, cancel within 2 s, and bad inputs."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from tests.conftest import auth, wait_for
from tests.jobs.test_lifecycle import parse_sse
from tests.synth_data import adult_frame, parquet_bytes, upload_frame

DONE = {"succeeded", "failed", "canceled"}


def submit(client: FlaskClient, headers: dict[str, str], body: dict[str, Any], path: str = "/v1/jobs") -> str:
    response = client.post(path, json=body, headers=headers)
    assert response.status_code == 202, response.get_json()
    job_id: str = response.get_json()["id"]
    return job_id


def finished(client: FlaskClient, headers: dict[str, str], job_id: str) -> dict[str, Any]:
    job: dict[str, Any] = wait_for(client, headers, job_id, DONE, timeout=120)
    return job


def artifacts(client: FlaskClient, headers: dict[str, str], job_id: str) -> dict[str, dict[str, Any]]:
    listed = client.get(f"/v1/artifacts?job_id={job_id}", headers=headers).get_json()["data"]
    return {a["name"]: a for a in listed}


def download(client: FlaskClient, headers: dict[str, str], artifact: dict[str, Any]) -> bytes:
    return bytes(client.get(artifact["_links"]["download"], headers=headers).get_data())


def test_train_synthesize_report_evaluate_rank(
    client: FlaskClient, keys: dict[str, str], db: Any, start_worker: Any, state_dir: Path
) -> None:
    from appliance.services import identity

    start_worker("gpu")
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(300))
    before = client.get("/v1/billing/balance", headers=gen).get_json()["credits"]

    train = finished(client, gen, submit(client, gen, {"kind": "train", "inputs": [ds["id"]], "seed": 5}))
    assert train["status"] == "succeeded", train["error"]
    result = train["result"]
    assert result["device"] == "cpu" and result["synthesizer"] == "gaussian_copula"
    assert result["rows"] == 240 and result["holdout_rows"] == 60 and result["quality_score"] > 0.6
    assert set(artifacts(client, gen, train["id"])) == {"model.pkl", "metadata.json"}
    assert (state_dir / "home" / ".local" / "share" / "sdv" / "sdv_logger_config.yml").is_file(), "SDV wrote outside"

    model = client.get(f"/v1/models/{result['model_id']}", headers=gen).get_json()
    assert model["job_id"] == train["id"] and model["dataset_id"] == ds["id"] and model["device"] == "cpu"
    assert [c["name"] for c in model["columns"]] == ["age", "workclass", "education", "hours", "income"]
    assert model["artifact_id"] and model["source"]["split_seed"] == 5
    listed = client.get(f"/v1/models?dataset_id={ds['id']}", headers=gen).get_json()
    assert listed["count"] == 1 and listed["data"][0]["id"] == model["id"]
    other = identity.create_tenant(db, "other", credits=10)
    other_key = identity.create_key(db, other["id"], ["read"])["api_key"]
    assert client.get(f"/v1/models/{model['id']}", headers=auth(other_key)).status_code == 404
    assert client.get("/v1/models", headers=auth(other_key)).get_json()["count"] == 0

    body = {"params": {"model_id": model["id"], "rows": 500, "format": "csv"}, "seed": 9}
    synth = finished(client, gen, submit(client, gen, body, "/v1/synthesize/jobs"))
    assert synth["status"] == "succeeded", synth["error"]
    assert synth["rows"] == 500 and synth["result"]["model_id"] == model["id"]
    files = artifacts(client, gen, synth["id"])
    rows = list(csv.DictReader(io.StringIO(download(client, gen, files["rows.csv"]).decode())))
    assert len(rows) == 500 and set(rows[0]) == {"age", "workclass", "education", "hours", "income"}
    report = json.loads(download(client, gen, files["report.json"]))
    assert 0.5 < report["quality"]["score"] <= 1 and report["quality"]["column_shapes"] is not None
    assert report["diagnostic"]["score"] > 0.9 and report["privacy"]["risk"] in {"low", "elevated"}
    assert report["privacy"]["dcr"]["holdout_to_train"] is not None
    assert report["privacy"]["rows_compared"]["holdout"] == 60
    assert report["source"]["dataset_id"] == ds["id"] and report["seed"] == 9

    again = finished(client, gen, submit(client, gen, {}, f"/v1/jobs/{synth['id']}/rerun"))
    assert again["contract_hash"] == synth["contract_hash"]
    assert {n: a["blake3"] for n, a in artifacts(client, gen, again["id"]).items()} == {
        n: a["blake3"] for n, a in files.items()
    }
    spent = before - client.get("/v1/billing/balance", headers=gen).get_json()["credits"]
    assert abs(spent - (0.01 + 2 * 500 / 1e6)) < 1e-9

    evaluation = client.post("/v1/evaluations", json={"job_id": synth["id"], "target": "income"}, headers=gen)
    assert evaluation.status_code == 201, evaluation.get_json()
    ev = evaluation.get_json()
    assert ev["task"] == "classification" and ev["metric"] == "f1" and ev["model_id"] == model["id"]
    assert set(ev["tstr"]) >= {"accuracy", "f1", "precision", "recall", "roc_auc", "log_loss"}
    assert ev["trtr"] is not None and ev["rows"] == {"synthetic": 500, "real_test": 60, "real_train": 240}
    assert client.get(f"/v1/evaluations/{ev['id']}", headers=gen).get_json()["score"] == ev["score"]
    assert client.get(f"/v1/evaluations/{ev['id']}", headers=auth(other_key)).status_code == 404

    board = client.get(f"/v1/leaderboards?dataset_id={ds['id']}", headers=gen).get_json()
    assert board["count"] == 1 and board["data"][0]["rank"] == 1
    assert board["data"][0]["tstr"]["evaluation_id"] == ev["id"] and board["data"][0]["quality_score"] > 0.6

    def bad(payload: dict[str, Any]) -> str:
        response = client.post("/v1/evaluations", json=payload, headers=gen)
        assert response.status_code == 400, response.get_json()
        field: str = response.get_json()["error"]["details"][0]["field"]
        return field

    assert bad({"job_id": synth["id"]}) == "target"
    assert bad({"job_id": synth["id"], "target": "salary"}) == "target"
    assert bad({"job_id": train["id"], "target": "income"}) == "job_id"
    no_income = upload_frame(client, keys["generate"], adult_frame(50).drop(columns=["income"]), "no-income.csv")
    assert bad({"job_id": synth["id"], "target": "income", "dataset_id": no_income["id"]}) == "target"
    assert bad({"job_id": synth["id"], "target": "income", "dataset_id": "ds_nope"}) == "dataset_id"


def test_ctgan_cancel_mid_training_then_inline_synthesis_and_failures(
    client: FlaskClient, keys: dict[str, str], start_worker: Any
) -> None:
    start_worker("gpu")
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(200)[["age", "education", "income"]])
    params = {"synthesizer": "ctgan", "epochs": 10_000}
    job_id = submit(client, gen, {"kind": "train", "inputs": [ds["id"]], "params": params})
    deadline = time.monotonic() + 90
    while "epoch" not in (job := client.get(f"/v1/jobs/{job_id}", headers=gen).get_json())["message"]:
        assert time.monotonic() < deadline and job["status"] in {"queued", "running"}, job
        time.sleep(0.05)
    assert "generator" in job["message"] and "discriminator" in job["message"]
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=gen).status_code == 200
    canceled = wait_for(client, gen, job_id, DONE)
    assert canceled["status"] == "canceled", canceled
    # the training loop itself noticed the request (not a lost lease); how fast is for bench/
    journal = parse_sse(client.get(f"/v1/jobs/{job_id}/events", headers=gen).get_data(as_text=True))
    asked = next(i for i, e in enumerate(journal) if e["event"] == "log" and e["data"]["message"] == "cancel requested")
    stopped = [(e["data"]["from"], e["data"].get("reason")) for e in journal[asked:] if e["event"] == "status"]
    assert stopped == [("running", "canceled by request")], journal
    assert client.get("/v1/models", headers=gen).get_json()["count"] == 0

    inline = {
        "kind": "synthesize",
        "inputs": [ds["id"]],
        "seed": 3,
        "params": {"synthesizer": "tvae", "epochs": 1, "rows": 200},
    }
    synth = finished(client, gen, submit(client, gen, inline))
    assert synth["status"] == "succeeded", synth["error"]
    assert synth["params"]["holdout"] == 0.2 and synth["params"]["max_rows"] > 0
    result = synth["result"]
    assert result["device"] == "cpu" and result["model_id"] is None and result["rows"] == 200
    assert result["privacy_risk"] in {"low", "elevated"} and result["quality_score"] is not None
    assert set(artifacts(client, gen, synth["id"])) == {"rows.parquet", "report.json"}

    refused = [
        (
            {"kind": "train", "inputs": [ds["id"]], "params": {"metadata": {"salary": "numerical"}}},
            "params.metadata.salary",
        ),
        ({"kind": "synthesize", "params": {"model_id": "mdl_00000000000000000000000000"}}, "params.model_id"),
        ({"kind": "synthesize", "params": {"rows": 10}}, "inputs"),
        (
            {"kind": "synthesize", "inputs": [ds["id"]], "params": {"conditions": {"salary": 1}}},
            "params.conditions.salary",
        ),
    ]
    for body, field in refused:  # checked against the dataset or model at submit: nothing is queued
        response = client.post("/v1/jobs", json=body, headers=gen)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"]["details"][0]["field"] == field, response.get_json()
    empty = client.post(
        "/v1/datasets",
        data=parquet_bytes(adult_frame(10).iloc[:0]),
        query_string={"name": "empty.parquet"},
        content_type="application/octet-stream",
        headers=gen,
    )
    assert empty.status_code == 400 and empty.get_json()["error"]["code"] == "DATASET_INVALID"


def test_bad_params_are_400_naming_the_field(client: FlaskClient, keys: dict[str, str]) -> None:
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(60))
    cases = [
        ({"kind": "train", "inputs": [ds["id"]], "params": {"synthesizer": "gan"}}, "params.synthesizer"),
        ({"kind": "train", "inputs": [ds["id"]], "params": {"epochs": 5}}, "params.epochs"),
        ({"kind": "train", "inputs": [ds["id"]], "params": {"epochs": 0, "synthesizer": "ctgan"}}, "params.epochs"),
        ({"kind": "train", "inputs": [ds["id"]], "params": {"metadata": {"age": 3}}}, "params.metadata.age"),
        ({"kind": "train", "inputs": [ds["id"]], "params": {"holdout": 0.9}}, "params.holdout"),
        ({"kind": "train", "params": {}}, "inputs"),
        ({"kind": "synthesize", "params": {"model_id": "mdl_x"}}, "params.model_id"),
        (
            {"kind": "synthesize", "params": {"model_id": "mdl_00000000000000000000000000", "synthesizer": "tvae"}},
            "params.synthesizer",
        ),
        ({"kind": "synthesize", "params": {"rows": 0}}, "params.rows"),
        ({"kind": "synthesize", "params": {"format": "xlsx"}}, "params.format"),
    ]
    for body, field in cases:
        response = client.post("/v1/jobs", json=body, headers=gen)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"]["details"][0]["field"] == field, (body, response.get_json())
    assert client.get("/v1/models/mdl_00000000000000000000000000", headers=gen).status_code == 404
    assert client.get("/v1/evaluations/evl_00000000000000000000000000", headers=gen).status_code == 404
    missing = client.get("/v1/leaderboards", headers=gen)
    assert missing.status_code == 400 and missing.get_json()["error"]["details"][0]["field"] == "dataset_id"
    assert client.get("/v1/leaderboards?dataset_id=ds_none", headers=gen).get_json()["count"] == 0
    estimate = client.post(
        "/v1/estimate", json={"kind": "train", "params": {"synthesizer": "ctgan", "epochs": 100}}, headers=gen
    ).get_json()
    assert estimate["training_tier"] == "GPU-S" and abs(estimate["estimated_credits"] - 0.11) < 1e-9
    params = {"model_id": "mdl_00000000000000000000000000", "rows": 2_000_000}
    synth = client.post("/v1/estimate", json={"kind": "synthesize", "params": params}, headers=gen).get_json()
    assert synth["estimated_credits"] == 2.0
