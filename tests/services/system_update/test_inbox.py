"""The root updater's side of the queue: whatever is in incoming/ is consumed (so the path unit does
not fire again), and the status it writes is readable by the API's user."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from appliance.services.system_update import inbox
from tests.services.system_update.release import make_disk, make_esp, make_key, make_release


def test_the_updater_empties_the_queue_of_anything_it_finds(tmp_path: Path) -> None:
    _, public = make_key(tmp_path / "keys")
    running = make_release(tmp_path / "release-100", 100)
    disk, esp = make_disk(tmp_path / "disk.img", running), make_esp(tmp_path / "esp", running)
    state = tmp_path / "var"
    incoming = state / "updates/incoming"
    incoming.mkdir(parents=True)
    (incoming / "stray.txt").write_text("not a request")
    (incoming / "1-abcd").mkdir()  # a request folder without its request.json
    (incoming / "link").symlink_to(tmp_path / "keys")  # never followed, only removed
    reboots: list[bool] = []
    report = inbox.process(state, public, disk, esp, running.roothash, lambda: reboots.append(True))
    assert list(incoming.iterdir()) == [] and (tmp_path / "keys/release.pub").exists()
    assert reboots == [] and report["rebooting"] is False
    assert report["last_apply"]["state"] == "failed" and report["last_apply"]["message"] == "no readable request"
    status = state / "updates" / inbox.STATUS_NAME
    assert stat.S_IMODE(status.stat().st_mode) == 0o644
    assert [s["state"] for s in json.loads(status.read_text())["slots"]] == ["running", "empty"]


def test_at_boot_with_no_queue_the_updater_reports_the_slots(tmp_path: Path) -> None:
    _, public = make_key(tmp_path / "keys")
    running = make_release(tmp_path / "release-100", 100)
    disk, esp = make_disk(tmp_path / "disk.img", running, slot="b"), make_esp(tmp_path / "esp", running)
    state = tmp_path / "var"
    state.mkdir()
    report = inbox.process(state, public, disk, esp, running.roothash, lambda: None)
    assert [(s["slot"], s["state"], s["serial"]) for s in report["slots"]] == [
        ("a", "empty", None),
        ("b", "running", 100),
    ]
    assert report.get("last_apply") is None
    assert (state / "updates").stat().st_uid == state.stat().st_uid
