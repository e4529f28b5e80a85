"""The signed OS image boots only when untampered (docs/image.md). Slow: `make image-test`.

Needs `make image` first (build/image/) and the Debian tools packaging/image/deps.sh installs.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.image.qemu import IMAGE_DIR, REPO, boot, overlay

pytestmark = [pytest.mark.slow, pytest.mark.timeout(1200)]

MiB = 1 << 20


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


def test_boots_with_secure_boot_and_serves_healthz(image: Path, tmp_path: Path) -> None:
    with boot(overlay(image / "sealforge.qcow2", tmp_path), tmp_path) as vm:
        status, body = vm.wait_healthz(timeout_s=900)
        console = vm.console_text()
    assert status == 200
    assert json.loads(body)["status"] == "ok", body
    assert "Secure Boot: enabled" in console or "secureboot: Secure boot enabled" in console


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
