"""Identical bytes uploaded at the same moment by several tenants, some under names that make the
upload fail: every accepted dataset keeps its bytes (preview and profile work), nothing answers
500, and once the collector has run no blob is left that nothing references (issue #12, item 1).

The uploads go over real HTTP to a threaded server on a loopback port, the profiles are computed by
a real worker process, and the collector is the real `sealforge admin gc` command.
"""

from __future__ import annotations

import http.client
import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import make_server

from tests.conftest import free_port

UPLOADS = 20
ROWS = 20_000
NAMES = ("r.csv", "r.parquet", "r.csv", "r.jsonl", "r.csv")  # parquet/jsonl: valid CSV bytes, wrong format


def csv_bytes(round_no: int) -> bytes:
    """A CSV big enough that checking it takes a while, new bytes every round."""
    rows = "".join(f"{i},{round_no},pump {i % 7},{i * 0.25}\n" for i in range(ROWS))
    return f"id,round,name,flow\n{rows}".encode()


class Api:
    def __init__(self, port: int) -> None:
        self.port = port

    def request(self, method: str, path: str, key: str, body: bytes | None = None) -> tuple[int, Any]:
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            headers = {"X-API-Key": key}
            if body is not None:
                headers["Content-Type"] = "application/octet-stream"
            conn.request(method, path, body=body, headers=headers)
            response = conn.getresponse()
            data = response.read()
            return response.status, json.loads(data) if data else None
        finally:
            conn.close()


@pytest.fixture
def api(app: Flask) -> Iterator[Api]:
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield Api(port)
    server.shutdown()
    thread.join(timeout=10)


@pytest.fixture
def tenant_keys(db: Any) -> list[str]:
    from appliance.services import identity

    return [
        identity.create_key(db, identity.create_tenant(db, f"plant-{i}", credits=1000)["id"], ["generate"])["api_key"]
        for i in range(3)
    ]


def upload_round(api: Api, keys: list[str], data: bytes) -> list[tuple[int, Any, str]]:
    barrier = threading.Barrier(UPLOADS)

    def one(i: int) -> tuple[int, Any, str]:
        key = keys[i % len(keys)]
        barrier.wait()
        status, body = api.request("POST", f"/v1/datasets?name={NAMES[i % len(NAMES)]}", key, data)
        return status, body, key

    with ThreadPoolExecutor(UPLOADS) as pool:
        return list(pool.map(one, range(UPLOADS)))


def wait_profile(api: Api, key: str, dataset_id: str, deadline: float) -> dict[str, Any]:
    while time.monotonic() < deadline:
        status, body = api.request("GET", f"/v1/datasets/{dataset_id}/profile", key)
        assert status in (200, 202), (status, body)
        if status == 200:
            return dict(body)
        assert body["status"] in ("created", "queued", "running"), body
        time.sleep(0.1)
    raise AssertionError(f"no profile for {dataset_id}")


def blob_files(state_dir: Path) -> set[str]:
    root = state_dir / "blobs"
    return {p.parent.name + p.name for p in root.glob("??/*") if p.is_file()}


def referenced(db: Any) -> set[str]:
    rows = db.execute("SELECT blake3 FROM datasets UNION SELECT blake3 FROM artifacts").fetchall()
    return {r[0] for r in rows}


def run_rounds(
    rounds: int, api: Api, keys: list[str], db: Any, state_dir: Path, start_worker: Callable[..., Any]
) -> None:
    start_worker("default")
    for round_no in range(rounds):
        results = upload_round(api, keys, csv_bytes(round_no))
        statuses = sorted(status for status, _, _ in results)
        assert 500 not in statuses, [body for status, body, _ in results if status == 500]
        accepted = [(body, key) for status, body, key in results if status == 201]
        rejected = [body for status, body, _ in results if status != 201]
        assert len(accepted) == 12 and len(rejected) == 8, statuses
        assert all(body["error"]["code"] == "DATASET_INVALID" for body in rejected)
        deadline = time.monotonic() + 120
        for body, key in accepted:
            status, preview = api.request("GET", f"/v1/datasets/{body['id']}/preview?rows=2", key)
            assert status == 200, (status, preview)
            assert preview["rows"][0]["round"] == round_no
        for body, key in accepted:
            profile = wait_profile(api, key, body["id"], deadline)
            assert profile["rows"] == ROWS
    gc = subprocess.run(
        [sys.executable, "-m", "appliance.cli.main", "admin", "gc", "--state-dir", str(state_dir)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert gc.returncode == 0, gc.stderr
    assert json.loads(gc.stdout)["blobs"]["missing"] == []
    assert blob_files(state_dir) == referenced(db)
    assert not list((state_dir / "blobs" / "tmp").glob("*"))


@pytest.mark.heavy
def test_identical_uploads_from_three_tenants(
    api: Api, tenant_keys: list[str], db: Any, state_dir: Path, start_worker: Callable[..., Any]
) -> None:
    run_rounds(3, api, tenant_keys, db, state_dir, start_worker)


@pytest.mark.slow
@pytest.mark.timeout(3600)
def test_identical_uploads_fifty_rounds(
    api: Api, tenant_keys: list[str], db: Any, state_dir: Path, start_worker: Callable[..., Any]
) -> None:
    run_rounds(50, api, tenant_keys, db, state_dir, start_worker)
