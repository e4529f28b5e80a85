"""The published pages' REST examples, run as written against a live appliance.

The pages (`shared/seeds/` beside the repository) are the compatibility target: a script written
against them must run with only the base URL and key changed. This module takes the estimate
`curl` block from the jobs page verbatim (substituting only the base URL and key) and runs it in
bash, sends the v1 page's `POST /v1/synthesize/jobs` request with its headers and body (the
dataset id substituted by a real upload) and checks the documented 202, its headers and links, and
checks the error format the REST reference shows. The jobs page's Python SDK examples run as
written in tests/sdk/test_radmah_sdk.py.
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import forget_worker_log, spawn_worker, stop_worker
from tests.live_appliance import ApiProcess, api_process, tenant_with_key
from tests.synth_data import adult_frame, csv_bytes

SEEDS = (Path(__file__).resolve().parents[1] / ".." / "shared" / "seeds").resolve()
PAGE_URL = "https://api.radmah.ai"
PAGE_KEY = "sl_live_..."


@pytest.fixture(scope="module")
def live(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[ApiProcess, str, Path]]:
    """The API with rate limits on (the pages' headers come from them) and a `gpu` worker."""
    work = tmp_path_factory.mktemp("seeds")
    state = work / "var"
    _, key = tenant_with_key(state, "acme", ["generate"])
    with api_process(state, work / "api.log") as server:
        log = work / "worker-gpu.log"
        worker = spawn_worker(state, log, "gpu")
        try:
            yield server, key, work
        finally:
            stop_worker(worker)
            forget_worker_log(log)


def _estimate_block() -> str:
    """The jobs page's estimate example: from its `curl` line to the closing `}'` of its body."""
    text = (SEEDS / "jobs-and-sdk.txt").read_text()
    start = text.index("curl https://api.radmah.ai/v1/client/estimate")
    end = text.index("}'", start) + 2
    return text[start:end]


def test_the_estimate_curl_runs_as_written(live: tuple[ApiProcess, str, Path]) -> None:
    server, key, _ = live
    block = _estimate_block()
    assert block.count(PAGE_URL) == 1 and block.count(PAGE_KEY) == 1
    script = block.replace(PAGE_URL, server.url).replace(PAGE_KEY, key)
    done = subprocess.run(["bash", "-c", "set -euo pipefail\n" + script], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    # The page: { "estimated_credits": 1, "training_tier": "GPU-S" }. 1,000,000 rows are 1 credit,
    # plus the training tier's price; the tier names this box's hardware (CPU here).
    assert round(answer["estimated_credits"]) == 1
    assert answer["training_tier"] in {"CPU", "GPU-S", "GPU-M", "GPU-L"}


def test_the_v1_synthesize_request_answers_as_the_page_shows(live: tuple[ApiProcess, str, Path]) -> None:
    server, key, _ = live
    uploaded = httpx.post(
        f"{server.url}/v1/datasets",
        params={"name": "adult.csv"},
        content=csv_bytes(adult_frame(300)),
        headers={"X-API-Key": key, "Content-Type": "text/csv"},
        timeout=30,
    )
    assert uploaded.status_code == 201, uploaded.text
    headers = {"X-API-Key": key, "X-Idempotency-Key": "8e0c-seed-example-b21", "Content-Type": "application/json"}
    body = {"dataset_id": uploaded.json()["id"], "model": "synthesize", "rows": 10000, "seed": 42}

    answer = httpx.post(f"{server.url}/v1/synthesize/jobs", json=body, headers=headers, timeout=30)
    assert answer.status_code == 202, answer.text
    job = answer.json()
    assert answer.headers["X-Job-Id"] == job["job_id"] and answer.headers["X-Rate-Limit-Remaining"].isdigit()
    assert job["status"] == "queued" and set(job["estimate"]) >= {"credits", "seconds"}
    assert job["evidence"] == {"expected_root_pending": True}
    links = job["_links"]
    assert {name: links[name] for name in ("self", "stream", "cancel")} == {
        "self": f"/v1/synthesize/jobs/{job['job_id']}",
        "stream": f"/v1/synthesize/jobs/{job['job_id']}/events",
        "cancel": f"/v1/synthesize/jobs/{job['job_id']}:cancel",
    }

    again = httpx.post(f"{server.url}/v1/synthesize/jobs", json=body, headers=headers, timeout=30)
    assert again.status_code == 202 and again.json()["job_id"] == job["job_id"]  # the idempotent replay

    stream = httpx.get(server.url + links["stream"], headers={"X-API-Key": key}, timeout=300).text
    assert "event: end" in stream and '"succeeded"' in stream, stream[-2000:]
    done = httpx.get(server.url + links["self"], headers={"X-API-Key": key}, timeout=30).json()
    assert done["status"] == "succeeded" and done["rows"] == 10000, done
    late = httpx.post(server.url + links["cancel"], headers={"X-API-Key": key}, timeout=30)
    assert late.status_code == 409 and late.json()["error"]["status"] == 409  # finished: nothing to cancel


def test_errors_have_the_format_the_reference_shows(live: tuple[ApiProcess, str, Path]) -> None:
    """The reference's example is a CREDIT_LIMIT_EXCEEDED 429 with `code`, `message` and `status`."""
    server, _, work = live
    _, poor = tenant_with_key(work / "var", "poor", ["generate"], credits=0)
    answer = httpx.post(
        f"{server.url}/v1/client/jobs",
        json={"rows": 100000, "description": "customer transaction records"},
        headers={"X-API-Key": poor},
        timeout=30,
    )
    assert answer.status_code == 429
    error = answer.json()["error"]
    assert error["code"] == "CREDIT_LIMIT_EXCEEDED" and error["status"] == 429 and error["message"]
