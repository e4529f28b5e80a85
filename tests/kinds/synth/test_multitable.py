"""Multi-table synthesis (``synthesizer: hma``) through a real `gpu`-queue worker: two related
tables in, one model, one artifact per table out with every foreign key resolving, a report, the
same bytes on a rerun; and the submit-time 400s that name the field at fault."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from flask.testing import FlaskClient

from tests.conftest import auth
from tests.kinds.synth.test_jobs import artifacts, download, finished, submit
from tests.synth_data import upload_frame

ROOT = Path(__file__).resolve().parents[3]


def customers_orders(seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    customers = pd.DataFrame(
        {
            "customer_id": np.arange(1, 41),
            "age": rng.integers(18, 80, 40),
            "tier": rng.choice(["gold", "silver", "bronze"], 40),
        }
    )
    orders = pd.DataFrame(
        {
            "order_id": np.arange(1001, 1121),
            "customer_id": rng.integers(1, 41, 120),
            "amount": rng.gamma(2.0, 30.0, 120).round(2),
            "channel": rng.choice(["web", "shop"], 120),
        }
    )
    return customers, orders


@pytest.mark.heavy
def test_hma_train_synthesize_keys_resolve_and_rerun_is_identical(
    client: FlaskClient, keys: dict[str, str], start_worker: Any
) -> None:
    start_worker("gpu")
    gen = auth(keys["generate"])
    customers, orders = customers_orders()
    inputs = [
        upload_frame(client, keys["generate"], customers, "customers.csv")["id"],
        upload_frame(client, keys["generate"], orders, "orders.csv")["id"],
    ]
    train = finished(
        client, gen, submit(client, gen, {"kind": "train", "inputs": inputs, "params": {"synthesizer": "hma"}})
    )
    assert train["status"] == "succeeded", train["error"]
    result = train["result"]
    assert result["tables"] == {"customers": 40, "orders": 120} and result["relationships_detected"] is True
    assert result["relationships"] == [
        {
            "parent_table_name": "customers",
            "parent_primary_key": "customer_id",
            "child_table_name": "orders",
            "child_foreign_key": "customer_id",
        }
    ]
    meta = json.loads(download(client, gen, artifacts(client, gen, train["id"])["metadata.json"]))
    assert meta["relationships_detected"] is True and meta["tables"] == ["customers", "orders"]
    model = client.get(f"/v1/models/{result['model_id']}", headers=gen).get_json()
    assert model["synthesizer"] == "hma" and {c["table"] for c in model["columns"]} == {"customers", "orders"}

    body = {"params": {"model_id": model["id"], "rows": 20}, "seed": 11}
    runs = [finished(client, gen, submit(client, gen, body, "/v1/synthesize/jobs")) for _ in range(2)]
    files = [artifacts(client, gen, run["id"]) for run in runs]
    assert runs[0]["status"] == "succeeded", runs[0]["error"]
    assert set(files[0]) == {"customers.parquet", "orders.parquet", "report.json"}
    parents = pd.read_parquet(io.BytesIO(download(client, gen, files[0]["customers.parquet"])))
    children = pd.read_parquet(io.BytesIO(download(client, gen, files[0]["orders.parquet"])))
    assert len(parents) == 20 and len(children) > 0 and parents["customer_id"].is_unique
    assert set(children["customer_id"]) <= set(parents["customer_id"]), "a synthetic order has no customer"
    report = json.loads(download(client, gen, files[0]["report.json"]))
    assert report["rows"]["customers"] == 20 and set(report["tables"]) == {"customers", "orders"}
    assert report["quality"]["score"] is not None and 0 < report["quality"]["score"] <= 1
    assert {name: a["blake3"] for name, a in files[0].items()} == {name: a["blake3"] for name, a in files[1].items()}


def test_hma_bad_inputs_are_400_naming_the_field(client: FlaskClient, keys: dict[str, str]) -> None:
    gen = auth(keys["generate"])
    customers, orders = customers_orders()
    one = upload_frame(client, keys["generate"], customers, "customers.csv")["id"]
    two = upload_frame(client, keys["generate"], orders, "orders.csv")["id"]
    clash = upload_frame(client, keys["generate"], orders, "orders.parquet.csv")["id"]
    extra = [upload_frame(client, keys["generate"], orders, f"extra{i}.csv")["id"] for i in range(3)]
    # SDV's community HMA fits at most 5 tables: a sixth is refused at submit, not in the job.
    six = client.post("/v1/jobs", json={"kind": "train", "inputs": [one, two, clash, *extra],
                                         "params": {"synthesizer": "hma"}}, headers=auth(keys["generate"]))
    assert six.status_code == 400 and "at most 5" in six.get_json()["error"]["details"][0]["message"], six.get_json()
    rel = {
        "parent_table": "customers",
        "parent_primary_key": "customer_id",
        "child_table": "orders",
        "child_foreign_key": "customer_id",
    }
    cases = [
        ({"inputs": [one], "params": {"synthesizer": "hma"}}, "params.synthesizer"),
        ({"inputs": [one, two], "params": {"synthesizer": "gaussian_copula"}}, "params.synthesizer"),
        ({"inputs": [one, two], "params": {}}, "params.synthesizer"),
        ({"inputs": [two, clash], "params": {"synthesizer": "hma"}}, "inputs"),
        (
            {
                "inputs": [one, two],
                "params": {"synthesizer": "hma", "relationships": [{**rel, "child_foreign_key": "cid"}]},
            },
            "params.relationships.0.child_foreign_key",
        ),
        (
            {"inputs": [one, two], "params": {"synthesizer": "hma", "relationships": [{**rel, "child_table": "x"}]}},
            "params.relationships.0.child_table",
        ),
        (
            {"inputs": [one], "params": {"relationships": [rel]}},
            "params.relationships",
        ),
    ]
    for body, field in cases:
        response = client.post("/v1/jobs", json={"kind": "train", **body}, headers=gen)
        assert response.status_code == 400, (body, response.get_json())
        assert response.get_json()["error"]["details"][0]["field"] == field, (body, response.get_json())


SCRIPT = """
import sys, json
from pathlib import Path
from appliance.services.synth import multi, offline
folder = Path(sys.argv[1])
offline.prepare(folder / "state-child")
meta = multi.MultiMetadata.from_json(json.loads((folder / "meta.json").read_text()))
for name, frame in multi.HMAModel.load(folder / "model.pkl").sample(15, 99, meta).items():
    frame.to_parquet(folder / f"{name}-child.parquet")
