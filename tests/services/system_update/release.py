"""Small real releases for the updater's tests: an image build folder with a tiny "root" and "hash
tree" (random bytes: the updater checks hashes and writes bytes, it never mounts them), a UKI that
is a minimal PE file with the ``.cmdline`` and ``.osrel`` sections a real UKI has, the bundle built
by packaging/image/bundle.py with a real Ed25519 key, and a GPT disk-image file made by sfdisk with
the A/B layout of docs/image.md.
"""

from __future__ import annotations

import base64
import hashlib
import importlib.util
import io
import json
import random
import shutil
import struct
import subprocess
import tarfile
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from appliance.services.system_update import slots

REPO = Path(__file__).resolve().parents[3]
MiB = 1 << 20
ESP_TYPE = "C12A7328-F81F-11D2-BA4B-00A0C93EC93B"
ROOT_TYPE = "4F68BCE3-E8CD-4DB1-96E7-FBCAF984B709"
VERITY_TYPE = "2C7357ED-EBD2-46D9-AEC1-23D437EC2BF5"
DATA_TYPE = "0FC63DAF-8483-4772-8E79-3D69D8477DE4"
# sfdisk is part of fdisk (util-linux); .ci/run installs it when missing. No silent skip.
if shutil.which("sfdisk") is None:
    raise RuntimeError("sfdisk is needed by the updater tests (apt-get install fdisk)")


def bundle_tool() -> ModuleType:
    """packaging/image/bundle.py, loaded as the build host runs it."""
    spec = importlib.util.spec_from_file_location("sealforge_image_bundle", REPO / "packaging/image/bundle.py")
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def make_uki(path: Path, roothash: str, serial: int | None, filler: int = 4096) -> None:
    """A PE image with .osrel and .cmdline sections (as objcopy adds them to systemd's stub)."""
    osrel = b'NAME="Debian GNU/Linux"\nIMAGE_ID=sealforge\nIMAGE_VERSION=test\n'
    if serial is not None:
        osrel += f"IMAGE_SERIAL={serial}\n".encode()
    cmdline = f"roothash={roothash} root=/dev/mapper/root ro".encode()
    pe = 0x40
    table = pe + 24
    data = table + 2 * 40
    head = bytearray(data)
    head[0:2] = b"MZ"
    struct.pack_into("<I", head, 0x3C, pe)
    head[pe : pe + 4] = b"PE\0\0"
    struct.pack_into("<HHIIIHH", head, pe + 4, 0x8664, 2, 0, 0, 0, 0, 0x22)
    at = data
    for i, (name, body) in enumerate(((b".osrel", osrel), (b".cmdline", cmdline))):
        struct.pack_into("<8sIIII", head, table + 40 * i, name, len(body), 0x20000 * (i + 1), len(body), at)
        at += len(body)
    path.write_bytes(bytes(head) + osrel + cmdline + random.Random(roothash).randbytes(filler))


@dataclass(frozen=True)
class Release:
    folder: Path
    serial: int
    roothash: str


def make_release(folder: Path, serial: int, root_bytes: int = 3 * MiB, verity_bytes: int = 64 * 1024) -> Release:
    """An image build folder as `make image` leaves it (the files bundle.py reads)."""
    rng = random.Random(serial)
    folder.mkdir(parents=True, exist_ok=True)
    roothash = hashlib.sha256(f"root {serial} {root_bytes}".encode()).hexdigest()
    (folder / "root.squashfs").write_bytes(rng.randbytes(root_bytes))
    (folder / "root.verity").write_bytes(rng.randbytes(verity_bytes))
    (folder / "roothash").write_text(roothash)
    (folder / "os-release").write_text(
        'PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\n'
        f"IMAGE_ID=sealforge\nIMAGE_VERSION=v{serial}\nIMAGE_SERIAL={serial}\n"
    )
    make_uki(folder / "sealforge.efi", roothash, serial)
    return Release(folder, serial, roothash)


