"""The Python client's synthesize call: sampling by class (proportions and a condition) against the
real app, jobs run in-process."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sealforge_client import Client, SealforgeError
from sealforge_client._core import synthesize_params

from tests.synth_data import adult_frame


@pytest.fixture
def sdk(app: Flask, keys: dict[str, str]) -> Client:
    return Client("http://sealforge.test", api_key=keys["generate"], transport=httpx.WSGITransport(app=app))


def test_synthesize_by_class_proportions_and_condition(sdk: Client, inline_jobs: Any, tmp_path: Path) -> None:
    source = tmp_path / "adult.csv"
    adult_frame(300).to_csv(source, index=False)
    dataset = sdk.upload(source)
    job = sdk.synthesize(200, dataset_id=dataset["id"], synthesizer="gaussian_copula", class_column="income",
                         class_proportions={">50K": 1, "<=50K": 3}, format="parquet", seed=3)
    assert job["params"]["class_column"] == "income"
    inline_jobs.drain()
    done = sdk.job(job["id"])
    assert done["status"] == "succeeded", done["error"]
    (rows,) = [a for a in sdk.artifacts(job["id"]) if a["name"] == "rows.parquet"]
    assert sdk.read_table(rows["id"])["income"].value_counts().to_dict() == {"<=50K": 150, ">50K": 50}
    assert done["result"]["rules_held"] == done["result"]["rules_total"]

    trained = sdk.submit("train", {"class_column": "income"}, inputs=[dataset["id"]], seed=1)
    inline_jobs.drain()
    model_id = sdk.job(trained["id"])["result"]["model_id"]
    one = sdk.synthesize(40, model_id=model_id, conditions={"income": ">50K"}, seed=2)
    inline_jobs.drain()
    (rows,) = [a for a in sdk.artifacts(one["id"]) if a["name"] == "rows.parquet"]
    assert set(sdk.read_table(rows["id"])["income"]) == {">50K"}
    with pytest.raises(SealforgeError) as caught:
        sdk.synthesize(10, dataset_id=dataset["id"], class_proportions={">50K": 1})
    assert caught.value.details[0]["field"] == "params.class_proportions"


def test_synthesize_params_leave_out_what_is_not_given() -> None:
    assert synthesize_params("mdl_x", 5, None, None, None, {}) == {"rows": 5, "model_id": "mdl_x"}
    assert synthesize_params(None, 5, {"a": 1}, "a", {"1": 1.0}, {"synthesizer": "tvae"}) == {
        "rows": 5, "synthesizer": "tvae", "conditions": {"a": 1}, "class_column": "a", "class_proportions": {"1": 1.0}
    }
