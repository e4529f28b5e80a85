"""Bad submits get a 400 naming the field, and nothing is recorded."""

from __future__ import annotations

from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import auth
from tests.jobs.conftest import mock_schema


@pytest.mark.parametrize(
    "body,field",
    [
        ({}, "kind"),
        ({"kind": "teleport"}, "kind"),
        ({"kind": "mock", "params": {}}, "params.schema"),
        ({"kind": "mock", "params": {"schema": mock_schema(), "colour": 1}}, "params.colour"),
        ({"kind": "mock", "params": {"schema": mock_schema(), "format": "xlsx"}}, "params.format"),
        ({"kind": "mock", "params": {"schema": {"tables": []}}}, "params.schema.tables"),
        ({"kind": "mock", "params": {"schema": mock_schema(-5)}}, "params.schema.tables[0].rows"),
        ({"kind": "mock", "params": {"schema": mock_schema()}, "seed": -1}, "seed"),
        ({"kind": "mock", "params": {"schema": mock_schema()}, "seed": "abc"}, "seed"),
        ({"kind": "mock", "params": {"schema": mock_schema()}, "queue": "express"}, "queue"),
        ({"kind": "mock", "params": {"schema": mock_schema()}, "inputs": ["nope"]}, "inputs.0"),
        ({"kind": "verify", "params": {"artifact_id": "art_x"}}, "params.artifact_id"),
        ({"kind": "mock", "params": "schema"}, "params"),
    ],
)
def test_bad_submit_names_the_field(
    client: FlaskClient, keys: dict[str, str], body: dict[str, Any], field: str
) -> None:
    response = client.post("/v1/jobs", json=body, headers=auth(keys["generate"]))
    assert response.status_code == 400, response.get_json()
    fields = [d["field"] for d in response.get_json()["error"]["details"]]
    assert field in fields
    assert client.get("/v1/jobs", headers=auth(keys["read"])).get_json()["count"] == 0


def test_inputs_to_a_kind_that_takes_none_is_400(client: FlaskClient, keys: dict[str, str]) -> None:
    body = {"kind": "mock", "params": {"schema": mock_schema()}, "inputs": ["ds_00000000000000000000000000"]}
    response = client.post("/v1/jobs", json=body, headers=auth(keys["generate"]))
    assert response.status_code == 400
    error = response.get_json()["error"]
    assert error["details"][0]["field"] == "inputs" and "at most 0" in error["message"]


def test_kind_not_built_yet_is_400_kind_not_available(
    client: FlaskClient, keys: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    from appliance.kinds import REGISTRY
    from appliance.kinds.base import Kind

    for name in ("train", "synthesize"):  # every kind is built now; stand in an unbuilt one
        monkeypatch.setitem(REGISTRY, name, Kind(name, "gpu", "not built"))
    response = client.post("/v1/jobs", json={"kind": "train"}, headers=auth(keys["generate"]))
    assert response.status_code == 400
    assert response.get_json()["error"]["code"] == "KIND_NOT_AVAILABLE"
    alias = client.post("/v1/synthesize/jobs", json={}, headers=auth(keys["generate"]))
    assert alias.get_json()["error"]["code"] == "KIND_NOT_AVAILABLE"


def test_unknown_job_is_404_and_finished_job_cancel_is_409(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["generate"])
    assert client.get("/v1/jobs/job_00000000000000000000000000", headers=headers).status_code == 404
    job = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema()}}, headers=headers)
    job_id = job.get_json()["id"]
    assert client.post(f"/v1/jobs/{job_id}/cancel", headers=headers).get_json()["status"] == "canceled"
    again = client.post(f"/v1/jobs/{job_id}/cancel", headers=headers)
    assert again.status_code == 409 and again.get_json()["error"]["code"] == "CONFLICT"


def test_bad_last_event_id_is_400(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["generate"])
    job_id = client.post(
        "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema()}}, headers=headers
    ).get_json()["id"]
    response = client.get(f"/v1/jobs/{job_id}/events", headers={**headers, "Last-Event-ID": "x"})
    assert response.status_code == 400


def test_other_tenants_job_is_404(client: FlaskClient, db: Any, keys: dict[str, str]) -> None:
    from appliance.services import identity

    other = identity.create_key(db, identity.create_tenant(db, "globex", credits=10)["id"], ["admin"])["api_key"]
    job_id = client.post(
        "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema()}}, headers=auth(keys["generate"])
    ).get_json()["id"]
    for method, path in [
        ("GET", f"/v1/jobs/{job_id}"),
        ("POST", f"/v1/jobs/{job_id}/cancel"),
        ("POST", f"/v1/jobs/{job_id}/rerun"),
        ("GET", f"/v1/jobs/{job_id}/events"),
    ]:
        assert client.open(path, method=method, headers=auth(other)).status_code == 404, path
