"""The signed OS image boots only when untampered (docs/image.md). Slow: `make image-test`.

Needs `make image` first (build/image/) and the Debian tools packaging/image/deps.sh installs.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.image.qemu import IMAGE_DIR, REPO, Banner, Vm, boot, overlay, partition, write_to_ext4

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


ROOT_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
VERITY_TYPE = "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5"


def _uuid_hex(part: dict[str, object]) -> str:
    return str(part["uuid"]).replace("-", "").lower()


def _squashfs_file(image: Path, path: str) -> bytes:
    """One file of the built root, read from the squashfs itself (what the box mounts)."""
    out = subprocess.run(
        ["unsquashfs", "-cat", str(image / "root.squashfs"), path], check=True, capture_output=True
    ).stdout
    return out


def _esp_file(esp: Path, path: str, work: Path) -> bytes:
    dest = work / path.replace("/", "_")
    subprocess.run(["mcopy", "-n", "-i", str(esp), f"::{path}", str(dest)], check=True, capture_output=True)
    return dest.read_bytes()


def _serial(image: Path) -> int:
    return int(json.loads((image / "manifest.json").read_text())["serial"])


def test_disk_layout_is_ab_and_discoverable(image: Path, tmp_path: Path) -> None:
    """The A/B layout of docs/image.md: slot a holds this release (partition UUIDs = the halves of
    its root hash), slot b is empty (UUIDs that match no root hash), slots have headroom."""
    raw = image / "sealforge.raw"
    parts = {str(p["name"]): p for p in _partitions(raw)}
    assert list(parts) == ["esp", "root-a", "verity-a", "root-b", "verity-b"]
    roothash = (image / "roothash").read_text().strip()
    assert _uuid_hex(parts["root-a"]) + _uuid_hex(parts["verity-a"]) == roothash
    empty = hashlib.sha256(f"sealforge-empty-b-{roothash}".encode()).hexdigest()
    assert _uuid_hex(parts["root-b"]) + _uuid_hex(parts["verity-b"]) == empty
    for slot in "ab":
        assert str(parts[f"root-{slot}"]["type"]).upper() == ROOT_TYPE
        assert str(parts[f"verity-{slot}"]["type"]).upper() == VERITY_TYPE
    assert parts["root-a"]["size"] == parts["root-b"]["size"]
    assert parts["verity-a"]["size"] == parts["verity-b"]["size"]
    squash_size = (image / "root.squashfs").stat().st_size
    assert int(str(parts["root-a"]["size"])) * 512 >= squash_size * 1.4
    assert f"roothash={roothash}" in (image / "cmdline").read_text()
    # Slot a holds the root and its hash tree; slot b's first MiB is zeros.
    with raw.open("rb") as f:
        f.seek(int(str(parts["root-a"]["start"])) * 512)
        assert f.read(MiB) == (image / "root.squashfs").open("rb").read(MiB)
        f.seek(int(str(parts["verity-a"]["start"])) * 512)
        assert f.read(4096) == (image / "root.verity").open("rb").read(4096)
        f.seek(int(str(parts["root-b"]["start"])) * 512)
        assert f.read(MiB) == bytes(MiB)


def test_esp_boots_systemd_boot_and_the_release_uki(image: Path, tmp_path: Path) -> None:
    """ESP: signed systemd-boot at the default path, loader.conf, and the release's UKI as a type #2
    entry without a boot counter; the serial in the UKI's and the root's os-release; the release
    key, /efi and the trial health gate in the root."""
    serial = _serial(image)
    esp = image / "esp.img"
    mdir = subprocess.run(["mdir", "-i", str(esp), "-b", "-/", "::/"], check=True, capture_output=True, text=True)
    files = sorted(line.strip() for line in mdir.stdout.splitlines() if not line.strip().endswith("/"))
    assert files == ["::/EFI/BOOT/BOOTX64.EFI", f"::/EFI/Linux/sealforge-{serial}.efi", "::/loader/loader.conf"], files
    assert _esp_file(esp, "/EFI/BOOT/BOOTX64.EFI", tmp_path) == (image / "systemd-bootx64.efi").read_bytes()
    assert _esp_file(esp, f"/EFI/Linux/sealforge-{serial}.efi", tmp_path) == (image / "sealforge.efi").read_bytes()
    assert b"editor no" in _esp_file(esp, "/loader/loader.conf", tmp_path)
    for name in ("systemd-bootx64.efi", "sealforge.efi"):
        cert = image / "keys" / "db-test.crt"
        subprocess.run(["sbverify", "--cert", str(cert), str(image / name)], check=True, capture_output=True)
    osrel = tmp_path / "osrel"
    subprocess.run(
        ["objcopy", "-O", "binary", "--only-section=.osrel", str(image / "sealforge.efi"), str(osrel)], check=True
    )
    root_osrel = _squashfs_file(image, "usr/lib/os-release").decode()
    for text in (osrel.read_text(), root_osrel):
        assert f"IMAGE_SERIAL={serial}\n" in text and "IMAGE_ID=sealforge\n" in text
        assert f"IMAGE_VERSION={serial}-" in text  # systemd-boot sorts releases by it
    assert _squashfs_file(image, "usr/share/sealforge/release.pub") == (image / "manifest.pub").read_bytes()
    listing = subprocess.run(
        ["unsquashfs", "-l", "-d", "", str(image / "root.squashfs"), "efi", "etc/systemd/system"],
        check=True, capture_output=True, text=True,
    ).stdout  # fmt: skip
    assert "/efi\n" in listing
    assert "/etc/systemd/system/boot-complete.target.requires/sealforge-healthy.service" in listing
    assert b"FailureAction=reboot" in _squashfs_file(image, "etc/systemd/system/sealforge-healthy.service")


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


def _esp_only_disk(esp: Path, work: Path) -> Path:
    """A disk with only this ESP on it: enough to see what the firmware and the loader refuse."""
    disk = work / f"{esp.stem}.raw"
    esp_mib = esp.stat().st_size // MiB
    with disk.open("wb") as f:
        f.truncate((esp_mib + 2) * MiB)
    subprocess.run(
        ["sfdisk", "-q", str(disk)],
        input="label: gpt\nstart=2048, type=C12A7328-F81F-11D2-BA4B-00A0C93EC93B, name=esp\n",
        text=True, check=True,
    )  # fmt: skip
    subprocess.run(["dd", f"if={esp}", f"of={disk}", "bs=1M", "seek=1", "conv=notrunc", "status=none"], check=True)
    return disk


def _plain(console: str) -> str:
    """The console without the firmware's and the loader's terminal escape sequences."""
    return re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", console)


def test_unenrolled_key_is_refused(image: Path, tmp_path: Path) -> None:
    """Both signed EFI binaries are checked: systemd-boot signed by a key the firmware does not
    trust never starts (boot 1), and the enrolled systemd-boot does not start the release's UKI
    signed by such a key (boot 2). Neither reaches the kernel."""
    key, cert = tmp_path / "other.key", tmp_path / "other.crt"
    subprocess.run(
        ["openssl", "req", "-new", "-x509", "-newkey", "rsa:2048", "-nodes", "-subj", "/CN=not enrolled",
         "-days", "1", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip

    def other_signed(name: str) -> Path:
        out = tmp_path / f"other-{name}"
        subprocess.run(
            ["sbsign", "--key", str(key), "--cert", str(cert), "--output", str(out), str(image / name)],
            check=True, capture_output=True,
        )  # fmt: skip
        return out

    mdir = ["mdir", "-i", str(image / "esp.img"), "-b", "::/EFI/Linux"]
    listing = subprocess.run(mdir, check=True, capture_output=True, text=True)
    (entry,) = listing.stdout.split()  # the release's one UKI, replaced below
    loader_esp, uki_esp = tmp_path / "loader-esp.img", tmp_path / "uki-esp.img"
    shutil.copy(image / "esp.img", loader_esp)
    loader = other_signed("systemd-bootx64.unsigned.efi")
    subprocess.run(["mcopy", "-o", "-i", str(loader_esp), str(loader), "::/EFI/BOOT/BOOTX64.EFI"], check=True)
    shutil.copy(image / "esp.img", uki_esp)
    uki = other_signed("sealforge.unsigned.efi")
    subprocess.run(["mcopy", "-o", "-i", str(uki_esp), str(uki), entry], check=True)
    for esp in (loader_esp, uki_esp):
        with boot(overlay(_esp_only_disk(esp, tmp_path), tmp_path), tmp_path) as vm:
            deadline = time.monotonic() + 300
            while time.monotonic() < deadline and vm.proc.poll() is None:
                if re.search(r"Access Denied|Security Violation", _plain(vm.console_text())):
                    break
                time.sleep(2)
            time.sleep(5)  # anything printed after the refusal
            console = _plain(vm.console_text())
        assert re.search(r"Access Denied|Security Violation", console), f"{esp.name}: {console[-3000:]}"
        assert "Linux version" not in console and "EFI stub" not in console, f"{esp.name}: {console[-3000:]}"
    # The second refusal is systemd-boot's: it ran, and the firmware would not load the UKI for it.
    assert f"Error loading \\EFI\\Linux\\{entry.rpartition('/')[2]}: Access Denied" in console, console[-3000:]


def test_flipped_root_byte_stops_the_boot(image: Path, tmp_path: Path) -> None:
    """One changed byte in slot a's verity-protected root: dm-verity panics instead of mounting it."""
    root_start = int(partition(image / "sealforge.raw", "root-a")["start"]) * 512
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
