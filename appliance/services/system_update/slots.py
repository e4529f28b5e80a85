"""The A/B slots of the image's disk and the ESP's boot entries, and applying a bundle to them.

The disk (docs/image.md): GPT partitions found by name, ``root-a``/``verity-a`` and
``root-b``/``verity-b``. A slot's root partition UUID is the first half of its root hash and its
verity partition UUID the second half: that is how the initrd finds the root the UKI names, and how
this module tells which slot is running. Boot entries are Boot Loader Spec type #2 UKIs
``/EFI/Linux/sealforge-<SERIAL>[+LEFT[-DONE]].efi``; an entry's root is read from its command line.

Applying writes only the slot that is not running and the ESP: never the running slot, never the
data partition. Everything is checked before the first write; the slot stays "empty" (UUIDs that
match no root hash) until its root and hash tree are written and read back through their hashes,
and the new entry appears last, by a rename, so a crash at any point leaves the running release
bootable and the new one absent.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance import errors
from appliance.errors import AppError
from appliance.fsutil import fsync_dir
from appliance.services.system_update import bundle as fmt
from appliance.services.system_update import uki

SLOTS = ("a", "b")
ENTRY_DIR = Path("EFI/Linux")
ENTRY = re.compile(r"^sealforge-(\d+)(?:\+(\d+)(?:-(\d+))?)?\.efi$", re.IGNORECASE)
TEMP_SUFFIX = ".efi-new"  # not ".efi": systemd-boot never offers a half-written entry
MAX_TRIES = 9


def as_uuid(hex32: str) -> str:
    h = hex32.lower()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:32]}"


def empty_roothash(slot: str, other_roothash: str) -> str:
    """UUID material of a slot that holds nothing: matches no root hash, and the same for the same
    other slot, so builds and updates stay reproducible (the A/B contract)."""
    return hashlib.sha256(f"sealforge-empty-{slot}-{other_roothash}".encode()).hexdigest()


@dataclass(frozen=True)
class Partition:
    number: int
    start: int
    size: int
    uuid: str


@dataclass(frozen=True)
class Slot:
    name: str
    root: Partition
    verity: Partition

    @property
    def roothash(self) -> str:
        return (self.root.uuid + self.verity.uuid).replace("-", "").lower()


@dataclass(frozen=True)
class Entry:
    path: Path
    serial: int
    tries_left: int | None
    tries_done: int | None
    roothash: str | None

    @property
    def state(self) -> str:
        """``good`` (no counter: blessed or the first), ``trial`` (boots left), ``failed`` (none left)."""
        if self.tries_left is None:
            return "good"
        return "trial" if self.tries_left > 0 else "failed"


def _unavailable(message: str) -> AppError:
    return AppError(errors.UPDATES_UNAVAILABLE, message)


def read_table(disk: Path) -> dict[str, Partition]:
    """The GPT's partitions by name (``sfdisk --json``: works on a device or a disk-image file)."""
    try:
        out = subprocess.run(["sfdisk", "--json", str(disk)], check=True, capture_output=True, text=True).stdout
    except (OSError, subprocess.CalledProcessError) as exc:
        raise _unavailable(f"{disk}: no partition table could be read ({exc})") from None
    table = json.loads(out)["partitiontable"]
    sector = int(table.get("sectorsize", 512))
    parts = {}
    for p in table.get("partitions", []):
        number = p["node"][len(str(disk)) :].lstrip("p") if p["node"].startswith(str(disk)) else ""
        if not number.isdigit():
            number = re.search(r"(\d+)$", p["node"]).group(1)  # type: ignore[union-attr]
        parts[p.get("name", "")] = Partition(int(number), p["start"] * sector, p["size"] * sector, p["uuid"].lower())
    return parts


def slots(disk: Path) -> dict[str, Slot]:
    parts = read_table(disk)
    missing = [f"{kind}-{s}" for s in SLOTS for kind in ("root", "verity") if f"{kind}-{s}" not in parts]
    if missing:
        raise _unavailable(f"{disk} has no A/B slots (missing partitions: {', '.join(missing)})")
    return {s: Slot(s, parts[f"root-{s}"], parts[f"verity-{s}"]) for s in SLOTS}


