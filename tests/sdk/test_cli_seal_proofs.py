"""`sealforge-client seals checkpoint` and `seals proof` save what an offline auditor carries over,
and `evidence verify` hands them to the verifier: an old bundle checks against a newer kept
checkpoint. Bad sizes fail with the appliance's error, and write nothing. The witness commands
(`seals witnesses|add-witness|remove-witness|send-cosignatures`, `evidence fetch --witnessed`,
`evidence verify --witness`) run against the same live appliance."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sealforge_client.aio import AsyncClient
from sealforge_client.cli import main
from sealforge_client.client import Client
from sealforge_client.errors import SealforgeError

from tests.conftest import mock_schema
from tests.live_appliance import SEALFORGE, Appliance, running_appliance

SCHEMA = mock_schema(20)
VERIFY = Path(sys.executable).parent / "sealforge-verify"


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


def _operator_key(appliance: Appliance) -> str:
    """An `operator` key, made as the operator does, on the appliance's own state (it keeps running)."""
    made = subprocess.run(
        [*SEALFORGE, "admin", "keys", "create", "--tenant", appliance.tenant_id, "--scopes", "operator",
         "--state-dir", str(appliance.state_dir)],
        capture_output=True, text=True, check=True,
    )
    return str(json.loads(made.stdout)["api_key"])


def test_witnesses_through_the_client_and_a_witnessed_bundle(
    appliance: Appliance, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """An operator registers a witness with `seals add-witness`, the witness cosigns the checkpoint
    that `seals checkpoint` saved, `seals send-cosignatures` hands it back, and `evidence fetch
    --witnessed` gets a bundle that `evidence verify --witness` passes; then the witness is removed
    (by the library's `remove_witness`) and no witnessed bundle is left."""
    operator = ["--api-key", _operator_key(appliance)]
    job = _mock_job(appliance, capsys, 3)
    keygen = [str(VERIFY), "witness", "keygen", "--name", "audit.example/w", "--out", str(tmp_path / "w.key")]
    made = subprocess.run(keygen, capture_output=True, text=True, check=True)
    vkey = tmp_path / "w.vkey"
    vkey.write_text(made.stdout)
    key_id = "+".join(made.stdout.strip().split("+", 2)[:2])

    status, _, err = _cli(appliance, capsys, "seals", "add-witness", f"@{vkey}")
    assert status == 1 and "INSUFFICIENT_SCOPE" in err, "the tenant's admin key cannot register witnesses"
    status, added, err = _cli(appliance, capsys, *operator, "--json", "seals", "add-witness", f"@{vkey}",
                              "--description", "plant auditor")
    assert status == 0 and added["key_id"] == key_id, err
    status, listed, _ = _cli(appliance, capsys, "--json", "seals", "witnesses")
    assert status == 0 and [(w["key_id"], w["description"]) for w in listed] == [(key_id, "plant auditor")]
    bundle = tmp_path / "witnessed.tar"
    status, _, err = _cli(appliance, capsys, "evidence", "fetch", job["id"], "--witnessed", "-o", str(bundle))
    assert status == 1 and "CONFLICT" in err and "cosigned" in err and not bundle.exists()

    checkpoint, trust, cosigned = tmp_path / "checkpoint.txt", tmp_path / "trust.txt", tmp_path / "cosigned.txt"
    assert _cli(appliance, capsys, "seals", "checkpoint", "-o", str(checkpoint))[0] == 0
    assert _cli(appliance, capsys, "evidence", "trust", "-o", str(trust))[0] == 0
    subprocess.run([str(VERIFY), "witness", "cosign", str(checkpoint), "--key", str(tmp_path / "w.key"), "--trust",
                    str(trust), "--state", str(tmp_path / "w.state"), "--out", str(cosigned)],
                   capture_output=True, text=True, check=True)
    status, sent, err = _cli(appliance, capsys, "--json", "seals", "send-cosignatures", str(cosigned))
    assert status == 0 and [a["witness"] for a in sent["accepted"]] == [key_id], err
    status, _, err = _cli(appliance, capsys, "seals", "send-cosignatures", str(checkpoint), "--tree-size", "1")
    assert status == 1 and "VALIDATION_FAILED" in err, "a whole checkpoint is not cosignature lines"
    empty = tmp_path / "empty.txt"
    empty.write_text("\n")
    status, _, err = _cli(appliance, capsys, "seals", "send-cosignatures", str(empty), "--tree-size", "1")
    assert status == 2 and "cosignature lines" in err, "nothing to send is bad usage, not a call"

    status, _, err = _cli(appliance, capsys, "evidence", "fetch", job["id"], "--witnessed", "-o", str(bundle))
    assert status == 0, err
    verify = ["--json", "evidence", "verify", str(bundle), "--trust", str(trust), "--witness", str(vkey)]
    status, report, _ = _cli(appliance, capsys, *verify)
    assert status == 0 and {c["name"]: c["ok"] for c in report["checks"]}["witnesses"] is True, report
    status, report, _ = _cli(appliance, capsys, *verify, "--min-witnesses", "2")
    assert status == 1 and report["verdict"] == "not_verified"

    with Client(appliance.url, api_key=operator[1]) as client:
        assert client.remove_witness(key_id)["cosignatures_removed"] == 1
        assert client.witnesses() == []
        with pytest.raises(SealforgeError) as gone:
            client.remove_witness(key_id)
        assert gone.value.status == 404
    status, _, err = _cli(appliance, capsys, "evidence", "fetch", job["id"], "--witnessed", "-o", str(bundle) + "2")
    assert status == 1 and "CONFLICT" in err

    async def the_async_client() -> tuple[dict[str, Any], list[dict[str, Any]], int, dict[str, Any]]:
        async with AsyncClient(appliance.url, api_key=operator[1]) as client:
            added = await client.add_witness(vkey.read_text(), "again")
            listed = await client.witnesses()
            try:
                await client.evidence(job["id"], tmp_path / "async.tar", witnessed=True)
                refused = 200
            except SealforgeError as exc:
                refused = exc.status
            removed = await client.remove_witness(key_id)
        return added, listed, refused, removed

    added, listed, refused, removed = asyncio.run(the_async_client())
    assert added["key_id"] == key_id and [w["description"] for w in listed] == ["again"]
    assert refused == 409, "re-registering brings none of the removed cosignatures back"
    assert removed["cosignatures_removed"] == 0
