"""How the unprivileged API hands an update to the root updater, and what it reads back.

The API (user ``sealforge``) cannot write the disk. It checks an uploaded bundle as it arrives
(signature, serial, every member's hash: :func:`receive`), so a wrong file is refused at once and
never queued, then moves it with its request into ``<state>/updates/incoming/<id>/`` by one rename.
A root path unit (``sealforge-update.path``) sees the folder fill and starts
``sealforge-update.service``, which runs :func:`process`: it applies each request with
:mod:`slots` (checking the bundle again, and once more as it writes), removes it, writes
``<state>/updates/status.json`` (slots, last result) and reboots when asked. ``reboot.json`` in
``incoming/`` asks for a reboot alone.

Files, not a queue or the database: the root service then reads nothing but a folder and a bundle
it checks itself, and a request survives an API restart.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

import blake3
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from appliance import errors
from appliance.clock import now_iso
from appliance.errors import AppError
from appliance.fsutil import fsync_dir, write_atomic
from appliance.services.system_update import bundle as fmt
from appliance.services.system_update import slots, uki

BUNDLE_NAME = "bundle" + fmt.SUFFIX
REQUEST_NAME = "request.json"
REBOOT_NAME = "reboot.json"
STATUS_NAME = "status.json"


@dataclass(frozen=True)
class Settings:
    """The ``[image]`` config section."""

    release_key: Path
    os_release: Path
    max_bundle_bytes: int
    default_tries: int

    @classmethod
    def from_config(cls, cfg: dict[str, Any]) -> Settings:
        image = cfg.get("image") or {}
        return cls(
            Path(image.get("release_key", "/usr/share/sealforge/release.pub")),
            Path(image.get("os_release", "/usr/lib/os-release")),
            int(image.get("max_bundle_bytes", 4 << 30)),
            int(image.get("default_tries", 3)),
        )


def folder(state_dir: Path) -> Path:
    return state_dir / "updates"


def release_key(settings: Settings) -> Ed25519PublicKey:
    """The release public key; no key file means this is not an image install (409)."""
    try:
        return fmt.load_public_key(settings.release_key)
    except FileNotFoundError:
        raise AppError(
            errors.UPDATES_UNAVAILABLE, f"no release key at {settings.release_key}: not an image install"
        ) from None
    except ValueError as exc:
        raise AppError(errors.UPDATES_UNAVAILABLE, f"the release key cannot be used: {exc}") from None


def running_release(settings: Settings) -> dict[str, Any]:
    """The running release from its os-release (in the verity root): serial and version."""
    try:
        release = uki.os_release(settings.os_release.read_text())
    except OSError:
        release = {}
    serial = release.get("IMAGE_SERIAL", "")
    if release.get("IMAGE_ID") != "sealforge" or not serial.isdigit():
        raise AppError(
            errors.UPDATES_UNAVAILABLE, f"{settings.os_release} names no sealforge image serial: not an image install"
        )
    return {"serial": int(serial), "version": release.get("IMAGE_VERSION", "")}


def _pending(state_dir: Path) -> list[dict[str, Any]]:
    incoming = folder(state_dir) / "incoming"
    out = []
    for path in sorted(incoming.iterdir()) if incoming.is_dir() else []:
        request = path / REQUEST_NAME if path.is_dir() else path
        try:
            out.append(json.loads(request.read_text()))
        except (OSError, ValueError):
            continue
    return out


class _Tee:
    """The upload read through once: every byte the check reads goes to the file, up to the limit."""

    def __init__(self, stream: IO[bytes], out: IO[bytes], limit: int) -> None:
        self.stream, self.out, self.limit = stream, out, limit
        self.size = 0
        self.digest = blake3.blake3()

    def read(self, n: int = -1) -> bytes:
        chunk = self.stream.read(n if n >= 0 else fmt.CHUNK)
        self.size += len(chunk)
        if self.size > self.limit:
            raise AppError(
                errors.PAYLOAD_TOO_LARGE, f"the bundle is larger than [image] max_bundle_bytes ({self.limit})"
            )
        self.digest.update(chunk)
        self.out.write(chunk)
        return chunk


def receive(
    state_dir: Path,
    settings: Settings,
    stream: IO[bytes],
    *,
    tries: int | None,
    reboot: bool,
    allow_downgrade: bool,
    caller: str,
) -> dict[str, Any]:
    """Check an uploaded bundle as it streams in and queue it for the root updater.

    Refused (nothing kept): not an image install (409), a request already queued (409), a bundle
    that does not verify (400), a serial not newer than the running one (409), over the size (413)."""
    key = release_key(settings)
    running = running_release(settings)
    if _pending(state_dir):
        raise AppError(errors.UPDATE_IN_PROGRESS)
    tries = settings.default_tries if tries is None else tries
    if not 1 <= tries <= slots.MAX_TRIES:
        raise errors.validation("tries", f"from 1 to {slots.MAX_TRIES}")
    base = folder(state_dir)
    staging = base / "tmp" / secrets.token_hex(8)
    staging.mkdir(parents=True, mode=0o700)
    try:
        with (staging / BUNDLE_NAME).open("wb") as out:
            tee = _Tee(stream, out, settings.max_bundle_bytes)
            checked = fmt.read(tee, key, check=fmt.serial_rule(running["serial"], allow_downgrade))
            while tee.read(fmt.CHUNK):  # the tar's end padding, kept so the file is the upload
                pass
            out.flush()
            os.fsync(out.fileno())
        request_id = f"{checked.serial}-{secrets.token_hex(4)}"
        request = {
            "id": request_id,
            **{k: v for k, v in checked.as_dict().items() if k != "files"},
            "bytes": tee.size,
            "blake3": tee.digest.hexdigest(),
            "tries": tries,
            "reboot": reboot,
            "allow_downgrade": allow_downgrade,
            "running_serial": running["serial"],
            "received_at": now_iso(),
            "by": caller,
            "state": "queued",
        }
        write_atomic(staging / REQUEST_NAME, json.dumps(request, indent=1).encode(), 0o600)
        incoming = base / "incoming"
        incoming.mkdir(mode=0o700, exist_ok=True)
        os.rename(staging, incoming / request_id)
        fsync_dir(incoming)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return request


def request_reboot(state_dir: Path, settings: Settings, caller: str) -> dict[str, Any]:
    """Ask the root updater to reboot (into an applied update's trial, typically)."""
    release_key(settings)
    running_release(settings)
    incoming = folder(state_dir) / "incoming"
    incoming.mkdir(parents=True, mode=0o700, exist_ok=True)
    request = {"id": "reboot", "reboot": True, "requested_at": now_iso(), "by": caller, "state": "queued"}
    write_atomic(incoming / REBOOT_NAME, json.dumps(request).encode(), 0o600, exclusive=True)
    return json.loads((incoming / REBOOT_NAME).read_text())


def status(state_dir: Path, settings: Settings) -> dict[str, Any]:
    """What GET /v1/system/updates shows: the running release, queued requests, and the updater's
    last report (slots, last apply and how its trial boot went). 409 outside an image."""
    release_key(settings)
    running = running_release(settings)
    try:
        report = json.loads((folder(state_dir) / STATUS_NAME).read_text())
    except (OSError, ValueError):
        report = None
    return {
        "running": running,
        "pending": _pending(state_dir),
        "slots": (report or {}).get("slots", []),
        "last_apply": (report or {}).get("last_apply"),
        "checked_at": (report or {}).get("checked_at"),
    }


# The root side: sealforge-update.service.


def _outcome(last: dict[str, Any], table: list[dict[str, Any]], running_roothash: str) -> str:
    """How an applied update's trial went, read from the slots now."""
    if last.get("state") != "applied":
        return "none"
    if last.get("roothash") == running_roothash:
        return "booted"
    slot = next((s for s in table if s["roothash"] == last.get("roothash")), None)
    return {"trial": "waiting-for-reboot", "failed": "rolled-back", "good": "not-running"}.get(
        slot["state"] if slot else "", "replaced"
    )


def _share(path: Path, owner: Path) -> None:
    """A folder the root updater makes belongs to the state dir's owner, so the API can use it."""
    st = owner.stat()
    os.chown(path, st.st_uid, st.st_gid)


def process(
    state_dir: Path,
    key_path: Path,
    disk: Path,
    esp: Path,
    running_roothash: str,
    reboot: Callable[[], None],
) -> dict[str, Any]:
    """Apply every queued request, remove it, write status.json, reboot when one asked for it."""
    base = folder(state_dir)
    if not base.exists():
        base.mkdir(mode=0o700)
        _share(base, state_dir)
    try:
        report = json.loads((base / STATUS_NAME).read_text())
    except (OSError, ValueError):
        report = {}
    incoming = base / "incoming"
    reboot_now = False
    for entry in sorted(incoming.iterdir()) if incoming.is_dir() else []:
        if entry.name == REBOOT_NAME:
            reboot_now = True
        elif entry.is_dir() and not entry.is_symlink():
            last, wants_reboot = _apply_one(entry, key_path, disk, esp, running_roothash)
            report["last_apply"] = last
            reboot_now = reboot_now or (wants_reboot and last["state"] == "applied")
        _remove(entry)
    table = slots.describe(disk, esp, running_roothash)
    report["slots"] = table
    report["running_roothash"] = running_roothash
    report["checked_at"] = now_iso()
    if report.get("last_apply"):
        report["last_apply"]["outcome"] = _outcome(report["last_apply"], table, running_roothash)
    report["rebooting"] = reboot_now
    status = base / STATUS_NAME
    write_atomic(status, json.dumps(report, indent=1).encode(), 0o644)
    # World-readable whatever the umask (sealforge commands set 077): the API that reads this report
    # runs as the unprivileged `sealforge` user, this writer as root.
    os.chmod(status, 0o644)
    if reboot_now:
        reboot()
    return report


def _remove(entry: Path) -> None:
    if entry.is_dir() and not entry.is_symlink():
        shutil.rmtree(entry, ignore_errors=True)
    else:
        entry.unlink(missing_ok=True)


def _apply_one(
    entry: Path, key_path: Path, disk: Path, esp: Path, running_roothash: str
) -> tuple[dict[str, Any], bool]:
    try:
        request = json.loads((entry / REQUEST_NAME).read_text())
    except (OSError, ValueError):
        return {"id": entry.name, "state": "failed", "error": "INTERNAL", "message": "no readable request"}, False
    last = {k: request.get(k) for k in ("id", "serial", "version", "roothash", "tries", "by", "received_at")}
    try:
        done = slots.apply(
            entry / BUNDLE_NAME,
            fmt.load_public_key(key_path),
            disk,
            esp,
            running_roothash,
            tries=int(request.get("tries", 3)),
            allow_downgrade=bool(request.get("allow_downgrade", False)),
        )
        last.update(done, state="applied", error=None, message=None)
    except AppError as exc:
        last.update(state="failed", error=exc.code, message=exc.message)
    except Exception as exc:  # a disk or ESP fault: reported, and the next request still runs
        last.update(state="failed", error="INTERNAL", message=f"{type(exc).__name__}: {exc}")
    last["finished_at"] = now_iso()
    return last, bool(request.get("reboot"))
