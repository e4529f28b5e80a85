"""Write and check the image's signed release manifest.

The manifest names every artifact of an image build with its SHA-256 and size, plus the dm-verity
root hash, and is signed with Ed25519. The UKI's Secure Boot signature protects what the firmware
starts; this signature lets a site (or an update step) check a whole release offline, before
writing any of it, without trusting the box's clock (no expiry, no certificate chain).

    manifest.py sign  BUILD_DIR KEY.pem      -> BUILD_DIR/manifest.json, manifest.json.sig, manifest.pub
    manifest.py verify BUILD_DIR PUBKEY.pem  -> exit 0 when the signature and every hash match
    manifest.py pubkey KEY.pem OUT.pem       -> the key's public half (made first when KEY.pem is
                                                missing), for the root's /usr/share/sealforge/release.pub
"""

from __future__ import annotations

import hashlib
import json
import os
import sys
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ARTIFACTS = (
    "sealforge.raw",
    "sealforge.qcow2",
    "sealforge.efi",
    "systemd-bootx64.efi",
    "root.squashfs",
    "root.verity",
    "esp.img",
)


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as f:
        for chunk in iter(lambda: f.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def build_manifest(build_dir: Path) -> bytes:
    """Canonical JSON (sorted keys, no spaces) so two identical builds give identical bytes."""
    artifacts = {
        name: {"sha256": _sha256(build_dir / name), "size": (build_dir / name).stat().st_size} for name in ARTIFACTS
    }
    # The release as the UKI's os-release names it (uki.sh copies it into the build dir).
    release = dict(line.split("=", 1) for line in (build_dir / "os-release").read_text().splitlines() if "=" in line)
    doc = {
        "format": 1,
        "image": "sealforge",
        "roothash": (build_dir / "roothash").read_text().strip(),
        "cmdline": (build_dir / "cmdline").read_text().strip(),
        "source_date_epoch": int(os.environ.get("SOURCE_DATE_EPOCH", "0")),
        "serial": int(release["IMAGE_SERIAL"]),
        "version": release["IMAGE_VERSION"],
        "artifacts": artifacts,
    }
    return json.dumps(doc, sort_keys=True, separators=(",", ":")).encode() + b"\n"


def load_or_make_key(path: Path) -> Ed25519PrivateKey:
    """The site's key when it exists; otherwise a new test key, written 0600 (CI and dev builds)."""
    if path.exists():
        key = serialization.load_pem_private_key(path.read_bytes(), password=None)
        if not isinstance(key, Ed25519PrivateKey):
            raise SystemExit(f"{path}: not an Ed25519 private key")
        return key
    key = Ed25519PrivateKey.generate()
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "wb") as f:
        f.write(
            key.private_bytes(
                serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
            )
        )
    return key


def public_pem(key: Ed25519PrivateKey) -> bytes:
    return key.public_key().public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)


def sign(build_dir: Path, key_path: Path) -> None:
    key = load_or_make_key(key_path)
    body = build_manifest(build_dir)
    (build_dir / "manifest.json").write_bytes(body)
    (build_dir / "manifest.json.sig").write_bytes(key.sign(body))
    (build_dir / "manifest.pub").write_bytes(public_pem(key))
    print(f"manifest: {build_dir / 'manifest.json'} signed, sha256 {hashlib.sha256(body).hexdigest()}")


def verify(build_dir: Path, pub_path: Path) -> list[str]:
    """Problems found (empty when the release is intact): a bad signature stops before any hashing."""
    pub = serialization.load_pem_public_key(pub_path.read_bytes())
    if not isinstance(pub, Ed25519PublicKey):
        return [f"{pub_path}: not an Ed25519 public key"]
    body = (build_dir / "manifest.json").read_bytes()
    try:
        pub.verify((build_dir / "manifest.json.sig").read_bytes(), body)
    except InvalidSignature:
        return ["manifest.json: signature does not verify"]
    problems = []
    for name, want in json.loads(body)["artifacts"].items():
        path = build_dir / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif _sha256(path) != want["sha256"]:
            problems.append(f"{name}: sha256 differs from the manifest")
    return problems


def main(argv: list[str]) -> int:
    if len(argv) != 4 or argv[1] not in ("sign", "verify", "pubkey"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[1] == "pubkey":
        Path(argv[3]).write_bytes(public_pem(load_or_make_key(Path(argv[2]))))
        return 0
    build_dir, key = Path(argv[2]), Path(argv[3])
    if argv[1] == "sign":
        sign(build_dir, key)
        return 0
    problems = verify(build_dir, key)
    for p in problems:
        print(p, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
