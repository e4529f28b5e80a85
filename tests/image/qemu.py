"""Boot the built image under qemu with Secure Boot enforced (OVMF's snakeoil keys enrolled).

The image test boots real firmware, the real signed UKI and the real verity root: nothing here
stands in for a part of the image. KVM is used when the host offers it, TCG otherwise.
"""

from __future__ import annotations

import hashlib
import json
import os
import re
import shutil
import socket
import ssl
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
IMAGE_DIR = Path(os.environ.get("IMAGE_DIR", REPO / "build" / "image"))
OVMF_CODE = Path("/usr/share/OVMF/OVMF_CODE_4M.secboot.fd")
OVMF_VARS = Path("/usr/share/OVMF/OVMF_VARS_4M.snakeoil.fd")
# The port the image's API listens on (packaging/image/files/sealforge.toml).
GUEST_API_PORT = 8443


@dataclass
class Vm:
    proc: subprocess.Popen[bytes]
    console: Path
    errors: Path
    api_port: int

    def wait_exit(self, timeout_s: float) -> bool:
        """True once qemu has exited: the guest powered off or rebooted (-no-reboot ends qemu
        instead of restarting the guest, so each boot of a test is its own qemu run)."""
        try:
            self.proc.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return False
        return True

    def console_text(self) -> str:
        """The serial console so far, then anything qemu itself printed (its start failures)."""
        parts = [p.read_text(errors="replace") for p in (self.console, self.errors) if p.exists()]
        return "\n".join(parts)

    def wait_console(self, needle: str, timeout_s: float) -> bool:
        """True once the serial console shows `needle`; False at the timeout or when qemu exits."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if needle in self.console_text():
                return True
            if self.proc.poll() is not None:
                return needle in self.console_text()
            time.sleep(1)
        return False

    def call(self, method: str, path: str, key: str, body: object = None, timeout_s: float = 300) -> tuple[int, Any]:
        """One API request through the forwarded port with an API key: (status, parsed JSON body).
        A long timeout: under TCG on a loaded host one job submit took more than 60 s."""
        data = None if body is None else json.dumps(body).encode()
        req = urllib.request.Request(f"https://127.0.0.1:{self.api_port}{path}", data=data, method=method)
        req.add_header("X-API-Key", key)
        if data is not None:
            req.add_header("Content-Type", "application/json")
        try:
            with urllib.request.urlopen(req, context=_unverified(), timeout=timeout_s) as r:
                return r.status, json.loads(r.read() or b"null")
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def upload(self, path: str, key: str, file: Path, timeout_s: float = 1800) -> tuple[int, Any]:
        """POST a file as the streamed request body (an update bundle): (status, parsed JSON body)."""
        req = urllib.request.Request(f"https://127.0.0.1:{self.api_port}{path}", method="POST")
        req.add_header("X-API-Key", key)
        req.add_header("Content-Type", "application/octet-stream")
        req.add_header("Content-Length", str(file.stat().st_size))
        with file.open("rb") as body:
            req.data = body
            try:
                with urllib.request.urlopen(req, context=_unverified(), timeout=timeout_s) as r:
                    return r.status, json.loads(r.read() or b"null")
            except urllib.error.HTTPError as exc:
                return exc.code, json.loads(exc.read() or b"null")

    def served_fingerprint(self) -> str:
        """SHA-256 of the certificate the API presents, in the colon form the console prints."""
        pem = ssl.get_server_certificate(("127.0.0.1", self.api_port), timeout=30)
        return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem)).digest().hex(":").upper()

    def wait_healthz(self, timeout_s: float) -> tuple[int, bytes]:
        """GET /healthz through the forwarded port until it answers (the API's self-made cert)."""
        ctx = _unverified()
        deadline = time.monotonic() + timeout_s
        last: object = None
        while time.monotonic() < deadline and self.proc.poll() is None:
            try:
                with urllib.request.urlopen(f"https://127.0.0.1:{self.api_port}/healthz", context=ctx, timeout=10) as r:
                    return r.status, r.read()
            except (urllib.error.URLError, OSError) as exc:
                last = exc
                time.sleep(3)
        raise TimeoutError(f"/healthz never answered ({last}); console tail:\n{self.console_text()[-3000:]}")


@dataclass
class Banner:
    """What the console shows at boot (packaging/image/files/sealforge-console.py)."""

    tls_fingerprint: str
    signing_key_id: str
    signing_fingerprint: str
    setup_key: str | None

    @classmethod
    def parse(cls, console: str) -> Banner:
        """The last banner on the console; AssertionError naming what is missing."""
        tls = re.findall(r"TLS certificate SHA-256: ([0-9A-F:]{95})", console)
        signer = re.findall(r"Seal signing key (\S+) fingerprint: ([0-9a-f ]+\S)", console)
        assert tls and signer, f"no console banner; console tail:\n{console[-3000:]}"
        setup = re.findall(r"^\s*(sl_live_\S+)\s*$", console, flags=re.MULTILINE)
        return cls(tls[-1], signer[-1][0], signer[-1][1], setup[-1] if setup else None)


def partition(disk: Path, name: str) -> dict[str, Any]:
    """The GPT partition called ``name`` (sfdisk's JSON view: start and size in sectors)."""
    out = subprocess.run(["sfdisk", "--json", str(disk)], check=True, capture_output=True, text=True).stdout
    for part in json.loads(out)["partitiontable"]["partitions"]:
        if part.get("name") == name:
            return dict(part)
    raise AssertionError(f"{disk} has no partition {name}")


def write_to_ext4(disk: Path, part_name: str, files: dict[str, bytes], work: Path) -> None:
    """Put files into the ext4 file system of a partition of a raw disk, as a site would on the data
    partition from another machine (no mount, no root-only loop device). The partition is copied
    out, checked with e2fsck (a box switched off mid-run leaves transactions in the ext4 journal,
    which the box's fsck would replay over what is written here: e2fsck replays them first),
    written with debugfs and copied back."""
    part = partition(disk, part_name)
    start, size = int(part["start"]) * 512, int(part["size"]) * 512
    image = work / f"{part_name}.ext4"
    subprocess.run(
        ["dd", f"if={disk}", f"of={image}", "bs=1M", f"skip={start}", f"count={size}",
         "iflag=skip_bytes,count_bytes", "conv=sparse", "status=none"],
        check=True,
    )  # fmt: skip
    fsck = subprocess.run(["e2fsck", "-fy", str(image)], capture_output=True, text=True)
    assert fsck.returncode < 4, f"e2fsck {part_name}: {fsck.returncode}\n{fsck.stdout}{fsck.stderr}"
    script = []
    for i, (dest, content) in enumerate(files.items()):
        src = work / f"put-{i}"
        src.write_bytes(content)
        # debugfs's `write` names a file in the current directory: no slash in the name.
        folder, _, name = dest.rpartition("/")
        script += [f"cd /{folder}", f"rm {name}", f"write {src} {name}"]
    cmds = work / "debugfs.cmds"
    cmds.write_text("\n".join(script) + "\n")
    subprocess.run(["debugfs", "-w", "-f", str(cmds), str(image)], check=True, capture_output=True)
    # debugfs exits 0 whatever its commands did: read each file back.
    for dest, content in files.items():
        back = subprocess.run(["debugfs", "-R", f"cat /{dest}", str(image)], check=True, capture_output=True).stdout
        assert back == content, f"{dest} not written on {part_name}"
    subprocess.run(
        ["dd", f"if={image}", f"of={disk}", "bs=1M", f"seek={start}", "oflag=seek_bytes",
         "conv=notrunc,sparse", "status=none"],
        check=True,
    )  # fmt: skip
    image.unlink()


def _unverified() -> ssl.SSLContext:
    """The API's certificate is self-made on first boot; the tests pin it by the console's
    fingerprint (served_fingerprint) instead of a CA."""
    ctx = ssl.create_default_context()
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    return ctx


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def overlay(base: Path, work: Path) -> Path:
    """A throw-away qcow2 over the built image, so a boot never changes the artifact."""
    path = work / f"overlay-{base.stem}.qcow2"
    fmt = "qcow2" if base.suffix == ".qcow2" else "raw"
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", str(base), "-F", fmt, str(path)], check=True)
    return path


@contextmanager
def boot(disk: Path, work: Path) -> Iterator[Vm]:
    """Start qemu (q35 with SMM, secure pflash, snakeoil Secure Boot vars) and stop it afterwards."""
    vars_fd = work / "OVMF_VARS.fd"
    shutil.copyfile(OVMF_VARS, vars_fd)
    # One console log per boot (a disk booted again keeps the earlier boots' logs).
    n = 1
    while (work / f"console-{disk.stem}-{n}.log").exists():
        n += 1
    console = work / f"console-{disk.stem}-{n}.log"
    errors = work / f"qemu-{disk.stem}-{n}.err"
    port = free_port()
    # TCG: secure pflash needs SMM, which KVM on some hosts (nested, sandboxed) refuses.
    # IMAGE_TEST_ACCEL=kvm where the host's KVM has SMM.
    accel = os.environ.get("IMAGE_TEST_ACCEL", "tcg")
    cmd = [
        "qemu-system-x86_64",
        "-machine", f"q35,smm=on,accel={accel}",
        # -cpu max: numpy's and torch's wheels need x86-64-v2, which qemu's default CPU lacks.
        "-cpu", "max", "-m", "3072", "-smp", "2",
        "-global", "driver=cfi.pflash01,property=secure,value=on",
        "-drive", f"if=pflash,format=raw,unit=0,readonly=on,file={OVMF_CODE}",
        "-drive", f"if=pflash,format=raw,unit=1,file={vars_fd}",
        "-drive", f"if=virtio,format={'qcow2' if disk.suffix == '.qcow2' else 'raw'},file={disk}",
        "-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{port}-:{GUEST_API_PORT}",
        "-device", "virtio-net-pci,netdev=n0",
        "-display", "none", "-monitor", "none", "-no-reboot",
        "-serial", f"file:{console}",
    ]  # fmt: skip
    with errors.open("wb") as err:
        proc = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=err)
    try:
        yield Vm(proc, console, errors, port)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
