"""The verifier installs in a fresh venv with `pip install ./offline_verify` and nothing else, then
checks an appliance bundle with no network. Slow, and it needs the package registry for blake3
and cryptography at install time (the verify step itself runs offline)."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import auth
from tests.evidence.conftest import fetch, run_verifier, trust_file

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.slow
def test_fresh_venv_verifies_an_appliance_bundle(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    job = make_sealed_job({"readings.csv": b"t,flow\n0,1.5\n1,1.7\n"})
    headers = auth(keys["read"])
    bundle = fetch(client, f"/v1/evidence/{job['id']}?include_artifacts=true", headers, tmp_path / "b.tar")
    trust = trust_file(client, headers, tmp_path / "trust.txt")

    venv = tmp_path / "auditor"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)
    install = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", str(ROOT / "offline_verify")],
                             capture_output=True, text=True, timeout=600)
    assert install.returncode == 0, install.stderr[-2000:]
    listed = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=freeze"], capture_output=True, text=True)
    names = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert "sealforge" not in names and "flask" not in names and "sealforge-verify" in names

    result = run_verifier(bundle, trust, binary=venv / "bin" / "sealforge-verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "dsse_signature" in result.stdout
