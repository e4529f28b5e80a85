"""`sealforge-client` against a whole appliance (`sealforge serve`) on loopback.

Commands run in-process through `main(argv)` (their stdout and exit status), and as a real
subprocess where what matters is what a person sees on stderr (the progress bar). A download cut
by a loopback proxy that drops the connection mid-file leaves only a `.partial` file, which the
next run completes with a Range request.
"""

from __future__ import annotations

import argparse
import json
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sealforge_client.cli import _parser, main

from tests.conftest import free_port
from tests.live_appliance import Appliance, running_appliance

ROOT = Path(__file__).resolve().parents[2]
SCHEMA = ROOT / "examples" / "schema.json"
CLI = [sys.executable, "-m", "sealforge_client.cli"]


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Appliance]:
    with running_appliance(tmp_path_factory.mktemp("appliance")) as running:
        yield running


def cli(appliance: Appliance, capsys: pytest.CaptureFixture[str], *argv: str, url: str = "") -> tuple[int, Any, str]:
    """(exit status, stdout as JSON when it parses else text, stderr) of one in-process run."""
    capsys.readouterr()
    status = main(["--url", url or appliance.url, "--api-key", appliance.key, *argv])
    out, err = capsys.readouterr()
    try:
        return status, json.loads(out), err
    except ValueError:
        return status, out, err