"""


@pytest.mark.heavy
def test_hma_given_relationships_seeded_alike_across_processes(sdv_home: Path, tmp_path: Path) -> None:
    from appliance.services.synth import multi

    customers, orders = customers_orders()
    rel = {
        "parent_table": "c",
        "parent_primary_key": "customer_id",
        "child_table": "o",
        "child_foreign_key": "customer_id",
    }
    frames, meta = multi.detect({"c": customers, "o": orders}, [rel])
    assert meta.relationships_detected is False and meta.roots() == ["c"]
    model = multi.HMAModel()
    model.fit(frames, meta)
    model.save(tmp_path / "model.pkl")
    (tmp_path / "meta.json").write_text(json.dumps(meta.to_json(), default=str))
    here = model.sample(15, 99, meta)
    assert len(here["c"]) == 15 and set(here["o"]["customer_id"]) <= set(here["c"]["customer_id"])
    assert not here["c"].equals(model.sample(15, 100, meta)["c"]), "the seed changes nothing"
    scores = multi.quality(frames, here, meta, 99)
    assert "error" not in scores["quality"] and scores["quality"]["cardinality"] is not None
    env = {**os.environ, "PYTHONHASHSEED": "5", "PYTHONPATH": str(ROOT)}
    subprocess.run([sys.executable, "-c", SCRIPT, str(tmp_path)], env=env, check=True, timeout=120)
    for name, frame in here.items():
        assert pd.read_parquet(tmp_path / f"{name}-child.parquet").equals(frame), name
