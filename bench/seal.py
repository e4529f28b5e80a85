"""Benchmark: sealing a job, and exporting plus verifying a bundle with a large artifact.

1. Seal append latency: ``seal_job`` in its own ``BEGIN IMMEDIATE`` transaction (as the runner
   calls it: sign the Statement, append to the Merkle log through the frontier, sign and store the
   checkpoint), N times into a fresh state dir. Peer, the floor: a plain SQLite insert of the same
   envelope bytes, one transaction each, on a database with the same pragmas. Also prints the
   p50 of the first and last 10% of appends, which stays flat because an append is O(log n).
2. A bundle whose artifact is ``--size-mb`` of random bytes: time GET /v1/evidence/{job}
   ?include_artifacts=true from a real ``sealforge api`` (gunicorn) into a file, then the real
   ``sealforge-verify`` on it. Peers: GET of the same artifact's plain download route, and BLAKE3
   of the same file (``b3sum`` when installed, else the Python ``blake3`` module). Goal: ≤ 3 s verify.

    .venv/bin/python bench/seal.py [--appends 2000] [--size-mb 1024] [--skip-bundle]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

from appliance.clock import now_iso  # noqa: E402
from appliance.evidence import keys as signing  # noqa: E402
from appliance.evidence import seal_job  # noqa: E402
from appliance.ids import new_id  # noqa: E402
from appliance.jobs.contract import build_contract, contract_hash  # noqa: E402
from appliance.services import identity  # noqa: E402
from appliance.store import jobs as jobs_store  # noqa: E402
from appliance.store.blobs import BlobStore, unpin  # noqa: E402
from appliance.store.db import open_connection, transaction  # noqa: E402
from appliance.store.open import open_db  # noqa: E402

BIN = Path(sys.executable).parent
CHUNK = 16 * 1024 * 1024
GOAL_VERIFY_S = 3.0


def _job_row(tenant_id: str, index: int) -> dict[str, Any]:
    contract = build_contract("mock", {"bench": index}, index, [])
    now = now_iso()
    return {
        "id": new_id("job"),
        "tenant_id": tenant_id,
        "kind": "mock",
        "queue": "default",
        "status": "succeeded",
        "description": "",
        "contract": json.dumps(contract, sort_keys=True),
        "contract_hash": contract_hash(contract),
        "estimate_micro": 0,
        "estimate_seconds": 1.0,
        "max_attempts": 1,
        "rerun_of": None,
        "created_by": "bench",
        "created_at": now,
    }


def _artifact(job: dict[str, Any], name: str, digest: str, size: int) -> dict[str, Any]:
    return {
        "id": new_id("art"),
        "tenant_id": job["tenant_id"],
        "job_id": job["id"],
        "name": name,
        "media_type": "application/octet-stream",
        "size": size,
        "blake3": digest,
        "created_at": now_iso(),
    }


def _pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(len(ordered) * q))] * 1000


def bench_appends(work: Path, count: int) -> None:
    state = work / "appends"
    conn = open_db(state)
    tenant = identity.create_tenant(conn, "bench")
    with transaction(conn):
        signing.active_signer(conn, state / "keys")
        jobs = [_job_row(tenant["id"], i) for i in range(count)]
        for job in jobs:
            jobs_store.insert_job(conn, job)
    ours: list[float] = []
    envelopes: list[bytes] = []
    for i, job in enumerate(jobs):
        artifact = _artifact(job, "rows.parquet", f"{i:064x}", 1000)
        start = time.perf_counter()
        with transaction(conn):
            row = seal_job(conn, state, job, [artifact])
        ours.append(time.perf_counter() - start)
        envelopes.append(row["envelope"])

    peer_conn = open_connection(work / "peer.db")
    peer_conn.execute("CREATE TABLE seals (id INTEGER PRIMARY KEY, envelope BLOB NOT NULL)")
    peer: list[float] = []
    for envelope in envelopes:
        start = time.perf_counter()
        with transaction(peer_conn):
            peer_conn.execute("INSERT INTO seals (envelope) VALUES (?)", (envelope,))
        peer.append(time.perf_counter() - start)

    tenth = max(1, count // 10)
    print(f"\n1. seal append latency, {count} appends (envelope ~{statistics.mean(map(len, envelopes)):.0f} B)")
    print(f"{'':<44}{'p50 ms':>10}{'p99 ms':>10}")
    print(f"{'sealforge seal_job (sign+append+checkpoint)':<44}{_pct(ours, 0.5):>10.3f}{_pct(ours, 0.99):>10.3f}")
    print(f"{'plain SQLite insert of the same bytes':<44}{_pct(peer, 0.5):>10.3f}{_pct(peer, 0.99):>10.3f}")
    print(
        f"ratio sealforge/plain insert: {_pct(ours, 0.5) / _pct(peer, 0.5):.2f}x p50, "
        f"{_pct(ours, 0.99) / _pct(peer, 0.99):.2f}x p99"
    )
    print(
        f"O(log n) check: p50 of the first {tenth} appends {_pct(ours[:tenth], 0.5):.3f} ms, "
        f"of the last {tenth} {_pct(ours[-tenth:], 0.5):.3f} ms"
    )


def _random_chunks(size: int) -> Iterator[bytes]:
    left = size
    while left:
        n = min(CHUNK, left)
        yield os.urandom(n)
        left -= n


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_up(port: int) -> None:
    deadline = time.time() + 30
    while time.time() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=1)
            conn.request("GET", "/healthz")
            if conn.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("the API did not start")


def _download(port: int, path: str, key: str, dest: Path) -> float:
    start = time.perf_counter()
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=120)
    conn.request("GET", path, headers={"X-API-Key": key})
    response = conn.getresponse()
    if response.status != 200:
        raise RuntimeError(f"GET {path}: {response.status} {response.read()[:300]!r}")
    with open(dest, "wb") as out:
        while chunk := response.read(CHUNK):
            out.write(chunk)
    conn.close()
    return time.perf_counter() - start


def _timed(cmd: list[str]) -> tuple[float, subprocess.CompletedProcess[str]]:
    start = time.perf_counter()
    done = subprocess.run(cmd, capture_output=True, text=True)
    return time.perf_counter() - start, done


def bench_bundle(work: Path, size_mb: int) -> None:
    state = work / "bundle"
    conn = open_db(state)
    tenant = identity.create_tenant(conn, "bench")
    key = identity.create_key(conn, tenant["id"], ["read"])["api_key"]
    size = size_mb * 1024 * 1024
    blob = BlobStore(state).put_chunks(conn, _random_chunks(size))
    job = _job_row(tenant["id"], 0)
    artifact = _artifact(job, "telemetry.bin", blob.digest, size)
    with transaction(conn):
        jobs_store.insert_job(conn, job)
        jobs_store.insert_artifact(conn, artifact)
        unpin(conn, [blob])
        seal_job(conn, state, job, [artifact])
    trust = work / "trust.txt"
    trust.write_text(signing.trust_file(conn))

    port = _free_port()
    env = {**os.environ, "SEALFORGE_SERVER_WORKERS": "1", "SEALFORGE_RATELIMIT_ENABLED": "false"}
    api = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "appliance.cli.main",
            "api",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--state-dir",
            str(state),
        ],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        cwd=ROOT,
    )
    try:
        _wait_up(port)
        bundle = work / "bundle.tar"
        get_bundle = _download(port, f"/v1/evidence/{job['id']}?include_artifacts=true", key, bundle)
        get_plain = _download(port, f"/v1/artifacts/{artifact['id']}/download", key, work / "plain.bin")
    finally:
        api.terminate()
        api.wait(timeout=20)
    verify_s, verified = _timed([str(BIN / "sealforge-verify"), str(bundle), "--trust", str(trust)])
    if verified.returncode != 0:
        raise RuntimeError(f"sealforge-verify failed:\n{verified.stdout}{verified.stderr}")
    b3sum = shutil.which("b3sum")
    if b3sum:
        peer_name, (hash_s, _) = "b3sum (all cores)", _timed([b3sum, str(work / "plain.bin")])
    else:
        script = "import blake3,sys; h=blake3.blake3(max_threads=blake3.blake3.AUTO); h.update_mmap(sys.argv[1])"
        peer_name = "python blake3 mmap (all cores)"
        hash_s, _ = _timed([sys.executable, "-c", script, str(work / "plain.bin")])

    print(f"\n2. bundle with a {size_mb} MB artifact ({bundle.stat().st_size / 1e6:.0f} MB tar), {os.cpu_count()} CPUs")
    print(f"{'':<48}{'seconds':>10}")
    print(f"{'GET /v1/evidence/{job}?include_artifacts=true':<48}{get_bundle:>10.2f}")
    print(f"{'peer: GET /v1/artifacts/{id}/download (same bytes)':<48}{get_plain:>10.2f}")
    print(f"{'sealforge-verify (subprocess, all checks)':<48}{verify_s:>10.2f}")
    print(f"{'peer: ' + peer_name:<48}{hash_s:>10.2f}")
    print(f"ratio bundle/plain download: {get_bundle / get_plain:.2f}x; verify/hash: {verify_s / hash_s:.2f}x")
    print(
        f"GET + verify: {get_bundle + verify_s:.2f} s; verify goal <= {GOAL_VERIFY_S:.0f} s per GB: "
        f"{'met' if verify_s * 1024 / size_mb <= GOAL_VERIFY_S else 'NOT met'}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--appends", type=int, default=2000)
    parser.add_argument("--size-mb", type=int, default=1024)
    parser.add_argument("--skip-bundle", action="store_true")
    parser.add_argument("--workdir", type=Path, default=None, help="where to put the temp state dirs")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        work = Path(tmp)
        bench_appends(work, args.appends)
        if not args.skip_bundle:
            bench_bundle(work, args.size_mb)


if __name__ == "__main__":
    main()
