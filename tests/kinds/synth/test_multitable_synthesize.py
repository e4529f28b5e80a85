"""A `synthesize` job over related datasets (``synthesizer: hma``): HMA trained inside the job with
a holdout cut along the keys, a report with DCR per table, the charge equal to `/v1/estimate` of
the same body; the published body (``"model": "hma"`` over inputs) reusing a trained model with the
same settings; and the submit-time 400s."""

from __future__ import annotations

import io
import json
import uuid
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.kinds.synth.test_jobs import artifacts, download
from tests.synth_data import upload_frame


def sites_meters(sites: int = 80, seed: int = 6) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    site_frame = pd.DataFrame({
        "site_id": np.arange(1, sites + 1),
        "grid": rng.choice(["a", "b", "c"], sites),
        "load_kw": rng.gamma(4.0, 50.0, sites).round(1),
    })
    per_site = rng.integers(1, 5, sites)
    meters = pd.DataFrame({
        "meter_id": np.arange(1, per_site.sum() + 1),
        "site_id": np.repeat(site_frame["site_id"].to_numpy(), per_site),
        "reading": rng.normal(230.0, 4.0, per_site.sum()).round(2),
        "phase": rng.choice(["L1", "L2", "L3"], per_site.sum()),
    })
    return site_frame, meters


def _post(client: FlaskClient, path: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
    return client.post(path, json=body, headers={**headers, "X-Idempotency-Key": uuid.uuid4().hex})


def _balance(client: FlaskClient, headers: dict[str, str]) -> float:
    return float(client.get("/v1/billing/balance", headers=headers).get_json()["credits"])


@pytest.mark.heavy
def test_synthesize_trains_hma_in_the_job_with_holdout_dcr_and_charges_its_estimate(
    client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs
) -> None:
    admin = auth(keys["admin"])
    sites, meters = sites_meters()
    inputs = [
        upload_frame(client, keys["admin"], sites, "sites.csv")["id"],
        upload_frame(client, keys["admin"], meters, "meters.csv")["id"],
    ]
    body = {"kind": "synthesize", "inputs": inputs, "seed": 3,
            "params": {"synthesizer": "hma", "rows": 150, "format": "csv"}}
    quoted = client.post("/v1/estimate", json=body, headers=admin).get_json()
    assert quoted["estimated_rows"] == 150 and quoted["training_tier"] == "CPU"
    before = _balance(client, admin)
    submitted = _post(client, "/v1/jobs", admin, body)
    assert submitted.status_code == 202, submitted.get_json()
    assert submitted.get_json()["estimate"]["credits"] == quoted["estimated_credits"]
    job = inline_jobs.finish(client, admin, submitted.get_json()["id"])
    assert job["status"] == "succeeded", job["error"]
    assert round(before - _balance(client, admin), 6) == quoted["estimated_credits"], "charge != estimate"
    result = job["result"]
    assert job["rows"] == 150 and result["root_rows"] == 150 and result["tables"]["sites"] == 150
    assert result["rows"] == sum(result["tables"].values()) > 150 and result["privacy_risk"] in ("low", "elevated")
    files = artifacts(client, admin, job["id"])
    assert set(files) == {"sites.csv", "meters.csv", "report.json"}
    parents = pd.read_csv(io.BytesIO(download(client, admin, files["sites.csv"])))
    children = pd.read_csv(io.BytesIO(download(client, admin, files["meters.csv"])))
    assert parents["site_id"].is_unique and set(children["site_id"]) <= set(parents["site_id"])
    report = json.loads(download(client, admin, files["report.json"]))
    holdout = {name: t["holdout_rows"] for name, t in report["source"]["tables"].items()}
    assert holdout["sites"] == 16 and holdout["meters"] > 0 and report["source"]["holdout"] == 0.2
    for name in ("sites", "meters"):
        dcr = report["privacy"]["tables"][name]["dcr"]
        assert dcr["holdout_to_train"] is not None and dcr["ratio"] is not None, name
        assert report["quality_reference"][name]["score"] is not None
    assert report["quality"]["score"] is not None and report["model_id"] is None
    assert client.get("/v1/models", headers=admin).get_json()["count"] == 0, "an in-job model is not kept"


def test_published_body_reuses_a_matching_hma_model_and_bad_bodies_are_400(
    client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs
) -> None:
    gen = auth(keys["generate"])
    sites, meters = sites_meters(sites=60)
    one = upload_frame(client, keys["generate"], sites, "sites.csv")["id"]
    two = upload_frame(client, keys["generate"], meters, "meters.csv")["id"]
    published = {"model": "hma", "inputs": [one, two], "rows": 40, "seed": 8}
    fresh = _post(client, "/v1/synthesize/jobs", gen, published).get_json()
    assert fresh["params"]["synthesizer"] == "hma" and fresh["params"]["model_id"] is None
    assert client.post(fresh["_links"]["cancel"], headers=gen).get_json()["status"] == "canceled"

    train = _post(client, "/v1/jobs", gen, {"kind": "train", "inputs": [two, one], "params": {"synthesizer": "hma"}})
    model_id = inline_jobs.finish(client, gen, train.get_json()["id"])["result"]["model_id"]
    reused = _post(client, "/v1/synthesize/jobs", gen, published).get_json()
    assert reused["params"]["model_id"] == model_id and reused["inputs"] == []
    quoted = client.post("/v1/estimate", json={**published, "kind": "synthesize"}, headers=gen).get_json()
    assert quoted["estimated_credits"] == reused["estimate"]["credits"] == 40 / 1_000_000
    done = inline_jobs.finish(client, gen, reused["job_id"])
    assert done["status"] == "succeeded", done["error"]
    assert done["rows"] == 40 and done["result"]["tables"]["sites"] == 40
    other = _post(client, "/v1/synthesize/jobs", gen, {**published, "params": {"holdout": 0.1}}).get_json()
    assert other["params"]["model_id"] is None, "other settings must train"
    assert client.post(other["_links"]["cancel"], headers=gen).get_json()["status"] == "canceled"

    rel = {"parent_table": "sites", "parent_primary_key": "site_id", "child_table": "meters",
           "child_foreign_key": "site_id"}
    cases = [
        ({"kind": "synthesize", "inputs": [one], "params": {"synthesizer": "hma"}}, "params.synthesizer"),
        ({"kind": "synthesize", "inputs": [one, two], "params": {"synthesizer": "gaussian_copula"}}, "inputs"),
        ({"kind": "synthesize", "inputs": [one, two],
          "params": {"synthesizer": "hma", "class_proportions": {"a": 1.0}}}, "params.class_proportions"),
        ({"kind": "synthesize", "inputs": [one, two],
          "params": {"synthesizer": "hma", "relationships": [{**rel, "parent_primary_key": "x"}]}},
         "params.relationships.0.parent_primary_key"),
        ({"kind": "synthesize", "model": "hma", "dataset_id": one}, "dataset_id"),
        ({"kind": "synthesize", "inputs": [one], "params": {"relationships": [rel]}}, "params.relationships"),
    ]
    for body, field in cases:
        response = _post(client, "/v1/jobs", gen, body)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"]["details"][0]["field"] == field, (body, response.get_json())
