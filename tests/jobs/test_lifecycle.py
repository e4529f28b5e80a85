"""A job's whole life through a real consumer: submit, run, artifacts, events, rerun, verify."""

from __future__ import annotations

import json
from typing import Any

import blake3
from flask.testing import FlaskClient

from tests.conftest import InlineJobs, auth
from tests.jobs.conftest import mock_schema, wait_for


def parse_sse(text: str) -> list[dict[str, Any]]:
    events = []
    for block in text.strip().split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.splitlines() if ": " in line and not line.startswith(":"))
        if "event" in fields:
            events.append({"id": fields.get("id"), "event": fields["event"], "data": json.loads(fields["data"])})
    return events


def test_submit_run_download_and_events(client: FlaskClient, keys: dict[str, str], start_worker: Any) -> None:
    start_worker()
    headers = auth(keys["generate"])
    response = client.post(
        "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(5000)}, "seed": 7}, headers=headers
    )
    assert response.status_code == 202
    job = response.get_json()
    assert response.headers["X-Job-Id"] == job["id"] == job["job_id"]
    assert job["status"] == "queued" and job["estimate"]["credits"] == 0.005
    assert job["_links"] == {
        "self": f"/v1/jobs/{job['id']}",
        "stream": f"/v1/jobs/{job['id']}/events",
        "cancel": f"/v1/jobs/{job['id']}/cancel",
        "artifacts": f"/v1/artifacts?job_id={job['id']}",
    }

    stream = client.get(f"/v1/jobs/{job['id']}/events", headers=headers)  # follows live until the end
    assert stream.mimetype == "text/event-stream"
    events = parse_sse(stream.get_data(as_text=True))
    statuses = [e["data"]["status"] for e in events if e["event"] == "status"]
    assert statuses == ["created", "queued", "running", "succeeded"]
    assert events[-1]["event"] == "end"
    assert any(e["event"] == "progress" and e["data"]["rows"] == 5000 for e in events)

    done = wait_for(client, headers, job["id"], {"succeeded"})
    assert done["rows"] == 5000 and done["progress"] == 1.0 and done["result"]["rows"] == 5000

    listed = client.get(f"/v1/artifacts?job_id={job['id']}", headers=headers).get_json()["data"]
    assert [a["name"] for a in listed] == ["readings.parquet"]
    art = listed[0]
    body = client.get(f"/v1/artifacts/{art['id']}/download", headers=headers)
    assert body.status_code == 200 and body.headers["ETag"] == f'"{art["blake3"]}"'
    assert blake3.blake3(body.data).hexdigest() == art["blake3"] and len(body.data) == art["size"]
    ranged = client.get(f"/v1/artifacts/{art['id']}/download", headers={**headers, "Range": "bytes=0-3"})
    assert ranged.status_code == 206 and ranged.data == b"PAR1"
    cached = client.get(
        f"/v1/artifacts/{art['id']}/download", headers={**headers, "If-None-Match": f'"{art["blake3"]}"'}
    )
    assert cached.status_code == 304

    # replay from Last-Event-ID gives only what came after it
    second_id = events[1]["id"]
    replay = parse_sse(
        client.get(f"/v1/jobs/{job['id']}/events", headers={**headers, "Last-Event-ID": second_id}).get_data(
            as_text=True
        )
    )
    assert [e["id"] for e in replay if e["event"] != "end"] == [e["id"] for e in events[2:] if e["event"] != "end"]


def test_rerun_has_same_contract_and_identical_bytes(
    client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs
) -> None:
    headers = auth(keys["generate"])
    first = client.post("/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(3000)}}, headers=headers)
    first_job = first.get_json()
    assert isinstance(first_job["seed"], int)  # a random seed, recorded
    again = client.post(f"/v1/jobs/{first_job['id']}/rerun", headers=headers)
    assert again.status_code == 202
    second_job = again.get_json()
    assert second_job["rerun_of"] == first_job["id"]
    assert second_job["contract_hash"] == first_job["contract_hash"] and second_job["id"] != first_job["id"]
    digests = []
    for job_id in (first_job["id"], second_job["id"]):
        inline_jobs.finish(client, headers, job_id)
        digests.append(client.get(f"/v1/artifacts?job_id={job_id}", headers=headers).get_json()["data"][0]["blake3"])
    assert digests[0] == digests[1]


def test_verify_kind_checks_an_artifact(
    client: FlaskClient, keys: dict[str, str], inline_jobs: InlineJobs, state_dir: Any
) -> None:
    headers = auth(keys["generate"])
    job = client.post("/v1/mock/jobs", json={"params": {"schema": mock_schema(100)}, "seed": 1}, headers=headers)
    assert job.get_json()["kind"] == "mock"
    inline_jobs.finish(client, headers, job.get_json()["id"])
    art = client.get(f"/v1/artifacts?job_id={job.get_json()['id']}", headers=headers).get_json()["data"][0]

    ok = client.post("/v1/jobs", json={"kind": "verify", "params": {"artifact_id": art["id"]}}, headers=headers)
    assert inline_jobs.finish(client, headers, ok.get_json()["id"])["result"] == {"ok": True, "detail": "match"}

    blob = state_dir / "blobs" / art["blake3"][:2] / art["blake3"][2:]
    blob.write_bytes(blob.read_bytes() + b"tampered")
    bad = client.post("/v1/jobs", json={"kind": "verify", "params": {"artifact_id": art["id"]}}, headers=headers)
    result = inline_jobs.finish(client, headers, bad.get_json()["id"])["result"]
    assert result == {"ok": False, "detail": "content changed"}


def test_list_filters_and_pagination(client: FlaskClient, keys: dict[str, str]) -> None:
    headers = auth(keys["generate"])
    ids = [
        client.post(
            "/v1/jobs", json={"kind": "mock", "params": {"schema": mock_schema(10)}}, headers=headers
        ).get_json()["id"]
        for _ in range(3)
    ]
    client.post(f"/v1/jobs/{ids[0]}/cancel", headers=headers)
    page = client.get("/v1/jobs?limit=2&order=asc", headers=headers).get_json()
    assert page["has_more"] and [j["id"] for j in page["data"]] == ids[:2]
    rest = client.get(f"/v1/jobs?limit=2&order=asc&after={page['next_after']}", headers=headers).get_json()
    assert [j["id"] for j in rest["data"]] == ids[2:] and not rest["has_more"]
    canceled = client.get("/v1/jobs?status=canceled", headers=headers).get_json()["data"]
    assert [j["id"] for j in canceled] == [ids[0]]
    assert client.get("/v1/jobs?kind=verify", headers=headers).get_json()["count"] == 0
    kinds = {k["kind"]: k for k in client.get("/v1/jobs/kinds", headers=headers).get_json()["data"]}
    assert kinds["mock"]["available"] and kinds["verify"]["available"] and kinds["train"]["queue"] == "gpu"
