"""Start-up cleanup: what a killed process tree left in the state dir, and nothing a live one owns.

kill -9 (or power loss) during an upload leaves its temp file in ``blobs/tmp``; during a job, its
work dir under ``work/<job id>``; during a mock-data request, its dir under ``tmp/``. Nothing ever
came back for them, so they stayed forever. `sealforge serve` and each `sealforge worker` call
``clean`` when they start. An entry goes only when no live process holds its ``flock`` (writers and
running jobs hold one for as long as they use it); a job's work dir is also kept while the job runs
under a valid lease taken on another host, which a lock here cannot see. So a worker that starts
next to busy ones takes nothing from them. The blob collector then frees bytes that no row or live writer holds.
"""

from __future__ import annotations

import logging
import socket
import time
from pathlib import Path
from typing import Any

from appliance.store import jobs as jobs_store
from appliance.store.blob_gc import collect
from appliance.store.blobs import BlobStore
from appliance.store.open import open_db
from appliance.store.owned import remove_if_unowned

log = logging.getLogger("sealforge.cleanup")

WORK_DIR = "work"
TMP_DIR = "tmp"


def clean(state_dir: Path) -> dict[str, Any]:
    """Remove crash leftovers and collect unused blobs; returns what was done."""
    conn = open_db(state_dir)
    report: dict[str, Any] = {
        "temp_files": BlobStore(state_dir).clean_temp(),
        "work_dirs": clean_work_dirs(state_dir),
        "tmp_dirs": _clean_children(state_dir / TMP_DIR),
        "blobs": collect(conn, state_dir).as_dict(),
    }
    if report["temp_files"] or report["work_dirs"] or report["tmp_dirs"] or report["blobs"]["blobs_removed"]:
        log.warning("removed crash leftovers in %s: %s", state_dir, report)
    if report["blobs"]["missing"]:
        log.error("blobs referenced but missing in %s: %s", state_dir, report["blobs"]["missing"])
    return report


def clean_work_dirs(state_dir: Path) -> int:
    """Remove job work dirs that no process here holds, unless a worker on another host may own one."""
    root = state_dir / WORK_DIR
    if not root.is_dir():
        return 0
    conn = open_db(state_dir)
    removed = 0
    for entry in root.iterdir():
        if not _may_run_elsewhere(jobs_store.get_job(conn, entry.name)) and remove_if_unowned(entry):
            removed += 1
    return removed


def _may_run_elsewhere(job: dict[str, Any] | None) -> bool:
    """A job running under a valid lease taken by another host's worker (``host:pid:thread``).

    On this host the work dir's flock answers exactly; across hosts only the lease can."""
    if job is None or job["status"] != "running" or (job["lease_expires"] or 0) < time.time():
        return False
    return str(job["worker"] or "").rsplit(":", 2)[0] != socket.gethostname()


def _clean_children(root: Path) -> int:
    if not root.is_dir():
        return 0
    return sum(remove_if_unowned(entry) for entry in root.iterdir())
