"""The pages' content through the Flask test client: what each page shows from the services, and
the actions behind their buttons (rerun), with the same answers the API gives."""

from __future__ import annotations

from typing import Any

from flask import Flask

from tests.conftest import auth, mock_schema
from tests.web.conftest import Users, session_client


def _finished_job(app: Flask, keys: dict[str, str], inline_jobs: Any) -> str:
    client = app.test_client()
    body = {"kind": "mock", "params": {"schema": mock_schema(50)}}
    job_id = str(client.post("/v1/jobs", json=body, headers=auth(keys["generate"])).get_json()["id"])
    inline_jobs.finish(client, auth(keys["read"]), job_id)
    return job_id


def test_overview_jobs_and_evidence_show_a_finished_job(
    app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any
) -> None:
    job_id = _finished_job(app, keys, inline_jobs)
    client, _ = session_client(app, users["read"])
    overview = client.get("/").get_data(as_text=True)
    assert job_id in overview and 'data-testid="credits"' in overview and "schema version" in overview
    live = client.get("/overview/live").get_data(as_text=True)
    assert job_id in live and "<html" not in live
    page = client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert "readings" in page and f"/v1/jobs/{job_id}/events" in page and 'data-testid="contract-hash"' in page
    assert 'data-testid="rerun"' not in page  # read only
    seals = client.get("/evidence").get_data(as_text=True)
    assert job_id in seals and "Download the trust file" in seals
    seal = client.get(f"/evidence/{job_id}").get_data(as_text=True)
    assert f"sealforge-verify {job_id}.tar --trust sealforge-trust.txt" in seal
    trust = client.get("/evidence/trust-file")
    assert trust.status_code == 200 and trust.headers["Content-Disposition"].endswith('"sealforge-trust.txt"')
    assert trust.get_data(as_text=True) == client.get("/v1/keys/signing").get_json()["trust_file"]


def test_a_job_not_succeeded_has_no_seal_page(app: Flask, users: Users, keys: dict[str, str]) -> None:
    client, _ = session_client(app, users["read"])
    body = {"kind": "mock", "params": {"schema": mock_schema(10)}}
    job_id = client.post("/v1/jobs", json=body, headers=auth(keys["generate"])).get_json()["id"]
    answer = client.get(f"/evidence/{job_id}")
    assert answer.status_code == 409 and 'data-code="CONFLICT"' in answer.get_data(as_text=True)
    assert client.get("/evidence/trust-file").status_code == 404  # nothing sealed, so no key yet


def test_the_filter_form_swaps_the_table_and_links_get_the_page(
    app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any
) -> None:
    job_id = _finished_job(app, keys, inline_jobs)
    client, _ = session_client(app, users["read"])
    table = client.get("/jobs?status=succeeded", headers={"HX-Request": "true", "HX-Target": "jobs-table"})
    assert job_id in table.get_data(as_text=True) and "<html" not in table.get_data(as_text=True)
    back = {"HX-Request": "true", "HX-History-Restore-Request": "true"}  # htmx restoring history
    restored = client.get("/jobs?status=succeeded", headers=back)
    assert "<html" in restored.get_data(as_text=True)
    none = client.get("/jobs?status=failed").get_data(as_text=True)
    assert job_id not in none and 'data-testid="no-jobs"' in none


def test_rerun_from_the_page(app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any) -> None:
    job_id = _finished_job(app, keys, inline_jobs)
    client, csrf = session_client(app, users["generate"])
    assert 'data-testid="rerun"' in client.get(f"/jobs/{job_id}").get_data(as_text=True)
    assert client.post(f"/jobs/{job_id}/rerun", data={}).status_code == 403  # no CSRF token
    answer = client.post(f"/jobs/{job_id}/rerun", data={"csrf_token": csrf})
    assert answer.status_code == 303
    new_id = answer.headers["Location"].rsplit("/", 1)[1]
    new = client.get(f"/v1/jobs/{new_id}").get_json()
    assert new["rerun_of"] == job_id
    assert new["contract_hash"] == client.get(f"/v1/jobs/{job_id}").get_json()["contract_hash"]
    reader, token = session_client(app, users["read"])
    assert reader.post(f"/jobs/{job_id}/rerun", data={"csrf_token": token}).status_code == 403
    assert client.post("/jobs/job_01JD0000000000000000000000/rerun", data={"csrf_token": csrf}).status_code == 404


def test_a_bug_in_a_page_is_a_plain_500_page(app: Flask, users: Users, monkeypatch: Any) -> None:
    from appliance.web import overview

    def broken(*_: Any) -> Any:
        raise RuntimeError("boom in /srv/sealforge/secret.py")

    monkeypatch.setattr(overview.credits, "balance", broken)  # a bug cannot be made any other way
    client, _ = session_client(app, users["read"])
    answer = client.get("/")
    text = answer.get_data(as_text=True)
    assert answer.status_code == 500 and 'data-code="INTERNAL"' in text
    assert "boom" not in text and "/srv/" not in text


def test_verify_from_the_seal_page(app: Flask, users: Users, keys: dict[str, str], inline_jobs: Any) -> None:
    job_id = _finished_job(app, keys, inline_jobs)
    client, csrf = session_client(app, users["generate"])
    assert 'data-testid="verify"' in client.get(f"/evidence/{job_id}").get_data(as_text=True)
    answer = client.post(f"/evidence/{job_id}/verify", data={"csrf_token": csrf})
    assert answer.status_code == 303
    verify_id = answer.headers["Location"].rsplit("/", 1)[1]
    inline_jobs.finish(client, auth(keys["read"]), verify_id)
    page = client.get(f"/jobs/{verify_id}").get_data(as_text=True)
    result = page.split('data-testid="job-result"')[1].split("</dd>")[0]
    assert "signature" in result and "state-failed" not in result and ">pass<" in result
    reader, token = session_client(app, users["read"])
    assert 'data-testid="verify"' not in reader.get(f"/evidence/{job_id}").get_data(as_text=True)
    assert reader.post(f"/evidence/{job_id}/verify", data={"csrf_token": token}).status_code == 403
    queued = client.post("/v1/jobs", json={"kind": "mock", "queue": "gpu", "params": {"schema": mock_schema(5)}},
                         headers={"X-CSRF-Token": csrf}).get_json()["id"]
    assert client.post(f"/evidence/{queued}/verify", data={"csrf_token": csrf}).status_code == 409
