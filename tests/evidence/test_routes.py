"""Every new route's answers and bad inputs: seals, checkpoint, consistency proof, evidence,
signing keys. Other tenants' seals and evidence are 404; the log-wide routes need only `read`."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.services import identity
from tests.conftest import auth

UNKNOWN_JOB = "job_00000000000000000000000000"


def _error(response: Any, status: int) -> dict[str, Any]:
    assert response.status_code == status, response.get_data(as_text=True)
    body: dict[str, Any] = response.get_json()["error"]
    assert body["status"] == status and body["message"]
    return body


def test_empty_log_has_no_checkpoint_and_no_proofs(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["read"])
    assert client.get("/v1/seals", headers=headers).get_json() == {
        "data": [],
        "count": 0,
        "has_more": False,
        "next_after": None,
    }
    assert "empty" in _error(client.get("/v1/seals/checkpoint", headers=headers), 404)["message"]
    _error(client.get("/v1/seals/proof/consistency?from=1", headers=headers), 404)
    assert client.get("/v1/keys/signing", headers=headers).get_json() == {"data": [], "count": 0, "trust_file": ""}


def test_seal_list_detail_and_pagination(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    headers = auth(keys["read"])
    jobs = [make_sealed_job() for _ in range(3)]
    page = client.get("/v1/seals?limit=2", headers=headers).get_json()
    assert page["count"] == 2 and page["has_more"]
    rest = client.get(f"/v1/seals?limit=2&after={page['next_after']}", headers=headers).get_json()
    seals = page["data"] + rest["data"]
    assert [s["job_id"] for s in seals] == [j["id"] for j in jobs]
    assert [s["leaf_index"] for s in seals] == [0, 1, 2] and not rest["has_more"]
    detail = client.get(f"/v1/seals/{seals[1]['id']}", headers=headers).get_json()
    assert detail["_links"]["evidence"] == f"/v1/evidence/{jobs[1]['id']}"
    assert len(detail["leaf_hash"]) == 64 and "signatures" in detail["envelope"]
    one = client.get(f"/v1/seals?job_id={jobs[2]['id']}", headers=headers).get_json()
    assert [s["id"] for s in one["data"]] == [seals[2]["id"]]

    checkpoint = client.get("/v1/seals/checkpoint", headers=headers).get_json()
    assert checkpoint["tree_size"] == 3 and checkpoint["origin"].startswith("sealforge.local/seal-log/")
    origin = checkpoint["origin"]
    assert checkpoint["note"].startswith(f"{origin}\n3\n{checkpoint['root']}\n\n— {origin} ")  # key name = origin
    text = client.get("/v1/seals/checkpoint?format=text", headers=headers)
    assert text.mimetype == "text/plain" and text.get_data(as_text=True) == checkpoint["note"]
    proof = client.get("/v1/seals/proof/consistency?from=1&to=3", headers=headers).get_json()
    assert proof["from_size"] == 1 and proof["to_size"] == 3 and proof["hash"] == checkpoint["tree_hash"] == "sha256"
    assert len(proof["hashes"]) == 2
    assert client.get("/v1/seals/proof/consistency?from=2", headers=headers).get_json()["to_size"] == 3
    same = client.get("/v1/seals/proof/consistency?from=3&to=3", headers=headers).get_json()
    assert same["hashes"] == []


@pytest.mark.parametrize(
    "query,field",
    [
        ("", "from"),
        ("from=abc", "from"),
        ("from=0", "from"),
        ("from=-1", "from"),
        ("from=1&to=0", "to"),
        ("from=1&to=x", "to"),
        ("from=3&to=2", "from"),
        ("from=1&to=4", "to"),
        ("from=5", "from"),
    ],
)
def test_bad_consistency_queries_name_the_field(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]], query: str, field: str
) -> None:
    for _ in range(3):
        make_sealed_job()
    error = _error(client.get(f"/v1/seals/proof/consistency?{query}", headers=auth(keys["read"])), 400)
    assert error["code"] == "VALIDATION_FAILED"
    assert field in [d["field"] for d in error["details"]]


def test_bad_checkpoint_and_seal_queries(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    make_sealed_job()
    headers = auth(keys["read"])
    assert (
        _error(client.get("/v1/seals/checkpoint?format=xml", headers=headers), 400)["details"][0]["field"] == "format"
    )
    assert _error(client.get("/v1/seals?limit=0", headers=headers), 400)["details"][0]["field"] == "limit"
    assert _error(client.get("/v1/seals/seal_00000000000000000000000000", headers=headers), 404)["code"] == "NOT_FOUND"


def test_evidence_errors(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    headers = auth(keys["read"])
    sealed = make_sealed_job()
    running = make_sealed_job(status="running")
    assert "not found" in _error(client.get(f"/v1/evidence/{UNKNOWN_JOB}", headers=headers), 404)["message"]
    conflict = _error(client.get(f"/v1/evidence/{running['id']}", headers=headers), 409)
    assert conflict["code"] == "CONFLICT" and "running" in conflict["message"]
    for query, field in (("prev_size=0", "prev_size"), ("prev_size=2", "prev_size"), ("prev_size=x", "prev_size")):
        error = _error(client.get(f"/v1/evidence/{sealed['id']}?{query}", headers=headers), 400)
        assert error["details"][0]["field"] == field
    bad_flag = _error(client.get(f"/v1/evidence/{sealed['id']}?include_artifacts=perhaps", headers=headers), 400)
    assert bad_flag["details"][0]["field"] == "include_artifacts"


def test_missing_blob_with_include_artifacts_is_503(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]], state_dir: Any
) -> None:
    job = make_sealed_job({"gone.bin": b"soon gone"})
    for blob in (state_dir / "blobs").rglob("*"):
        if blob.is_file():
            blob.unlink()
    headers = auth(keys["read"])
    assert client.get(f"/v1/evidence/{job['id']}", headers=headers).status_code == 200
    error = _error(client.get(f"/v1/evidence/{job['id']}?include_artifacts=true", headers=headers), 503)
    assert "gone.bin" in error["message"]


def test_other_tenants_seals_and_evidence_are_404(
    client: FlaskClient, db: Any, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    other = identity.create_tenant(db, "globex")
    theirs = make_sealed_job(tenant_id=other["id"])
    mine = make_sealed_job()
    headers = auth(keys["read"])
    listed = client.get("/v1/seals", headers=headers).get_json()["data"]
    assert [s["job_id"] for s in listed] == [mine["id"]]
    their_key = identity.create_key(db, other["id"], ["read"])["api_key"]
    their_seal = client.get("/v1/seals", headers=auth(their_key)).get_json()["data"][0]
    assert _error(client.get(f"/v1/seals/{their_seal['id']}", headers=headers), 404)["code"] == "NOT_FOUND"
    assert _error(client.get(f"/v1/evidence/{theirs['id']}", headers=headers), 404)["code"] == "NOT_FOUND"
    assert client.get(f"/v1/seals?job_id={theirs['id']}", headers=headers).get_json()["count"] == 0
    # the log itself is shared: both tenants see the same checkpoint
    assert client.get("/v1/seals/checkpoint", headers=headers).get_json()["tree_size"] == 2
    assert client.get("/v1/seals/checkpoint", headers=auth(their_key)).get_json()["tree_size"] == 2


def test_signing_keys_route_does_not_clash_with_api_keys(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    make_sealed_job()
    listed = client.get("/v1/keys/signing", headers=auth(keys["read"]))
    assert listed.status_code == 200, listed.get_json()
    body = listed.get_json()
    assert body["count"] == 1 and body["data"][0]["active"] is True
    key = body["data"][0]
    assert key["verifier_key"].startswith(key["key_id"] + "+") and key["name"] == key["key_id"].split("+")[0]
    assert body["trust_file"].splitlines()[-1] == key["verifier_key"]
    assert client.get("/v1/client/keys/signing", headers=auth(keys["read"])).get_json() == body
    # the API-key routes still answer for their own ids, with their own (admin) scope
    assert client.get("/v1/keys/key_00000000000000000000000000", headers=auth(keys["read"])).status_code == 403
    assert client.get("/v1/keys/key_00000000000000000000000000", headers=auth(keys["admin"])).status_code == 404
    assert client.get("/v1/keys", headers=auth(keys["admin"])).status_code == 200
    assert client.delete("/v1/keys/signing", headers=auth(keys["admin"])).status_code == 404
    assert client.get("/v1/keys/signing").status_code == 401
