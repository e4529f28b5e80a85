"""The updater on a real GPT disk-image file (sfdisk) with an ESP folder: apply writes exactly the
slot not running and its boot entry; every refused bundle leaves disk and ESP byte-identical."""

from __future__ import annotations

import ast
import hashlib
import json
import tarfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from appliance.errors import AppError
from appliance.services.system_update import bundle as fmt
from appliance.services.system_update import slots
from tests.services.system_update.release import (
    MiB,
    Release,
    bundle_tool,
    make_disk,
    make_esp,
    make_key,
    make_release,
    members,
    sign,
    tree_digest,
    uuid_pair,
    write_tar,
)

GPT_BACKUP = 33 * 512  # the backup GPT at the end of the disk: sfdisk rewrites it with the UUIDs


@dataclass
class Box:
    tmp: Path
    private: Path
    public: Path
    running: Release
    disk: Path
    esp: Path

    def bundle(self, serial: int, **kwargs: int) -> Path:
        release = make_release(self.tmp / f"release-{serial}-{len(kwargs)}", serial, **kwargs)
        out = self.tmp / f"out-{serial}-{len(kwargs)}"
        out.mkdir(exist_ok=True)
        return Path(bundle_tool().build(release.folder, out, self.private, None))

    def apply(self, bundle: Path, **kwargs: object) -> dict[str, object]:
        key = fmt.load_public_key(self.public)
        return slots.apply(bundle, key, self.disk, self.esp, self.running.roothash, **kwargs)  # type: ignore[arg-type]

    def digest(self) -> str:
        return tree_digest(self.disk, self.esp)


@pytest.fixture
def box(tmp_path: Path) -> Box:
    private, public = make_key(tmp_path / "keys")
    running = make_release(tmp_path / "release-100", 100)
    return Box(
        tmp_path,
        private,
        public,
        running,
        make_disk(tmp_path / "disk.img", running),
        make_esp(tmp_path / "esp", running),
    )


def _region(disk: Path, start: int, size: int) -> bytes:
    with disk.open("rb") as f:
        f.seek(start)
        return f.read(size)


def test_apply_writes_the_free_slot_exactly_and_nothing_else(box: Box) -> None:
    table = slots.read_table(box.disk)
    disk_size = box.disk.stat().st_size
    after_slots = table["verity-b"].start + table["verity-b"].size
    kept = {
        "slot a": hashlib.sha256(_region(box.disk, table["root-a"].start, 2 * table["root-a"].size)).hexdigest(),
        "data and free space": hashlib.sha256(
            _region(box.disk, after_slots, disk_size - GPT_BACKUP - after_slots)
        ).hexdigest(),
        "esp": tree_digest(box.esp / "EFI/BOOT", box.esp / "EFI/Linux/sealforge-100.efi"),
    }
    bundle = box.bundle(200)
    result = box.apply(bundle)
    release = box.tmp / "release-200-0"
    assert result["slot"] == "b" and result["serial"] == 200 and result["entry"] == "sealforge-200+3.efi"
    after = slots.read_table(box.disk)
    root = (release / "root.squashfs").read_bytes()
    verity = (release / "root.verity").read_bytes()
    assert _region(box.disk, after["root-b"].start, len(root)) == root
    assert _region(box.disk, after["verity-b"].start, len(verity)) == verity
    roothash = (release / "roothash").read_text()
    assert (after["root-b"].uuid, after["verity-b"].uuid) == uuid_pair(roothash)
    assert (after["root-a"].uuid, after["verity-a"].uuid) == uuid_pair(box.running.roothash)
    assert (box.esp / "EFI/Linux/sealforge-200+3.efi").read_bytes() == (release / "sealforge.efi").read_bytes()
    assert sorted(p.name for p in (box.esp / "EFI/Linux").iterdir()) == ["sealforge-100.efi", "sealforge-200+3.efi"]
    assert {
        "slot a": hashlib.sha256(_region(box.disk, after["root-a"].start, 2 * after["root-a"].size)).hexdigest(),
        "data and free space": hashlib.sha256(
            _region(box.disk, after_slots, disk_size - GPT_BACKUP - after_slots)
        ).hexdigest(),
        "esp": tree_digest(box.esp / "EFI/BOOT", box.esp / "EFI/Linux/sealforge-100.efi"),
    } == kept
    states = {s["slot"]: (s["state"], s["serial"]) for s in slots.describe(box.disk, box.esp, box.running.roothash)}
    assert states == {"a": ("running", 100), "b": ("trial", 200)}


