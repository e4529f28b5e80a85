"""The signed OS image boots only when untampered (docs/image.md). Slow: `make image-test`.

Needs `make image` first (build/image/) and the Debian tools packaging/image/deps.sh installs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.image.qemu import IMAGE_DIR, REPO, Banner, Vm, boot, overlay, write_to_ext4

pytestmark = [pytest.mark.slow, pytest.mark.timeout(5400)]

MiB = 1 << 20
# A small mock job (tests/conftest.py's mock_schema): the interactive queue runs it in seconds.
MOCK_SCHEMA = {
    "tables": [
        {
            "name": "readings",
            "rows": 500,
            "columns": [
                {"name": "id", "type": "int", "generator": "sequence"},
                {"name": "flow", "type": "float", "generator": "normal", "mean": 10, "std": 2},
            ],
        }
    ]
}


@pytest.fixture(scope="module")
def image() -> Path:
    if not (IMAGE_DIR / "manifest.json").exists():
        pytest.fail(f"no image in {IMAGE_DIR}: run `make image` first")
    return IMAGE_DIR


def _partitions(disk: Path) -> list[dict[str, object]]:
    out = subprocess.run(["sfdisk", "--json", str(disk)], check=True, capture_output=True, text=True).stdout
    parts: list[dict[str, object]] = json.loads(out)["partitiontable"]["partitions"]
    return parts


def test_manifest_signature_covers_every_artifact(image: Path, tmp_path: Path) -> None:
    script = REPO / "packaging" / "image" / "manifest.py"
    ok = subprocess.run([sys.executable, str(script), "verify", str(image), str(image / "manifest.pub")])
    assert ok.returncode == 0
    # A copy of the release with one artifact changed no longer verifies.
    copy = tmp_path / "release"
    copy.mkdir()
    for name in ("manifest.json", "manifest.json.sig", "manifest.pub", "roothash", "cmdline"):
        shutil.copy(image / name, copy / name)
    for name in json.loads((image / "manifest.json").read_text())["artifacts"]:
        (copy / name).symlink_to(image / name)
    (copy / "sealforge.efi").unlink()
    shutil.copy(image / "sealforge.efi", copy / "sealforge.efi")
    with (copy / "sealforge.efi").open("r+b") as f:
        f.seek(4096)
        byte = f.read(1)
        f.seek(4096)
        f.write(bytes([byte[0] ^ 0xFF]))
    bad = subprocess.run(
        [sys.executable, str(script), "verify", str(copy), str(image / "manifest.pub")], capture_output=True, text=True
    )
    assert bad.returncode == 1
    assert "sealforge.efi: sha256 differs" in bad.stderr


def test_disk_layout_is_discoverable(image: Path) -> None:
    parts = _partitions(image / "sealforge.raw")
    roothash = (image / "roothash").read_text().strip()
    assert [p["name"] for p in parts] == ["esp", "root-x86-64", "root-x86-64-verity"]
    root_uuid = str(parts[1]["uuid"]).replace("-", "").lower()
    verity_uuid = str(parts[2]["uuid"]).replace("-", "").lower()
    assert root_uuid + verity_uuid == roothash
    assert f"roothash={roothash}" in (image / "cmdline").read_text()


def _signing_fingerprint(verifier_key: str) -> str:
    """The console's form of a seal-signing key's fingerprint, from the vkey the API lists
    (`name+keyid+base64(alg byte + 32-byte key)`): SHA-256 of the raw key in groups of four."""
    digest = hashlib.sha256(base64.b64decode(verifier_key.split("+", 2)[2])[-32:]).hexdigest()
    return " ".join(digest[i : i + 4] for i in range(0, len(digest), 4))


def _run_mock_job(vm: Vm, key: str) -> dict[str, Any]:
    """Credits, then a small mock job through the API; the job once it has ended."""
    status, body = vm.call("POST", "/v1/billing/topup", key, {"credits": 10, "note": "image test"})
    assert status == 200, body
    status, job = vm.call("POST", "/v1/jobs", key, {"kind": "mock", "params": {"schema": MOCK_SCHEMA}, "seed": 7})
    assert status == 202, job
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline:
        status, job = vm.call("GET", f"/v1/jobs/{job['id']}", key)
        if job["status"] in ("succeeded", "failed", "canceled"):
            return job
        time.sleep(3)
    raise AssertionError(f"job {job['id']} still {job['status']} after 600 s")


def test_first_boot_serves_healthz_runs_and_seals_a_job_and_keeps_data(image: Path, tmp_path: Path) -> None:
    """The pristine image under Secure Boot: the console shows the setup key and fingerprints, the
    API answers and a job runs and seals with that key. Then the box is switched off (a power cut),
    a site network file is put on the data partition and it boots again: the file is used, the
    setup key and the seal are still there."""
    disk = overlay(image / "sealforge.qcow2", tmp_path)
    with boot(disk, tmp_path) as vm:
        status, body = vm.wait_healthz(timeout_s=1800)
        assert status == 200 and json.loads(body)["status"] == "ok", body
        assert vm.wait_console("Setup key (operator", timeout_s=120), vm.console_text()[-3000:]
        first = Banner.parse(vm.console_text())
        assert first.setup_key is not None
        assert vm.served_fingerprint() == first.tls_fingerprint
        job = _run_mock_job(vm, first.setup_key)
        assert job["status"] == "succeeded", job
        status, seals = vm.call("GET", f"/v1/seals?job_id={job['id']}", first.setup_key)
        assert status == 200 and seals["data"], seals
        assert seals["data"][0]["signing_key_id"] == first.signing_key_id
        status, signers = vm.call("GET", "/v1/keys/signing", first.setup_key)
        listed = {k["key_id"]: _signing_fingerprint(k["verifier_key"]) for k in signers["data"]}
        assert listed[first.signing_key_id] == first.signing_fingerprint
        console = vm.console_text()
        # The power cut comes after the kernel has written dirty pages back (30 s): the database
        # commits at synchronous=NORMAL, so a seal only seconds old could be lost, as on a real box.
        time.sleep(35)
    assert "secureboot: Secure boot enabled" in console
    assert "sealforge-network: no files in /var/lib/sealforge/network, wired interfaces use DHCP" in console

    raw = tmp_path / "second.raw"
    subprocess.run(["qemu-img", "convert", "-O", "raw", str(disk), str(raw)], check=True)
    assert [p["name"] for p in _partitions(raw)][-1] == "sealforge-data"
    # qemu's user network answers DHCP too: the site file gives the same address statically and
    # turns DHCP off, so the forwarded port works only if the file was used.
    site = b"[Match]\nName=en* eth*\n\n[Network]\nDHCP=no\nAddress=10.0.2.15/24\nGateway=10.0.2.2\n"
    write_to_ext4(raw, "sealforge-data", {"network/10-site.network": site}, tmp_path)
    with boot(raw, tmp_path) as vm:
        status, body = vm.wait_healthz(timeout_s=1800)
        assert status == 200, body
        assert vm.wait_console("Setup key (operator", timeout_s=120), vm.console_text()[-3000:]
        second = Banner.parse(vm.console_text())
        status, seals = vm.call("GET", f"/v1/seals?job_id={job['id']}", first.setup_key)
        console = vm.console_text()
    assert "sealforge-network: site files from /var/lib/sealforge/network: 10-site.network" in console
    assert second == first  # same setup key, certificate and signing key after the reboot
    assert status == 200 and seals["data"], seals


def test_unenrolled_key_is_refused(image: Path, tmp_path: Path) -> None:
    """The same UKI signed by a key the firmware does not trust never starts."""
    key, cert = tmp_path / "other.key", tmp_path / "other.crt"
    subprocess.run(
        ["openssl", "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=not enrolled",
         "-days", "1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    uki = tmp_path / "other.efi"
    subprocess.run(
        ["sbsign", "--key", str(key), "--cert", str(cert), "--output", str(uki), str(image / "sealforge.unsigned.efi")],
        check=True, capture_output=True,
    )  # fmt: skip
    esp = tmp_path / "esp.img"
    shutil.copy(image / "esp.img", esp)
    subprocess.run(["mcopy", "-o", "-i", str(esp), str(uki), "::/EFI/BOOT/BOOTX64.EFI"], check=True)
    disk = tmp_path / "other.raw"
    esp_mib = esp.stat().st_size // MiB
    with disk.open("wb") as f:
        f.truncate((esp_mib + 2) * MiB)
    subprocess.run(
        ["sfdisk", "-q", str(disk)],
        input="label: gpt\nstart=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\n",
        text=True, check=True,
    )  # fmt: skip
    subprocess.run(["dd", f"if={esp}", f"of={disk}", "bs=1M", "seek=1", "conv=notrunc", "status=none"], check=True)
    with boot(overlay(disk, tmp_path), tmp_path) as vm:
        refused = vm.wait_console("Access Denied", timeout_s=300)
        console = vm.console_text()
    assert refused, console[-3000:]
    assert "Linux version" not in console


def test_flipped_root_byte_stops_the_boot(image: Path, tmp_path: Path) -> None:
    """One changed byte in the verity-protected root: dm-verity panics instead of mounting it."""
    parts = _partitions(image / "sealforge.raw")
    root_start = int(str(parts[1]["start"])) * 512
    disk = overlay(image / "sealforge.qcow2", tmp_path)
    original = (image / "root.squashfs").open("rb").read(1)[0]
    subprocess.run(
        ["qemu-io", "-f", "qcow2", "-c", f"write -P {original ^ 0x01} {root_start} 1", str(disk)],
        check=True, capture_output=True,
    )  # fmt: skip
    with boot(disk, tmp_path) as vm:
        stopped = vm.wait_console("Kernel panic", timeout_s=600)
        console = vm.console_text()
    assert stopped, console[-3000:]
    assert "verity" in console and "corrupt" in console.lower()
