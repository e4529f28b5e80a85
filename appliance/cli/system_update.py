"""The on-box updater: ``/opt/sealforge/venv/bin/python -m appliance.cli.system_update``.

    status                                     the slots and boot entries (JSON)
    verify BUNDLE                              every check of an apply, writing nothing
    apply BUNDLE [--tries N] [--allow-downgrade]
    service [--state-dir DIR]                  what sealforge-update.service runs (as root)

On the image the disk is the one holding the running root (``roothash=`` on /proc/cmdline, found
through /dev/disk/by-partuuid) and the ESP is mounted at /efi. ``--disk PATH --esp DIR
--running-roothash HEX`` name them instead, on the same code path: that is how the tests drive the
updater on a disk-image file. ``--key`` defaults to ``[image] release_key``. A module of its own, not
a ``sealforge`` subcommand, so the root unit imports nothing of the API, the jobs or the queues.
"""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import click

from appliance.cli.output import cli_errors, emit, resolve_config, state_dir_option, state_path
from appliance.services.system_update import bundle as fmt
from appliance.services.system_update import inbox, slots


class Target:
    """The disk, ESP and running root hash: given, or found on the running image."""

    def __init__(self, disk: str | None, esp: str, roothash: str | None) -> None:
        self.roothash = roothash or slots.running_roothash()
        self.disk = Path(disk) if disk else slots.running_disk(self.roothash)
        self.esp = Path(esp)


def _target_options(func: Any) -> Any:
    func = click.option("--running-roothash", default=None, help="Root hash running now (default: /proc/cmdline).")(
        func
    )
    func = click.option("--esp", default="/efi", show_default=True, help="Where the ESP is mounted.")(func)
    return click.option("--disk", default=None, help="Disk or disk-image file (default: the running root's).")(func)


def _key(key: str | None) -> Any:
    return fmt.load_public_key(Path(key) if key else inbox.Settings.from_config(resolve_config(None)).release_key)


@click.group()
def main() -> None:
    """Sealforge A/B updater."""


@main.command()
@_target_options
def status(disk: str | None, esp: str, running_roothash: str | None) -> None:
    """The slots: running, empty, or the state of the boot entry that boots them."""
    with cli_errors():
        t = Target(disk, esp, running_roothash)
        emit({"disk": str(t.disk), "running_roothash": t.roothash, "slots": slots.describe(t.disk, t.esp, t.roothash)})


@main.command()
@click.argument("bundle_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", default=None, help="Release public key (PEM; default: [image] release_key).")
@click.option("--allow-downgrade", is_flag=True)
@_target_options
def verify(
    bundle_path: str, key: str | None, allow_downgrade: bool, disk: str | None, esp: str, running_roothash: str | None
) -> None:
    """Every check of an apply (signature, serial, sizes against the free slot, hashes); writes nothing."""
    with cli_errors(), open(bundle_path, "rb") as f:
        t = Target(disk, esp, running_roothash)
        p = slots.plan(f, _key(key), t.disk, t.esp, t.roothash, allow_downgrade)
        emit({**p.bundle.as_dict(), "slot": p.target.name, "running_serial": p.running_serial})


@main.command()
@click.argument("bundle_path", type=click.Path(exists=True, dir_okay=False))
@click.option("--key", default=None, help="Release public key (PEM; default: [image] release_key).")
@click.option("--tries", default=3, show_default=True, type=click.IntRange(1, slots.MAX_TRIES))
@click.option("--allow-downgrade", is_flag=True)
@_target_options
def apply(
    bundle_path: str,
    key: str | None,
    tries: int,
    allow_downgrade: bool,
    disk: str | None,
    esp: str,
    running_roothash: str | None,
) -> None:
    """Write the bundle to the slot not running and add its boot entry, on trial for TRIES boots."""
    with cli_errors():
        t = Target(disk, esp, running_roothash)
        emit(
            slots.apply(
                Path(bundle_path), _key(key), t.disk, t.esp, t.roothash, tries=tries, allow_downgrade=allow_downgrade
            )
        )


def _reboot() -> None:
    subprocess.run(["systemctl", "reboot"], check=True)


@main.command()
@state_dir_option
@_target_options
def service(state_dir: str | None, disk: str | None, esp: str, running_roothash: str | None) -> None:
    """Apply what the API queued in <state>/updates/incoming/, write status.json, reboot if asked."""
    cfg = resolve_config(state_dir)
    with cli_errors():
        t = Target(disk, esp, running_roothash)
        key_path = inbox.Settings.from_config(cfg).release_key
        report = inbox.process(state_path(cfg), key_path, t.disk, t.esp, t.roothash, _reboot)
        emit(report)


if __name__ == "__main__":
    main()