def test_tries_name_the_entry_and_the_entry_states_follow_boot_counting(box: Box) -> None:
    box.apply(box.bundle(200), tries=1)
    linux = box.esp / "EFI/Linux"
    assert (linux / "sealforge-200+1.efi").exists()

    def state() -> str:
        return str(slots.describe(box.disk, box.esp, box.running.roothash)[1]["state"])

    (linux / "sealforge-200+1.efi").rename(linux / "sealforge-200+0-1.efi")  # systemd-boot used the try up
    assert state() == "failed"
    (linux / "sealforge-200+0-1.efi").rename(linux / "sealforge-200.efi")  # as systemd-bless-boot leaves it
    assert state() == "good"
    with pytest.raises(AppError) as err:
        box.apply(box.bundle(300), tries=10)
    assert err.value.code == "VALIDATION_FAILED"


def _flip(data: bytes, at: int) -> bytes:
    return data[:at] + bytes([data[at] ^ 0x01]) + data[at + 1 :]


def _rebuilt(change: Callable[[list[tuple[str, bytes]]], list[tuple[str, bytes]]]) -> Callable[[Box, Path], Path]:
    def make(box: Box, good: Path) -> Path:
        return write_tar(box.tmp / "bad.sfbundle", change(members(good)))

    return make


def _flip_member(name: str, at: int = 40) -> Callable[[Box, Path], Path]:
    return _rebuilt(lambda ms: [(n, _flip(d, at) if n == name else d) for n, d in ms])


def _other_letter(ms: list[tuple[str, bytes]]) -> list[tuple[str, bytes]]:
    """The signature with its sixth base64 letter changed to another letter (still base64)."""
    sig = ms[1][1]
    return [ms[0], (fmt.SIGNATURE, sig[:5] + (b"B" if sig[5:6] == b"A" else b"A") + sig[6:]), *ms[2:]]