@pytest.fixture(scope="module")
def done_job(appliance: Appliance) -> dict[str, Any]:
    """A succeeded mock job with a CSV artifact of a few MB (enough for a cut mid-file)."""
    schema = json.loads(SCHEMA.read_text())
    schema["tables"][0]["rows"] = 150_000
    params = json.dumps({"schema": schema, "format": "csv"})
    done = subprocess.run([*CLI, "--json", "jobs", "create", "mock", "--params", params, "--seed", "3", "--wait"],
                          env=appliance.env(), capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    job: dict[str, Any] = json.loads(done.stdout)
    assert job["status"] == "succeeded"
    job["stderr"] = done.stderr
    return job


def _commands(parser: argparse.ArgumentParser, prefix: list[str]) -> Iterator[list[str]]:
    yield prefix
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, sub in action.choices.items():
                yield from _commands(sub, [*prefix, name])


def test_every_command_has_help_and_json(capsys: pytest.CaptureFixture[str]) -> None:
    commands = list(_commands(_parser(), []))
    assert ["jobs", "watch"] in commands and ["evidence", "verify"] in commands and ["seals", "list"] in commands
    for command in commands:
        with pytest.raises(SystemExit) as shown:
            main([*command, "--help"])
        assert shown.value.code == 0
        text = capsys.readouterr().out
        assert text.startswith("usage: sealforge-client") and "--json" in text, command


def test_wait_shows_progress_and_json_is_one_document(done_job: dict[str, Any]) -> None:
    lines = done_job["stderr"].splitlines()
    bars = [line for line in lines if line.startswith(done_job["id"]) and "%" in line]
    assert any("running" in line and "rows" in line for line in bars), lines
    assert "succeeded" in bars[-1] and "100.0%" in bars[-1]


def test_watch_json_streams_events_then_the_job(
    appliance: Appliance, done_job: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    status, out, _ = cli(appliance, capsys, "jobs", "watch", done_job["id"], "--json")
    assert status == 0
    *events, last = [json.loads(line) for line in out.splitlines()]
    assert {e["event"] for e in events} >= {"status", "progress"}
    assert last["id"] == done_job["id"] and last["status"] == "succeeded"


def test_list_estimate_cancel_and_rerun(
    appliance: Appliance, done_job: dict[str, Any], capsys: pytest.CaptureFixture[str]
) -> None:
    status, listed, _ = cli(appliance, capsys, "jobs", "list", "--kind", "mock", "--json")
    assert status == 0 and done_job["id"] in [j["id"] for j in listed]
    status, table, _ = cli(appliance, capsys, "jobs", "list", "--limit", "1")
    assert status == 0 and table.splitlines()[0].split()[:3] == ["id", "kind", "status"]
    status, estimate, _ = cli(appliance, capsys, "--json", "estimate", "mock", "--schema", str(SCHEMA))
    assert status == 0 and estimate["estimated_rows"] == 100_000 and estimate["estimated_credits"] > 0
    big = json.loads(SCHEMA.read_text())
    big["tables"][0]["rows"] = 50_000_000
    big_file = Path(str(appliance.state_dir) + "-big.json")
    big_file.write_text(json.dumps(big))
    status, job, _ = cli(appliance, capsys, "--json", "jobs", "create", "mock", "--schema", str(big_file))
    assert status == 0
    status, canceled, _ = cli(appliance, capsys, "--json", "jobs", "cancel", job["id"])
    assert status == 0 and canceled["status"] in ("canceled", "running")
    status, rerun, _ = cli(appliance, capsys, "--json", "jobs", "rerun", done_job["id"], "--wait")
    assert status == 0 and rerun["rerun_of"] == done_job["id"] and rerun["contract_hash"] == done_job["contract_hash"]


def test_upload_preview_and_profile_waits_for_the_202(
    appliance: Appliance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    source = tmp_path / "big.csv"
    row = "2026-01-05T00:00:00,north,40.46,3.228,true\n"
    source.write_text("timestamp,site,flow_m3h,pressure_bar,pump_on\n" + row * 120_000)  # ~5 MB
    shown = subprocess.run([*CLI, "--json", "datasets", "upload", str(source)], env=appliance.env(),
                           capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0, shown.stderr
    assert "uploading big.csv" in shown.stderr and "(100%)" in shown.stderr
    assert json.loads(shown.stdout)["rows"] == 120_000

    status, dataset, _ = cli(appliance, capsys, "--json", "datasets", "upload", str(ROOT / "examples/readings.csv"))
    assert status == 0 and dataset["rows"] == 240
    status, listed, _ = cli(appliance, capsys, "--json", "datasets", "list")
    assert dataset["id"] in [d["id"] for d in listed]
    status, head, _ = cli(appliance, capsys, "--json", "datasets", "preview", dataset["id"], "--rows", "2")
    assert status == 0 and len(head["rows"]) == 2

    path = f"/v1/client/datasets/{dataset['id']}/profile"
    first = httpx.get(appliance.url + path, headers={"X-API-Key": appliance.key})
    assert first.status_code == 202 and first.headers["Location"] == path
    assert int(first.headers["Retry-After"]) >= 1 and first.headers["X-Job-Id"] == first.json()["id"]
    status, pending, _ = cli(appliance, capsys, "--json", "datasets", "profile", dataset["id"], "--no-wait")
    # the same job, not a second one: still pending (its view), or already done (the profile names it)
    assert status == 0 and (pending.get("id") or pending.get("job_id")) == first.json()["id"], pending
    status, profile, _ = cli(appliance, capsys, "--json", "datasets", "profile", dataset["id"])
    assert status == 0 and [c["name"] for c in profile["columns"]][:2] == ["timestamp", "site"]


class CuttingProxy:
    """A loopback TCP proxy to the appliance that closes its first connection after ``cut_after``
    bytes of answer, then stops listening: a download cut mid-file by a network that went away."""

    def __init__(self, upstream_port: int, cut_after: int) -> None:
        self.port = free_port()
        self.cut_after = cut_after
        self.upstream_port = upstream_port
        self.listener = socket.create_server(("127.0.0.1", self.port))
        self.thread = threading.Thread(target=self._serve, daemon=True)
        self.thread.start()

    def _serve(self) -> None:
        client, _ = self.listener.accept()
        self.listener.close()
        upstream = socket.create_connection(("127.0.0.1", self.upstream_port))

        def forward_requests() -> None:
            try:
                while data := client.recv(65536):
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=forward_requests, daemon=True).start()
        sent = 0
        try:
            while sent < self.cut_after and (data := upstream.recv(65536)):
                data = data[: self.cut_after - sent]
                client.sendall(data)
                sent += len(data)
        finally:
            client.shutdown(socket.SHUT_RDWR)
            client.close()
            upstream.close()


def test_cut_download_leaves_a_partial_that_resumes(
    appliance: Appliance, done_job: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, (artifact,), _ = cli(appliance, capsys, "--json", "artifacts", "list", done_job["id"])
    assert artifact["size"] > 2_000_000
    port = int(appliance.url.rsplit(":", 1)[1])
    proxy = CuttingProxy(port, cut_after=1_000_000)
    status, _, err = cli(appliance, capsys, "artifacts", "download", artifact["id"], "-o", str(tmp_path),
                         url=f"http://127.0.0.1:{proxy.port}")
    assert status == 1 and ".partial file is kept" in err
    target, partial = tmp_path / artifact["name"], tmp_path / (artifact["name"] + ".partial")
    assert not target.exists() and 0 < partial.stat().st_size < artifact["size"]

    status, written, _ = cli(appliance, capsys, "--json", "artifacts", "download", artifact["id"], "-o", str(tmp_path))
    assert status == 0 and written["size"] == artifact["size"] and not partial.exists()
    whole = httpx.get(f"{appliance.url}/v1/artifacts/{artifact['id']}/download", headers={"X-API-Key": appliance.key})
    assert target.read_bytes() == whole.content


def test_seals_and_evidence_fetch_verify(
    appliance: Appliance, done_job: dict[str, Any], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, seals, _ = cli(appliance, capsys, "--json", "seals", "list", "--job", done_job["id"])
    assert status == 0 and [s["job_id"] for s in seals] == [done_job["id"]]
    trust, bundle = tmp_path / "trust.txt", tmp_path / "bundle.tar"
    assert cli(appliance, capsys, "evidence", "trust", "-o", str(trust))[0] == 0
    status, fetched, _ = cli(appliance, capsys, "--json", "evidence", "fetch", done_job["id"], "-o", str(bundle))
    assert status == 0 and fetched["size"] == bundle.stat().st_size > 0
    status, report, _ = cli(appliance, capsys, "--json", "evidence", "verify", str(bundle), "--trust", str(trust))
    assert status == 0 and report["ok"] is True
    # the first spelling, `evidence JOB_ID -o DIR`, still fetches
    assert cli(appliance, capsys, "evidence", done_job["id"], "-o", str(tmp_path))[0] == 0
    assert (tmp_path / f"{done_job['id']}.evidence.tar").stat().st_size == bundle.stat().st_size


def test_bad_inputs_fail_clearly_and_write_nothing(
    appliance: Appliance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    status, _, err = cli(appliance, capsys, "jobs", "watch", "job_00000000000000000000000000")
    assert status == 1 and "NOT_FOUND" in err
    status, _, err = cli(appliance, capsys, "jobs", "create", "mock", "--params", "{not json")
    assert status == 2 and "--params is not valid JSON" in err
    status, _, err = cli(appliance, capsys, "jobs", "create", "mock", "--params", "{}")
    assert status == 1 and "VALIDATION_FAILED" in err
    status, _, err = cli(appliance, capsys, "datasets", "upload", str(tmp_path / "missing.csv"))
    assert status == 2 and "no such file" in err
    status, _, err = cli(appliance, capsys, "artifacts", "download", "-o", str(tmp_path))
    assert status == 2 and "artifact id or --job" in err
    status, _, err = cli(appliance, capsys, "artifacts", "download", "art_00000000000000000000000000", "-o",
                         str(tmp_path))
    assert status == 1 and "NOT_FOUND" in err
    status, _, err = cli(appliance, capsys, "evidence", "fetch", "job_00000000000000000000000000", "-o",
                         str(tmp_path / "x.tar"))
    assert status == 1 and "NOT_FOUND" in err
    status, _, err = cli(appliance, capsys, "evidence", "verify", str(tmp_path / "none.tar"), "--trust",
                         str(tmp_path / "none.txt"))
    assert status == 2 and "does not exist" in err
    assert sorted(p.name for p in tmp_path.iterdir()) == []
    status, _, err = cli(appliance, capsys, "whoami", url="http://127.0.0.1:9")
    assert status == 1 and "cannot reach" in err
