"""packaging/image/bundle.py: a signed update bundle from an image build folder, the same bytes from
the same inputs, and checked by the same code the box runs. Not slow: a tiny fake release."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
import tarfile
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance.services.system_update import bundle as fmt
from tests.services.system_update.release import REPO, bundle_tool, make_key, make_release, make_uki

SCRIPT = REPO / "packaging/image/bundle.py"


def _run(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True, cwd=REPO)


def test_two_builds_give_the_same_bytes(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    release = make_release(tmp_path / "release", 200)
    private, _ = make_key(tmp_path / "keys")
    first = bundle_tool().build(release.folder, tmp_path / "one", private, None)
    second = bundle_tool().build(release.folder, tmp_path / "two", private, None)
    assert first.name == second.name == "sealforge-200.sfbundle"
    assert first.read_bytes() == second.read_bytes()


def test_the_bundle_is_the_contracts_tar(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "1764547200")
    release = make_release(tmp_path / "release", 200)
    private, public = make_key(tmp_path / "keys")
    path = bundle_tool().build(release.folder, tmp_path / "sealforge-200.sfbundle", private, None)
    with tarfile.open(path) as tar:
        infos = tar.getmembers()
        data = {m.name: tar.extractfile(m).read() for m in infos}  # type: ignore[union-attr]
    assert [m.name for m in infos] == [
        "bundle.json",
        "bundle.json.sig",
        "sealforge.efi",
        "root.squashfs",
        "root.verity",
    ]
    assert {(m.uid, m.gid, m.mtime, m.mode, m.type) for m in infos} == {(0, 0, 1764547200, 0o644, tarfile.REGTYPE)}
    assert not any(m.pax_headers for m in infos)
    assert path.read_bytes()[257:263] == b"ustar\0"
    doc = json.loads(data["bundle.json"])
    assert data["bundle.json"] == json.dumps(doc, sort_keys=True, separators=(",", ":")).encode()
    assert doc["format"] == "sealforge-bundle/1" and doc["serial"] == 200 and doc["version"] == "v200"
    assert doc["roothash"] == release.roothash
    assert doc["files"]["root.squashfs"]["size"] == len(data["root.squashfs"])
    signature = data["bundle.json.sig"]
    assert signature.count(b"\n") == 1 and signature.endswith(b"\n")
    key = serialization.load_pem_public_key(public.read_bytes())
    assert isinstance(key, Ed25519PublicKey)
    key.verify(base64.b64decode(signature), data["bundle.json"])  # raw Ed25519 over the exact bytes


def test_verify_passes_a_good_bundle_and_fails_a_bad_one(tmp_path: Path) -> None:
    release = make_release(tmp_path / "release", 200)
    private, public = make_key(tmp_path / "keys")
    built = _run("build", release.folder, tmp_path / "out", "--key", private)
    assert built.returncode == 0, built.stderr
    path = tmp_path / "out/sealforge-200.sfbundle"
    ok = _run("verify", path, public)
    assert ok.returncode == 0 and f"roothash {release.roothash}" in ok.stdout
    _, other = make_key(tmp_path / "other")
    wrong = _run("verify", path, other)
    assert wrong.returncode == 1 and "does not verify with the release key" in wrong.stderr
    raw = bytearray(path.read_bytes())
    raw[len(raw) // 2] ^= 0x01
    path.write_bytes(bytes(raw))
    flipped = _run("verify", path, public)
    assert flipped.returncode == 1 and "sha256 differs" in flipped.stderr


def test_parts_that_disagree_make_no_bundle(tmp_path: Path) -> None:
    release = make_release(tmp_path / "release", 200)
    private, _ = make_key(tmp_path / "keys")
    out = tmp_path / "out"
    mismatch = _run("build", release.folder, out, "--key", private, "--serial", "201")
    assert mismatch.returncode != 0 and "differs from IMAGE_SERIAL=200" in mismatch.stderr
    make_uki(release.folder / "sealforge.efi", "ab" * 32, 200)  # a UKI that boots another root
    stray = _run("build", release.folder, out, "--key", private)
    assert stray.returncode != 0 and "boots roothash abab" in stray.stderr
    no_key = _run("build", release.folder, out, "--key", tmp_path / "absent.pem")
    assert no_key.returncode != 0 and "no release key" in no_key.stderr
    assert not (tmp_path / "absent.pem").exists()  # never a new key in its place
    assert not any(out.glob("*.sfbundle"))


def test_a_release_without_image_serial_needs_serial(tmp_path: Path) -> None:
    release = make_release(tmp_path / "release", 200)
    (release.folder / "os-release").write_text("IMAGE_ID=sealforge\nIMAGE_VERSION=old\n")
    make_uki(release.folder / "sealforge.efi", release.roothash, None)
    private, public = make_key(tmp_path / "keys")
    refused = _run("build", release.folder, tmp_path / "x.sfbundle", "--key", private)
    assert refused.returncode != 0 and "pass --serial" in refused.stderr
    built = _run("build", release.folder, tmp_path / "x.sfbundle", "--key", private, "--serial", "7")
    assert built.returncode == 0, built.stderr
    assert fmt.verify_file(tmp_path / "x.sfbundle", fmt.load_public_key(public)).serial == 7