def make_key(folder: Path) -> tuple[Path, Path]:
    """A release key pair (PEM private key as IMAGE_SIGNING_KEY, public key as release.pub)."""
    folder.mkdir(parents=True, exist_ok=True)
    key = Ed25519PrivateKey.generate()
    private, public = folder / "release.pem", folder / "release.pub"
    private.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    public.write_bytes(
        key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    return private, public


def uuid_pair(roothash: str) -> tuple[str, str]:
    return slots.as_uuid(roothash[:32]), slots.as_uuid(roothash[32:])


def make_disk(path: Path, running: Release, slot: str = "a", slot_mib: int = 4, data_mib: int = 2) -> Path:
    """A GPT disk-image file: esp, root-a, verity-a, root-b, verity-b, then a data partition full of
    random bytes. ``running`` is written to ``slot`` with its UUIDs; the other slot is empty."""
    other = "b" if slot == "a" else "a"
    uuids = {slot: uuid_pair(running.roothash), other: uuid_pair(slots.empty_roothash(other, running.roothash))}
    total = 1 + 1 + 4 * slot_mib + data_mib + 1
    with path.open("wb") as f:
        f.truncate(total * MiB)
    lines = ["label: gpt", "unit: sectors", f"start=2048, size=2048, type={ESP_TYPE}, name=esp"]
    for s in ("a", "b"):
        lines.append(f"size={slot_mib * 2048}, type={ROOT_TYPE}, uuid={uuids[s][0]}, name=root-{s}")
        lines.append(f"size={slot_mib * 2048}, type={VERITY_TYPE}, uuid={uuids[s][1]}, name=verity-{s}")
    lines.append(f"size={data_mib * 2048}, type={DATA_TYPE}, name=sealforge-data")
    subprocess.run(["sfdisk", "-q", str(path)], input="\n".join(lines) + "\n", text=True, check=True)
    table = slots.read_table(path)
    with path.open("r+b") as f:
        f.seek(table[f"root-{slot}"].start)
        f.write((running.folder / "root.squashfs").read_bytes())
        f.seek(table[f"verity-{slot}"].start)
        f.write((running.folder / "root.verity").read_bytes())
        data = table["sealforge-data"]
        f.seek(data.start)
        f.write(random.Random("data").randbytes(data.size))
    return path


def make_esp(folder: Path, running: Release) -> Path:
    """The ESP as a folder: systemd-boot's place and the running release's known-good entry."""
    (folder / "EFI/BOOT").mkdir(parents=True)
    (folder / "EFI/Linux").mkdir(parents=True)
    (folder / "EFI/BOOT/BOOTX64.EFI").write_bytes(b"systemd-boot stand-in")
    shutil.copy(running.folder / "sealforge.efi", folder / f"EFI/Linux/sealforge-{running.serial}.efi")
    return folder


def partitions_json(disk: Path) -> dict[str, object]:
    out = subprocess.run(["sfdisk", "--json", str(disk)], check=True, capture_output=True, text=True).stdout
    return dict(json.loads(out)["partitiontable"])


def write_tar(path: Path, members: list[tuple[str, bytes]], mtime: int = 1_700_000_000) -> Path:
    """A ustar tar of the members as given: for bundles built wrong on purpose (order, extras)."""
    with tarfile.open(path, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in members:
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), mtime
            tar.addfile(info, io.BytesIO(data))
    return path


def members(bundle: Path) -> list[tuple[str, bytes]]:
    with tarfile.open(bundle) as tar:
        return [(m.name, tar.extractfile(m).read()) for m in tar.getmembers()]  # type: ignore[union-attr]


def sign(private: Path, document: bytes) -> bytes:
    key = serialization.load_pem_private_key(private.read_bytes(), password=None)
    assert isinstance(key, Ed25519PrivateKey)
    return base64.b64encode(key.sign(document)) + b"\n"


def tree_digest(*paths: Path) -> str:
    """One SHA-256 over files and folders (names and bytes): equal digests, identical trees."""
    digest = hashlib.sha256()
    for root in paths:
        for path in sorted([root, *root.rglob("*")]) if root.is_dir() else [root]:
            digest.update(str(path.relative_to(root.parent)).encode() + b"\0")
            if path.is_file():
                digest.update(path.read_bytes())
    return digest.hexdigest()
