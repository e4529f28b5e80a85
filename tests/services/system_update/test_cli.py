"""`python -m appliance.cli.system_update` on a disk-image file: the same code path as on the box,
with --disk/--esp/--running-roothash naming what the box finds itself."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from tests.services.system_update.release import REPO, bundle_tool, make_disk, make_esp, make_key, make_release


def _updater(*args: object) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "appliance.cli.system_update", *map(str, args)]
    return subprocess.run(cmd, capture_output=True, text=True, cwd=REPO)


def test_status_verify_apply(tmp_path: Path) -> None:
    private, public = make_key(tmp_path / "keys")
    running = make_release(tmp_path / "release-100", 100)
    disk, esp = make_disk(tmp_path / "disk.img", running), make_esp(tmp_path / "esp", running)
    target = ("--disk", disk, "--esp", esp, "--running-roothash", running.roothash)
    bundle = bundle_tool().build(make_release(tmp_path / "release-200", 200).folder, tmp_path, private, None)
    checked = _updater("verify", bundle, "--key", public, *target)
    assert checked.returncode == 0, checked.stderr
    assert json.loads(checked.stdout)["slot"] == "b" and json.loads(checked.stdout)["running_serial"] == 100
    applied = _updater("apply", bundle, "--key", public, "--tries", "2", *target)
    assert applied.returncode == 0, applied.stderr
    assert json.loads(applied.stdout)["entry"] == "sealforge-200+2.efi"
    status = json.loads(_updater("status", *target).stdout)
    assert [(s["slot"], s["state"]) for s in status["slots"]] == [("a", "running"), ("b", "trial")]
    again = _updater("apply", bundle, "--key", public, *target)  # written again: the old entry goes first
    assert again.returncode == 0, again.stderr
    assert json.loads(again.stdout)["removed"] == ["sealforge-200+2.efi"]
    older = bundle_tool().build(make_release(tmp_path / "release-50", 50).folder, tmp_path, private, None)
    refused = _updater("apply", older, "--key", public, *target)
    assert refused.returncode == 1 and "error: UPDATE_NOT_NEWER" in refused.stderr