def running_slot(table: dict[str, Slot], running_roothash: str) -> Slot:
    for slot in table.values():
        if slot.roothash == running_roothash:
            return slot
    raise _unavailable(f"no slot holds the running root {running_roothash[:16]}…: cannot tell which slot is free")


def entries(esp: Path) -> list[Entry]:
    """The ESP's sealforge boot entries, each with the root hash its UKI boots."""
    folder = esp / ENTRY_DIR
    found = []
    for path in sorted(folder.iterdir()) if folder.is_dir() else []:
        m = ENTRY.match(path.name)
        if m and path.is_file():
            left, done = (int(g) if g is not None else None for g in m.group(2, 3))
            found.append(Entry(path, int(m.group(1)), left, done, uki.roothash(path)))
    return found


def set_uuid(disk: Path, part: Partition, uuid: str) -> None:
    """Rewrite one partition's UUID in both GPT copies; the kernel's view changes at the next boot."""
    subprocess.run(
        ["sfdisk", "--no-reread", "--no-tell-kernel", "-q", "--part-uuid", str(disk), str(part.number), uuid],
        check=True,
        capture_output=True,
    )


def set_slot_uuids(disk: Path, slot: Slot, roothash: str) -> None:
    set_uuid(disk, slot.root, as_uuid(roothash[:32]))
    set_uuid(disk, slot.verity, as_uuid(roothash[32:]))


def describe(disk: Path, esp: Path, running_roothash: str) -> list[dict[str, Any]]:
    """Each slot: its root hash, what it holds (running, empty, or its entry's state) and its entry."""
    table = slots(disk)
    boot = entries(esp)
    out = []
    for slot in table.values():
        entry = next((e for e in boot if e.roothash == slot.roothash), None)
        if slot.roothash == running_roothash:
            state = "running"
        elif any(slot.roothash == empty_roothash(slot.name, o.roothash) for o in table.values() if o is not slot):
            state = "empty"
        else:
            state = entry.state if entry else "no-entry"
        out.append(
            {
                "slot": slot.name,
                "roothash": slot.roothash,
                "state": state,
                "serial": entry.serial if entry else None,
                "entry": entry.path.name if entry else None,
                "tries_left": entry.tries_left if entry else None,
                "root_bytes": slot.root.size,
                "verity_bytes": slot.verity.size,
            }
        )
    return out


def _write_member(fd: int, f: Any, member: fmt.Member, at: int) -> None:
    pos = at
    for chunk in fmt.member_chunks(f, member):
        os.pwrite(fd, chunk, pos)
        pos += len(chunk)


def _free_bytes(esp: Path) -> int:
    st = os.statvfs(esp)
    return st.f_bavail * st.f_frsize


def _copy_uki(f: Any, member: fmt.Member, dest: Path) -> None:
    with dest.open("wb") as out:
        for chunk in fmt.member_chunks(f, member):
            out.write(chunk)
        out.flush()
        os.fsync(out.fileno())


@dataclass(frozen=True)
class Plan:
    """What an apply will do, decided before anything is written."""

    target: Slot
    running: Slot
    running_serial: int
    bundle: fmt.Bundle
    stale: list[Path]


def plan(f: Any, key: Ed25519PublicKey, disk: Path, esp: Path, running_roothash: str, allow_downgrade: bool) -> Plan:
    """Every check of an apply, writing nothing: slots, the fallback entry, the bundle (signature,
    serial, sizes against the free slot, hashes), and room on the ESP."""
    table = slots(disk)
    running = running_slot(table, running_roothash)
    target = table[next(s for s in SLOTS if s != running.name)]
    boot = entries(esp)
    fallback = [e for e in boot if e.roothash == running_roothash]
    if not fallback:
        raise _unavailable(f"no boot entry in {esp / ENTRY_DIR} boots the running root: an update could not fall back")
    if not any(e.state == "good" for e in fallback):
        raise AppError(
            errors.UPDATE_IN_PROGRESS,
            "the running release is still on trial (its boot entry is not committed yet): writing the other slot"
            " would remove the release to fall back to; wait for the health check to commit it",
        )
    running_serial = max(uki.serial(e.path) or e.serial for e in fallback)
    bundle = fmt.read(
        f,
        key,
        limits={fmt.ROOT: target.root.size, fmt.VERITY: target.verity.size},
        check=fmt.serial_rule(running_serial, allow_downgrade),
    )
    if bundle.roothash == running_roothash:
        raise AppError(
            errors.UPDATE_NOT_NEWER,
            "the bundle is the running release (same root hash)",
            hint="This release is already running: there is nothing to write.",
        )
    stale = [e.path for e in boot if e.roothash != running_roothash]
    stale += [p for p in (esp / ENTRY_DIR).glob("*" + TEMP_SUFFIX)]
    room = _free_bytes(esp) + sum(p.stat().st_size for p in stale)
    if bundle.members[fmt.UKI].size > room:
        raise fmt.invalid(f"the UKI ({bundle.members[fmt.UKI].size} bytes) does not fit the ESP ({room} bytes free)")
    return Plan(target, running, running_serial, bundle, stale)


