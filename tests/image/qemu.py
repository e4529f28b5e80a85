"""Boot the built image under qemu with Secure Boot enforced (OVMF's snakeoil keys enrolled).

The image test boots real firmware, the real signed UKI and the real verity root: nothing here
stands in for a part of the image. KVM is used when the host offers it, TCG otherwise.
"""

from __future__ import annotations

import os
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

    def wait_healthz(self, timeout_s: float) -> tuple[int, bytes]:
        """GET /healthz through the forwarded port until it answers (the API's self-made cert)."""
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
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
    console = work / f"console-{disk.stem}.log"
    errors = work / f"qemu-{disk.stem}.err"
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
        "-drive", f"if=virtio,format=qcow2,file={disk}",
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
