"""`sealforge-client seals checkpoint` and `seals proof` save what an offline auditor carries over,
and `evidence verify` hands them to the verifier: an old bundle checks against a newer kept
checkpoint. Bad sizes fail with the appliance's error, and write nothing."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sealforge_client.cli import main

from tests.conftest import mock_schema
from tests.live_appliance import Appliance, running_appliance

SCHEMA = mock_schema(20)


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Appliance]:
    with running_appliance(tmp_path_factory.mktemp("appliance")) as running:
        yield running


def _cli(appliance: Appliance, capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, Any, str]:
    capsys.readouterr()
    status = main(["--url", appliance.url, "--api-key", appliance.key, *argv])
    out, err = capsys.readouterr()
    try:
        return status, json.loads(out), err
    except ValueError:
        return status, out, err


def _mock_job(appliance: Appliance, capsys: pytest.CaptureFixture[str], seed: int) -> dict[str, Any]:
    params = json.dumps({"schema": SCHEMA, "format": "csv"})
    status, job, err = _cli(appliance, capsys, "--json", "jobs", "create", "mock", "--params", params,
                            "--seed", str(seed), "--wait")
    assert status == 0 and job["status"] == "succeeded", err
    return job  # type: ignore[no-any-return]


def test_old_bundle_against_a_newer_kept_checkpoint_through_the_client(
    appliance: Appliance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    first = _mock_job(appliance, capsys, 1)
    bundle, trust = tmp_path / "first.tar", tmp_path / "trust.txt"
    assert _cli(appliance, capsys, "evidence", "fetch", first["id"], "-o", str(bundle))[0] == 0
    assert _cli(appliance, capsys, "evidence", "trust", "-o", str(trust))[0] == 0
    _mock_job(appliance, capsys, 2)
    kept = tmp_path / "kept.txt"
    status, saved, _ = _cli(appliance, capsys, "--json", "seals", "checkpoint", "-o", str(kept))
    assert status == 0 and saved["tree_size"] >= 2 and kept.read_text().startswith(saved["origin"] + "\n")
    size = saved["tree_size"]

    verify = ["--json", "evidence", "verify", str(bundle), "--trust", str(trust), "--prev-checkpoint", str(kept)]
    status, report, _ = _cli(appliance, capsys, *verify)
    consistency = {c["name"]: c for c in report["checks"]}["consistency"]
    assert status == 1 and f"/v1/seals/proof/consistency?from={size - 1}&to={size}" in consistency["detail"]

    proof = tmp_path / "proof.json"
    status, saved, _ = _cli(appliance, capsys, "--json", "seals", "proof", "--from", str(size - 1),
                            "--to", str(size), "-o", str(proof))
    assert status == 0 and (saved["from_size"], saved["to_size"]) == (size - 1, size)
    status, report, _ = _cli(appliance, capsys, *verify, "--consistency-proof", str(proof), "--require-artifacts")
    assert status == 1 and report["verdict"] == "not_verified"  # no artifacts given, and they are required
    status, report, _ = _cli(appliance, capsys, *verify, "--consistency-proof", str(proof))
    assert status == 0 and report["verdict"] == "verified_without_artifacts", report

    status, _, err = _cli(appliance, capsys, "seals", "proof", "--from", str(size + 5), "-o", str(tmp_path / "x"))
    assert status == 1 and "VALIDATION_FAILED" in err
    with pytest.raises(SystemExit) as usage:  # argparse's own usage error
        _cli(appliance, capsys, "seals", "proof", "--from", "0", "-o", str(tmp_path / "x"))
    assert usage.value.code == 2 and "--from: must be at least 1" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()