def apply(
    bundle_path: Path,
    key: Ed25519PublicKey,
    disk: Path,
    esp: Path,
    running_roothash: str,
    *,
    tries: int = 3,
    allow_downgrade: bool = False,
) -> dict[str, Any]:
    """Write a bundle to the slot not running and add its boot entry with ``tries`` trial boots.

    Order (the A/B contract): check everything (:func:`plan`); remove the free slot's old entries;
    give the slot empty UUIDs; write root and hash tree at the partition offsets, re-hashing as they
    are written (a bundle changed since the check leaves the slot empty); copy the UKI to a
    temporary name and check it boots this root; set the slot's UUIDs from the root hash; rename
    the UKI to ``sealforge-<SERIAL>+<TRIES>.efi``."""
    if not 1 <= tries <= MAX_TRIES:
        raise errors.validation("tries", f"from 1 to {MAX_TRIES}")
    # O_NOFOLLOW: the file was queued by the unprivileged API; a link planted there is not followed.
    with os.fdopen(os.open(bundle_path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC), "rb") as f:
        p = plan(f, key, disk, esp, running_roothash, allow_downgrade)
        b, target = p.bundle, p.target
        for path in p.stale:
            path.unlink()
        empty = empty_roothash(target.name, running_roothash)
        set_slot_uuids(disk, target, empty)
        folder = esp / ENTRY_DIR
        temp = folder / f"sealforge-{b.serial}{TEMP_SUFFIX}"
        try:
            fd = os.open(disk, os.O_WRONLY)
            try:
                _write_member(fd, f, b.members[fmt.ROOT], target.root.start)
                _write_member(fd, f, b.members[fmt.VERITY], target.verity.start)
                os.fsync(fd)
            finally:
                os.close(fd)
            _copy_uki(f, b.members[fmt.UKI], temp)
            if uki.roothash(temp) != b.roothash:
                raise fmt.invalid(f"{fmt.UKI} does not boot the bundle's root (its roothash= differs)")
        except BaseException:
            temp.unlink(missing_ok=True)
            raise
    set_slot_uuids(disk, target, b.roothash)
    final = folder / f"sealforge-{b.serial}+{tries}.efi"
    os.replace(temp, final)
    fsync_dir(folder)
    return {
        "slot": target.name,
        "serial": b.serial,
        "version": b.version,
        "roothash": b.roothash,
        "entry": final.name,
        "tries": tries,
        "previous_serial": p.running_serial,
        "removed": sorted(path.name for path in p.stale),
    }


def running_roothash(cmdline: Path = Path("/proc/cmdline")) -> str:
    """The root hash the box booted with (``roothash=`` on the kernel command line)."""
    m = re.search(r"(?:^|\s)roothash=([0-9a-f]{64})(?:\s|$)", cmdline.read_text())
    if not m:
        raise _unavailable("the kernel command line has no roothash=: not booted from the image")
    return m.group(1)


def running_disk(roothash: str, by_partuuid: Path = Path("/dev/disk/by-partuuid")) -> Path:
    """The whole disk holding the running root partition (found by its UUID, the root hash's first half)."""
    link = by_partuuid / as_uuid(roothash[:32])
    if not link.exists():
        raise _unavailable(f"{link} does not exist: the running root's partition is not found")
    part = Path(os.path.realpath(link)).name
    parent = Path(os.path.realpath(Path("/sys/class/block") / part / ".."))
    return Path("/dev") / parent.name
