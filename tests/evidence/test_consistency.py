"""Consistency over time: an auditor keeps a checkpoint, the log grows by 1,000 seals, and the
appliance's proof links the two; a forked or edited log is caught."""

from __future__ import annotations

import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask.testing import FlaskClient

from appliance.api import create_app
from appliance.services import identity
from appliance.store.open import open_db
from tests.conftest import auth
from tests.evidence.conftest import fetch, run_verifier, sealed_job, trust_file


def _grow(db: Any, state_dir: Path, tenant_id: str, n: int) -> None:
    """``n`` more seals, of jobs without artifacts: the log is what grows; an artifact each would
    only add a blob write and its fsyncs per seal (most of this test's time when they had one)."""
    for _ in range(n):
        sealed_job(db, state_dir, tenant_id, {})


def test_consistency_after_1000_more_seals(
    client: FlaskClient,
    db: Any,
    state_dir: Path,
    tenant: dict[str, Any],
    keys: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    headers = auth(keys["read"])
    first = make_sealed_job()
    _grow(db, state_dir, tenant["id"], 4)
    kept = fetch(client, "/v1/seals/checkpoint?format=text", headers, tmp_path / "kept.txt")
    assert kept.read_text().splitlines()[1] == "5"

    _grow(db, state_dir, tenant["id"], 1000)
    bundle = fetch(client, f"/v1/evidence/{first['id']}", headers, tmp_path / "bundle.tar")
    trust = trust_file(client, headers, tmp_path / "trust.txt")
    proof = fetch(client, "/v1/seals/proof/consistency?from=5&to=1005", headers, tmp_path / "proof.json")

    without = run_verifier(bundle, trust, "--prev-checkpoint", str(kept))
    assert without.returncode == 1 and "/v1/seals/proof/consistency?from=5&to=1005" in without.stdout
    passed = run_verifier(bundle, trust, "--prev-checkpoint", str(kept), "--consistency-proof", str(proof))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "log grew from 5 to 1005 leaves" in passed.stdout

    carried = fetch(client, f"/v1/evidence/{first['id']}?prev_size=5", headers, tmp_path / "carried.tar")
    assert run_verifier(carried, trust, "--prev-checkpoint", str(kept)).returncode == 0

    wrong = fetch(client, "/v1/seals/proof/consistency?from=6&to=1005", headers, tmp_path / "wrong.json")
    assert (
        run_verifier(bundle, trust, "--prev-checkpoint", str(kept), "--consistency-proof", str(wrong)).returncode == 1
    )


def test_an_old_bundle_against_a_newer_kept_checkpoint(
    client: FlaskClient,
    db: Any,
    state_dir: Path,
    tenant: dict[str, Any],
    keys: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    """The auditor got a bundle at size 6, later kept a checkpoint at size 40: a proof from 6 to 40
    shows the bundle's tree is a prefix of the kept one; a proof from a fork does not."""
    headers = auth(keys["read"])
    _grow(db, state_dir, tenant["id"], 5)
    job = make_sealed_job()
    bundle = fetch(client, f"/v1/evidence/{job['id']}", headers, tmp_path / "bundle.tar")
    fork_dir = tmp_path / "fork"
    _clone_state_dir(state_dir, fork_dir)
    _grow(db, state_dir, tenant["id"], 34)
    kept = fetch(client, "/v1/seals/checkpoint?format=text", headers, tmp_path / "kept.txt")
    assert kept.read_text().splitlines()[1] == "40"
    trust = trust_file(client, headers, tmp_path / "trust.txt")

    without = run_verifier(bundle, trust, "--prev-checkpoint", str(kept))
    assert without.returncode == 1 and "/v1/seals/proof/consistency?from=6&to=40" in without.stdout
    proof = fetch(client, "/v1/seals/proof/consistency?from=6&to=40", headers, tmp_path / "proof.json")
    passed = run_verifier(bundle, trust, "--prev-checkpoint", str(kept), "--consistency-proof", str(proof))
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "log grew from 6 to 40 leaves without changing history (the bundle's checkpoint to your kept one" in (
        passed.stdout
    )
    backwards = fetch(client, "/v1/seals/proof/consistency?from=5&to=40", headers, tmp_path / "other-size.json")
    refused = run_verifier(bundle, trust, "--prev-checkpoint", str(kept), "--consistency-proof", str(backwards))
    assert refused.returncode == 1 and "--consistency-proof is from size 5 to 40" in refused.stdout

    fork_db = open_db(fork_dir)  # the same log up to 6, then other seals: the fork's own proof must not pass
    _grow(fork_db, fork_dir, tenant["id"], 34)
    fork_client = create_app({"server": {"state_dir": str(fork_dir)}, "ratelimit": {"burst": 10_000}}).test_client()
    fork_proof = fetch(fork_client, "/v1/seals/proof/consistency?from=6&to=40", headers, tmp_path / "fork.json")
    forked = run_verifier(bundle, trust, "--prev-checkpoint", str(kept), "--consistency-proof", str(fork_proof))
    assert forked.returncode == 1 and "NOT consistent" in forked.stdout


def _clone_state_dir(source: Path, dest: Path) -> None:
    """A byte-for-byte copy of a running appliance's state (database via the backup API, and keys)."""
    dest.mkdir()
    shutil.copytree(source / "keys", dest / "keys")
    src = sqlite3.connect(source / "sealforge.db")
    dst = sqlite3.connect(dest / "sealforge.db")
    src.backup(dst)
    src.close()
    dst.close()


def test_a_forked_log_fails_consistency(
    client: FlaskClient,
    db: Any,
    state_dir: Path,
    tenant: dict[str, Any],
    keys: dict[str, str],
    make_sealed_job: Callable[..., dict[str, Any]],
    tmp_path: Path,
) -> None:
    headers = auth(keys["read"])
    make_sealed_job()
    _grow(db, state_dir, tenant["id"], 9)
    fork_dir = tmp_path / "fork"
    _clone_state_dir(state_dir, fork_dir)

    _grow(db, state_dir, tenant["id"], 5)  # the real log: 15 leaves
    kept = fetch(client, "/v1/seals/checkpoint?format=text", headers, tmp_path / "kept.txt")

    fork_app = create_app({"server": {"state_dir": str(fork_dir)}, "ratelimit": {"burst": 10_000}})
    fork_db = open_db(fork_dir)
    forked = [sealed_job(fork_db, fork_dir, tenant["id"], {"other.bin": b"rewritten %d" % i}) for i in range(8)]
    fork_client = fork_app.test_client()
    bundle = fetch(fork_client, f"/v1/evidence/{forked[-1]['id']}", headers, tmp_path / "fork.tar")
    proof = fetch(fork_client, "/v1/seals/proof/consistency?from=15&to=18", headers, tmp_path / "proof.json")
    trust = trust_file(fork_client, headers, tmp_path / "trust.txt")

    assert run_verifier(bundle, trust).returncode == 0  # on its own the fork looks fine
    result = run_verifier(bundle, trust, "--prev-checkpoint", str(kept), "--consistency-proof", str(proof))
    assert result.returncode == 1
    assert "NOT consistent" in result.stdout


def test_checkpoint_of_another_appliance_fails(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    headers = auth(keys["read"])
    job = make_sealed_job()
    make_sealed_job()
    other_dir = tmp_path / "other"
    other_dir.mkdir()
    other_app = create_app({"server": {"state_dir": str(other_dir)}, "ratelimit": {"burst": 10_000}})
    other_db = open_db(other_dir)
    other_tenant = identity.create_tenant(other_db, "other")
    sealed_job(other_db, other_dir, other_tenant["id"])
    other_key = identity.create_key(other_db, other_tenant["id"], ["read"])["api_key"]
    other_client = other_app.test_client()
    foreign = fetch(other_client, "/v1/seals/checkpoint?format=text", auth(other_key), tmp_path / "foreign.txt")
    both = tmp_path / "both.txt"
    both.write_text(
        trust_file(client, headers, tmp_path / "a.txt").read_text()
        + trust_file(other_client, auth(other_key), tmp_path / "b.txt").read_text()
    )
    bundle = fetch(client, f"/v1/evidence/{job['id']}", headers, tmp_path / "bundle.tar")
    result = run_verifier(bundle, both, "--prev-checkpoint", str(foreign))
    assert result.returncode == 1 and "kept checkpoint is of log" in result.stdout


def test_an_edited_leaf_is_refused_by_the_appliance(
    client: FlaskClient, db: Any, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]]
) -> None:
    """Proofs come from the stored tiles: a leaf hash edited there no longer gives the signed root."""
    jobs = [make_sealed_job() for _ in range(4)]
    row = bytes(db.execute("SELECT hashes FROM seal_tiles WHERE level = 0 AND idx = 0").fetchone()[0])
    db.execute("UPDATE seal_tiles SET hashes = ? WHERE level = 0 AND idx = 0", (row[:32] + b"\x11" * 32 + row[64:],))
    headers = auth(keys["read"])
    for url in ("/v1/seals/proof/consistency?from=2", f"/v1/evidence/{jobs[0]['id']}"):
        response = client.get(url, headers=headers)
        assert response.status_code == 503, url
        assert "do not reproduce its signed checkpoint" in response.get_json()["error"]["message"]
