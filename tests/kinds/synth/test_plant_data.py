"""Synthesis on the appliance's own plant data: a water-plant simulation with an attack, uploaded as
the Parquet file a `simulate` job writes, synthesized by one `synthesize` job."""

from __future__ import annotations

import io
import json
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask.testing import FlaskClient

from simulators import simulate
from tests.conftest import auth
from tests.kinds.synth.test_jobs import artifacts, download
from tests.synth_data import adult_frame, upload_frame

SCENARIO = {
    "plant": "water",
    "duration": 400,
    "sample_rate": 1,
    "seed": 3,
    "attacks": [{"technique": "T0856", "start": 150, "duration": 90, "targets": ["LIT101"], "magnitude": 0.3}],
}


@pytest.fixture
def telemetry() -> pa.Table:
    table: pa.Table = simulate(SCENARIO).table
    return table


def _upload(client: FlaskClient, key: str, table: pa.Table) -> dict[str, Any]:
    sink = io.BytesIO()
    pq.write_table(table, sink)
    response = client.post("/v1/datasets", data=sink.getvalue(), content_type="application/octet-stream",
                           query_string={"name": "water-telemetry.parquet"}, headers=auth(key))
    assert response.status_code == 201, response.get_json()
    body: dict[str, Any] = response.get_json()
    return body


@pytest.mark.heavy
def test_scenario_telemetry_keeps_its_timestamps_and_label_rules(
    client: FlaskClient, keys: dict[str, str], inline_jobs: Any, telemetry: pa.Table
) -> None:
    gen = auth(keys["generate"])
    ds = _upload(client, keys["generate"], telemetry)
    body = {"params": {"synthesizer": "gaussian_copula", "rows": 600}, "inputs": [ds["id"]], "seed": 4}
    created = client.post("/v1/synthesize/jobs", json=body, headers=gen)
    assert created.status_code == 202, created.get_json()
    job = inline_jobs.finish(client, gen, created.get_json()["job_id"])
    files = artifacts(client, gen, job["id"])
    rows = pq.read_table(io.BytesIO(download(client, gen, files["rows.parquet"])))
    assert rows.schema.field("timestamp").type == telemetry.schema.field("timestamp").type  # timestamp[ms, tz=UTC]
    real = telemetry.column("timestamp").cast(pa.int64()).to_numpy()
    synthetic = rows.column("timestamp").cast(pa.int64()).to_numpy()
    assert real.min() <= synthetic.min() and synthetic.max() <= real.max(), "inside the scenario's day, not 1970"
    assert np.all(synthetic % 1000 == 0), "the telemetry's 1-s resolution"
    assert len(np.unique(synthetic)) > 100
    report = json.loads(download(client, gen, files["report.json"]))
    assert report["quality"]["score"] is not None
    held = report["rules"]
    assert held["total"] > 0 and held["held"] == held["total"], [r for r in held["rules"] if r["violations"]]
    assert job["result"]["rules_held"] == job["result"]["rules_total"] == held["total"]
    assert any(r["type"] == "fixed_combinations" and "attack_id" in r["rule"] for r in held["rules"])
    labels = rows.select(["attack", "attack_id", "technique"]).to_pandas()
    assert labels.loc[labels["attack"] == 0, ["attack_id", "technique"]].isna().all().all()
    assert labels.loc[labels["attack"] == 1, "attack_id"].eq("A001").all() and (labels["attack"] == 1).any()


def test_bad_rules_are_400_naming_the_field(client: FlaskClient, keys: dict[str, str]) -> None:
    gen = auth(keys["generate"])
    ds = upload_frame(client, keys["generate"], adult_frame(40))
    ghost = {"type": "null_when", "column": "ghost", "when": {"income": ">50K"}}
    cases = [
        ({"kind": "train", "inputs": [ds["id"]], "params": {"rules": [{"type": "nope"}]}}, "params.rules.0"),
        ({"kind": "train", "inputs": [ds["id"]], "params": {"rules": [ghost]}}, "params.rules.0"),
        ({"kind": "synthesize", "inputs": [ds["id"]], "params": {"rules": [{"type": "range", "column": "age"}]}},
         "params.rules.0.min"),
        ({"kind": "synthesize", "inputs": [ds["id"]], "params": {"rules": [ghost]}}, "params.rules.0"),
        ({"kind": "train", "inputs": [ds["id"]], "params": {"rules": {"type": "range"}}}, "params.rules"),
    ]
    for body, field in cases:
        response = client.post("/v1/jobs", json=body, headers=gen)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"]["details"][0]["field"] == field, (body, response.get_json())