def _truncated(box: Box, good: Path) -> Path:
    bad = box.tmp / "bad.sfbundle"
    bad.write_bytes(good.read_bytes()[: good.stat().st_size // 2])
    return bad


def _other_key(box: Box, good: Path) -> Path:
    other, _ = make_key(box.tmp / "other-keys")
    ms = members(good)
    return write_tar(box.tmp / "bad.sfbundle", [ms[0], (fmt.SIGNATURE, sign(other, ms[0][1])), *ms[2:]])


def _signed_lie(box: Box, good: Path) -> Path:
    """bundle.json re-signed by the right key, but naming another sha256 for the root."""
    ms = members(good)
    doc = json.loads(ms[0][1])
    doc["files"][fmt.ROOT]["sha256"] = "0" * 64
    document = fmt.canonical(doc)
    return write_tar(
        box.tmp / "bad.sfbundle", [(fmt.DOCUMENT, document), (fmt.SIGNATURE, sign(box.private, document)), *ms[2:]]
    )


def _not_a_tar(box: Box, good: Path) -> Path:
    bad = box.tmp / "bad.sfbundle"
    bad.write_bytes(b"hello " * 300)
    return bad


TAMPERED = {
    "a flipped byte in the root": (_flip_member(fmt.ROOT, 12345), "root.squashfs: sha256 differs"),
    "a flipped byte in the hash tree": (_flip_member(fmt.VERITY), "root.verity: sha256 differs"),
    "a flipped byte in the UKI": (_flip_member(fmt.UKI, 500), "sealforge.efi: sha256 differs"),
    "a flipped byte in bundle.json": (_flip_member(fmt.DOCUMENT, 30), "does not verify with the release key"),
    "a changed letter in the signature": (_rebuilt(_other_letter), "does not verify with the release key"),
    "a member missing": (_rebuilt(lambda ms: ms[:-1]), "ends before root.verity"),
    "members reordered": (_rebuilt(lambda ms: [*ms[:2], ms[3], ms[2], ms[4]]), "where sealforge.efi belongs"),
    "an extra member": (_rebuilt(lambda ms: [*ms, ("extra.sh", b"#!/bin/sh\n")]), "a member follows root.verity"),
    "the file truncated": (_truncated, "truncated"),
    "signed by another key": (_other_key, "does not verify with the release key"),
    "a signed document whose hash is wrong": (_signed_lie, "root.squashfs: sha256 differs"),
    "not a tar": (_not_a_tar, "not a tar file"),
}


@pytest.mark.parametrize("case", list(TAMPERED))
def test_a_tampered_bundle_is_refused_and_nothing_changes(box: Box, case: str) -> None:
    make, message = TAMPERED[case]
    bad = make(box, box.bundle(200))
    before = box.digest()
    with pytest.raises(AppError) as err:
        box.apply(bad)
    assert err.value.code == "UPDATE_BUNDLE_INVALID"
    assert message in err.value.message
    assert box.digest() == before


def test_a_serial_not_newer_is_refused_unless_a_downgrade_is_asked_for(box: Box) -> None:
    before = box.digest()
    for serial in (100, 99):
        bundle = box.bundle(serial) if serial != 100 else box.bundle(100, root_bytes=2 * MiB)
        with pytest.raises(AppError) as err:
            box.apply(bundle)
        assert err.value.code == "UPDATE_NOT_NEWER"
        assert box.digest() == before
    result = box.apply(box.tmp / "out-99-0" / "sealforge-99.sfbundle", allow_downgrade=True)
    assert result["serial"] == 99 and result["previous_serial"] == 100 and result["slot"] == "b"


def test_the_running_release_itself_is_refused_even_as_a_downgrade(box: Box) -> None:
    out = box.tmp / "same"
    out.mkdir()
    same = Path(bundle_tool().build(box.running.folder, out, box.private, None))
    before = box.digest()
    with pytest.raises(AppError) as err:
        box.apply(same, allow_downgrade=True)
    assert err.value.code == "UPDATE_NOT_NEWER" and "same root hash" in err.value.message
    assert box.digest() == before


def test_a_root_larger_than_the_slot_is_refused_before_hashing(box: Box) -> None:
    big = box.bundle(200, root_bytes=5 * MiB)  # the slots are 4 MiB
    before = box.digest()
    with pytest.raises(AppError) as err:
        box.apply(big)
    assert "does not fit its slot" in err.value.message
    assert box.digest() == before


def test_running_from_slot_b_writes_slot_a_and_removes_its_old_entry(tmp_path: Path) -> None:
    private, public = make_key(tmp_path / "keys")
    running = make_release(tmp_path / "release-100", 100)
    disk = make_disk(tmp_path / "disk.img", running, slot="b")
    esp = make_esp(tmp_path / "esp", running)
    old = make_release(tmp_path / "release-50", 50)  # what slot a held before: its entry goes first
    (esp / "EFI/Linux/sealforge-50.efi").write_bytes((old.folder / "sealforge.efi").read_bytes())
    new = make_release(tmp_path / "release-200", 200)
    bundle = Path(bundle_tool().build(new.folder, tmp_path, private, None))
    result = slots.apply(bundle, fmt.load_public_key(public), disk, esp, running.roothash, tries=2)
    assert result["slot"] == "a" and result["removed"] == ["sealforge-50.efi"]
    table = slots.read_table(disk)
    assert (table["root-a"].uuid, table["verity-a"].uuid) == uuid_pair(new.roothash)
    assert (table["root-b"].uuid, table["verity-b"].uuid) == uuid_pair(running.roothash)
    assert _region(disk, table["root-a"].start, 3 * MiB) == (new.folder / "root.squashfs").read_bytes()
    assert sorted(p.name for p in (esp / "EFI/Linux").iterdir()) == ["sealforge-100.efi", "sealforge-200+2.efi"]


def test_no_entry_booting_the_running_root_means_no_update(box: Box) -> None:
    (box.esp / "EFI/Linux/sealforge-100.efi").unlink()
    before = box.digest()
    with pytest.raises(AppError) as err:
        box.apply(box.bundle(200))
    assert err.value.code == "UPDATES_UNAVAILABLE" and "could not fall back" in err.value.message
    assert box.digest() == before


def test_a_bundle_changed_between_check_and_write_leaves_the_slot_empty(
    box: Box, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The API queues the file as the unprivileged user; if that user rewrites it after the root
    updater's check, the write phase's own hashing catches it: no entry, the slot left empty."""
    bundle = box.bundle(200)
    checked = fmt.read

    def check_then_rewrite(*args: object, **kwargs: object) -> fmt.Bundle:
        result = checked(*args, **kwargs)  # type: ignore[arg-type]
        with bundle.open("r+b") as f:  # one byte of the root, after the check read it
            f.seek(result.members[fmt.ROOT].offset + 777)
            byte = f.read(1)
            f.seek(result.members[fmt.ROOT].offset + 777)
            f.write(bytes([byte[0] ^ 0xFF]))
        return result

    monkeypatch.setattr(slots.fmt, "read", check_then_rewrite)
    with pytest.raises(AppError) as err:
        box.apply(bundle)
    assert "differ from the bytes checked" in err.value.message
    table = slots.read_table(box.disk)
    empty = slots.empty_roothash("b", box.running.roothash)
    assert (table["root-b"].uuid, table["verity-b"].uuid) == uuid_pair(empty)
    assert sorted(p.name for p in (box.esp / "EFI/Linux").iterdir()) == ["sealforge-100.efi"]
    assert [s["state"] for s in slots.describe(box.disk, box.esp, box.running.roothash)] == ["running", "empty"]


def test_a_uki_booting_another_root_is_not_installed(box: Box) -> None:
    ms = members(box.bundle(200))
    stray = make_release(box.tmp / "stray", 300)
    uki = (stray.folder / "sealforge.efi").read_bytes()
    doc = json.loads(ms[0][1])
    doc["files"][fmt.UKI] = {"size": len(uki), "sha256": hashlib.sha256(uki).hexdigest()}
    document = fmt.canonical(doc)
    bad = write_tar(
        box.tmp / "bad.sfbundle",
        [(fmt.DOCUMENT, document), (fmt.SIGNATURE, sign(box.private, document)), (fmt.UKI, uki), *ms[3:]],
    )
    with pytest.raises(AppError) as err:
        box.apply(bad)
    assert "does not boot the bundle's root" in err.value.message
    assert [s["state"] for s in slots.describe(box.disk, box.esp, box.running.roothash)] == ["running", "empty"]
    assert sorted(p.name for p in (box.esp / "EFI/Linux").iterdir()) == ["sealforge-100.efi"]


def test_a_bundle_signed_in_2099_verifies_today(box: Box, monkeypatch: pytest.MonkeyPatch) -> None:
    """Nothing in a bundle carries a validity period, and the check reads no clock: a bundle whose
    every timestamp says 2099 verifies exactly as one made today."""
    monkeypatch.setenv("SOURCE_DATE_EPOCH", "4102444799")  # 2099-12-31
    bundle = box.bundle(200)
    assert set(_mtimes(bundle)) == {4102444799}
    assert fmt.verify_file(bundle, fmt.load_public_key(box.public)).serial == 200


def _mtimes(bundle: Path) -> list[int]:
    with tarfile.open(bundle) as tar:
        return [int(m.mtime) for m in tar.getmembers()]


def test_the_check_and_the_apply_read_no_clock() -> None:
    package = Path(slots.__file__).parent
    for name in ("bundle.py", "slots.py", "uki.py"):
        tree = ast.parse((package / name).read_text())
        imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
        imported |= {n.module or "" for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)}
        assert not imported & {"time", "datetime", "appliance.clock", "calendar"}, name


def test_no_update_while_the_running_release_is_still_on_trial(box: Box) -> None:
    """Until the health check commits the running release, the other slot holds the release to fall
    back to: writing it then would leave nothing to roll back to."""
    linux = box.esp / "EFI/Linux"
    (linux / "sealforge-100.efi").rename(linux / "sealforge-100+2-1.efi")
    before = box.digest()
    with pytest.raises(AppError) as err:
        box.apply(box.bundle(200))
    assert err.value.code == "UPDATE_IN_PROGRESS" and "still on trial" in err.value.message
    assert box.digest() == before
