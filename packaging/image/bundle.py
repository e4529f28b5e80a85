"""Build and check a signed update bundle from an image build (docs/image.md, "Updating").

    bundle.py build IMAGE_DIR OUT --key KEY.pem [--serial N]  -> OUT if it ends in .sfbundle, else
                                                                OUT/sealforge-<SERIAL>.sfbundle
    bundle.py verify BUNDLE PUBKEY.pem                         -> exit 0 when the signature and every hash match

The bundle is an uncompressed ustar tar, byte-identical for the same inputs (fixed member order,
mtime SOURCE_DATE_EPOCH, owner 0, mode 0644, no pax headers): bundle.json, bundle.json.sig,
sealforge.efi, root.squashfs, root.verity. The format and its check live in the appliance
(appliance/services/system_update/bundle.py), which the box runs; this script adds what only a
build host does: reading IMAGE_DIR and signing with the release key, loaded as manifest.py loads it.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import importlib.util
import io
import os
import sys
import tarfile
from pathlib import Path
from types import ModuleType
from typing import Any

from appliance.errors import AppError
from appliance.services.system_update import bundle as fmt
from appliance.services.system_update import uki

SOURCES = {fmt.UKI: "sealforge.efi", fmt.ROOT: "root.squashfs", fmt.VERITY: "root.verity"}


def _manifest() -> ModuleType:
    """manifest.py beside this file: its release-key loading is the one both signatures use."""
    spec = importlib.util.spec_from_file_location("sealforge_image_manifest", Path(__file__).with_name("manifest.py"))
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _sha256(path: Path) -> str:
    with path.open("rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()


def describe(image_dir: Path, serial: int | None) -> dict[str, Any]:
    """bundle.json for the release in IMAGE_DIR; refuses a build whose parts do not agree (a UKI
    booting another root, a serial other than the one in the release's os-release)."""
    release = uki.os_release((image_dir / "os-release").read_text())
    roothash = (image_dir / "roothash").read_text().strip()
    stated = release.get("IMAGE_SERIAL")
    if serial is None:
        if not (stated and stated.isdigit()):
            raise SystemExit(f"{image_dir}/os-release has no IMAGE_SERIAL: pass --serial")
        serial = int(stated)
    elif stated and stated != str(serial):
        raise SystemExit(f"--serial {serial} differs from IMAGE_SERIAL={stated} in {image_dir}/os-release")
    booted = uki.roothash(image_dir / "sealforge.efi")
    if booted != roothash:
        raise SystemExit(f"{image_dir}/sealforge.efi boots roothash {booted}, not {roothash}")
    files = {
        name: {"size": (image_dir / src).stat().st_size, "sha256": _sha256(image_dir / src)}
        for name, src in SOURCES.items()
    }
    return {
        "format": fmt.FORMAT,
        "serial": serial,
        "version": release.get("IMAGE_VERSION") or "unknown",
        "roothash": roothash,
        "files": files,
    }


def _info(name: str, size: int, mtime: int) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.size, info.mtime, info.mode = size, mtime, 0o644
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def build(image_dir: Path, out: Path, key_path: Path, serial: int | None) -> Path:
    if not key_path.exists():  # never a new key here: a bundle signed by a stray key helps no one
        raise SystemExit(f"{key_path}: no release key (IMAGE_SIGNING_KEY; `make image` makes the test key)")
    key = _manifest().load_or_make_key(key_path)
    doc = describe(image_dir, serial)
    document = fmt.canonical(doc)
    signature = base64.b64encode(key.sign(document)) + b"\n"
    mtime = int(os.environ.get("SOURCE_DATE_EPOCH") or doc["serial"])
    if out.suffix != fmt.SUFFIX:  # a folder (made when missing), as `make image-bundle` passes build/image
        out.mkdir(parents=True, exist_ok=True)
        out = out / fmt.file_name(doc["serial"])
    target = out
    temp = target.with_name(target.name + ".partial")
    with tarfile.open(temp, "w", format=tarfile.USTAR_FORMAT) as tar:
        for name, data in ((fmt.DOCUMENT, document), (fmt.SIGNATURE, signature)):
            tar.addfile(_info(name, len(data), mtime), io.BytesIO(data))
        for name, src in SOURCES.items():
            with (image_dir / src).open("rb") as f:
                tar.addfile(_info(name, doc["files"][name]["size"], mtime), f)
    # A source that changed while it was copied would make a bundle that fails its own check.
    fmt.verify_file(temp, key.public_key())
    os.replace(temp, target)
    return target


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(
        prog="bundle.py", description=__doc__, formatter_class=argparse.RawTextHelpFormatter
    )
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("build")
    b.add_argument("image_dir", type=Path)
    b.add_argument("out", type=Path)
    b.add_argument("--key", type=Path, required=True)
    b.add_argument("--serial", type=int)
    v = sub.add_parser("verify")
    v.add_argument("bundle", type=Path)
    v.add_argument("pubkey", type=Path)
    args = parser.parse_args(argv[1:])
    try:
        if args.command == "build":
            path = build(args.image_dir, args.out, args.key, args.serial)
            print(f"bundle: {path} ({path.stat().st_size} bytes, sha256 {_sha256(path)})")
            return 0
        checked = fmt.verify_file(args.bundle, fmt.load_public_key(args.pubkey))
    except AppError as exc:
        print(f"{args.bundle if args.command == 'verify' else 'bundle'}: {exc.message}", file=sys.stderr)
        return 1
    print(f"ok: serial {checked.serial}, version {checked.version}, roothash {checked.roothash}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
