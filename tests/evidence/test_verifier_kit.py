"""`make verifier-kit` builds the auditor's kit; it installs in a fresh venv with the network off
(`unshare -n`, `--no-index`, only the kit's wheels, none of this machine's pip settings) and the
installed command verifies a real appliance bundle. Slow (it builds wheels), and the build step
needs the package registry, as it would on the connected machine that makes the kit."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from tests.conftest import auth
from tests.evidence.conftest import NO_ISOLATION, OFFLINE, fetch, run_verifier, trust_file

ROOT = Path(__file__).resolve().parents[2]
UNREACHABLE = ("NameResolutionError", "Failed to establish a new connection", "Network is unreachable")


def _offline_env(home: Path) -> dict[str, str]:
    """No PIP_* settings (this machine's find-links and mirrors must not help), no proxy, no index."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_") and "proxy" not in k.lower()}
    return {**env, "HOME": str(home), "PIP_CONFIG_FILE": os.devnull, "PIP_NO_INDEX": "1"}


@pytest.mark.slow
def test_the_kit_installs_offline_and_verifies_a_bundle(
    client: FlaskClient, keys: dict[str, str], make_sealed_job: Callable[..., dict[str, Any]], tmp_path: Path
) -> None:
    if not OFFLINE:
        pytest.skip(f"the kit must be installed without network and this host cannot isolate it: {NO_ISOLATION}")
    kit = tmp_path / "kit"
    built = subprocess.run(
        ["make", "--no-print-directory", "verifier-kit", f"KIT_DIR={kit}"],
        cwd=ROOT, capture_output=True, text=True, timeout=600,
    )
    if built.returncode != 0 and any(s in built.stderr for s in UNREACHABLE):
        pytest.skip("building the kit needs the package registry, which this host cannot reach")
    assert built.returncode == 0, built.stderr[-3000:]
    wheels = sorted(p.name.split("-")[0].lower() for p in (kit / "wheels").iterdir())
    assert {"sealforge_verify", "blake3", "cryptography", "cffi", "setuptools", "wheel"} <= set(wheels)
    assert "sealforge" not in wheels and "flask" not in wheels
    assert (kit / "README.md").read_text().startswith("# Sealforge verifier kit")
    checked = subprocess.run(["sha256sum", "-c", "SHA256SUMS"], cwd=kit, capture_output=True, text=True)
    assert checked.returncode == 0, checked.stdout + checked.stderr

    venv = tmp_path / "auditor"
    subprocess.run([sys.executable, "-m", "venv", str(venv)], check=True)  # pip from Python's own ensurepip
    pip = [*OFFLINE, str(venv / "bin" / "pip"), "install", "-q", "--no-index", "--find-links", str(kit / "wheels")]
    env = _offline_env(tmp_path)
    install = subprocess.run([*pip, "sealforge-verify"], capture_output=True, text=True, timeout=600, env=env)
    assert install.returncode == 0, install.stdout + install.stderr[-3000:]
    # the README's source install too (issue #18: it stopped on setuptools>=69, a build requirement)
    source = subprocess.run(
        [*pip, "--force-reinstall", "--no-deps", str(ROOT / "offline_verify")],
        capture_output=True, text=True, timeout=600, env=env,
    )
    assert source.returncode == 0, source.stdout + source.stderr[-3000:]
    listed = subprocess.run([str(venv / "bin" / "pip"), "list", "--format=freeze"], capture_output=True, text=True)
    names = {line.split("==")[0].lower() for line in listed.stdout.splitlines()}
    assert "sealforge-verify" in names and "sealforge" not in names and "flask" not in names

    headers = auth(keys["read"])
    job = make_sealed_job({"readings.csv": b"t,flow\n0,1.5\n1,1.7\n"})
    bundle = fetch(client, f"/v1/evidence/{job['id']}?include_artifacts=true", headers, tmp_path / "b.tar")
    trust = trust_file(client, headers, tmp_path / "trust.txt")
    result = run_verifier(bundle, trust, binary=venv / "bin" / "sealforge-verify")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "PASS  artifact_digest:readings.csv" in result.stdout and "fingerprint" in result.stdout
