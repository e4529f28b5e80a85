"""Uploads files through the real app in this process and reports answers and peak memory.

Run by tests/services/datasets/test_upload_limits.py as a subprocess, so the process measured is the one
that handles the uploads (the app and its test client) and nothing else the test suite loaded.
Usage: upload_memory_probe.py STATE_DIR NAME=PATH... ; prints one JSON document on stdout.
"""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path
from typing import Any


def peak_rss_kib() -> int:
    """VmHWM: the most resident memory this process has held so far."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1])
    raise RuntimeError("no VmHWM in /proc/self/status")


def main(state_dir: str, uploads: list[str]) -> dict[str, Any]:
    import pyarrow as pa
    import pyarrow.parquet as pq

    from appliance.api import create_app
    from appliance.services import identity
    from appliance.store.open import open_db

    app = create_app({"server": {"state_dir": state_dir}, "ratelimit": {"burst": 10_000, "rate_per_s": 10_000.0}})
    client = app.test_client()
    db = open_db(Path(state_dir))
    tenant = identity.create_tenant(db, "acme", credits=1000)
    key = {"X-API-Key": identity.create_key(db, tenant["id"], ["generate"])["api_key"]}

    def post(name: str, data: bytes) -> Any:
        return client.post(
            "/v1/datasets", data=data, query_string={"name": name}, headers=key, content_type="application/octet-stream"
        )

    sink = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(1000)), "text": ["pump a"] * 1000}), sink, compression="zstd")
    warm = {"warm.parquet": sink.getvalue(), "warm.csv": b"a,b\n1,x\n", "warm.jsonl": b'{"a": {"b": [1]}}\n'}
    kept = []
    for name, data in warm.items():
        ds = post(name, data).get_json()
        kept.append(ds["blake3"])
        client.get(f"/v1/datasets/{ds['id']}/preview", headers=key)
    baseline = peak_rss_kib()
    results = []
    for spec in uploads:
        name, path = spec.split("=", 1)
        with Path(path).open("rb") as body:  # streamed: the body is not held in this process's memory
            response = client.post(
                "/v1/datasets",
                input_stream=body,
                content_length=Path(path).stat().st_size,
                query_string={"name": name},
                headers=key,
                content_type="application/octet-stream",
            )
        body = response.get_json()
        result: dict[str, Any] = {"name": name, "status": response.status_code, "body": body}
        if response.status_code == 201:
            preview = client.get(f"/v1/datasets/{body['id']}/preview?rows=1000", headers=key)
            result["preview_status"] = preview.status_code
            result["preview_bytes"] = len(preview.get_data())
        results.append(result)
    return {"baseline_kib": baseline, "peak_kib": peak_rss_kib(), "results": results, "warm_blobs": kept}


if __name__ == "__main__":
    print(json.dumps(main(sys.argv[1], sys.argv[2:])))
