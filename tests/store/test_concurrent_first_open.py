"""Processes that open an empty state dir at the same moment migrate it exactly once (#12 item 17).

Eight real processes import the store, say they are ready, wait for one "go" on stdin (so they
open together rather than staggered by import time), then open the database. Before the fix,
all but one failed with `sqlite3.OperationalError: table tenants already exists`.
"""

from __future__ import annotations

import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.store.migrations import latest_version

REPO = Path(__file__).resolve().parents[2]
OPENER = """
import sys
from pathlib import Path
from appliance.store.db import db_path, open_connection
from appliance.store.migrations import migrate
from appliance.store.open import open_db
print("ready", flush=True)
sys.stdin.readline()
state = Path(sys.argv[1])
if sys.argv[2] == "open_db":
    conn = open_db(state)
else:  # no file lock: migrate() itself must not re-apply what another process applied
    conn = open_connection(db_path(state))
    migrate(conn)
print(conn.execute("PRAGMA user_version").fetchone()[0], conn.execute("SELECT count(*) FROM tenants").fetchone()[0])
"""


@pytest.mark.parametrize("how", ["open_db", "migrate"])
def test_eight_processes_opening_an_empty_state_dir_migrate_once(tmp_path: Path, how: str) -> None:
    state = tmp_path / "var"
    state.mkdir()
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", OPENER, str(state), how],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=REPO,
        )
        for _ in range(8)
    ]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        results = [proc.communicate(timeout=60) for proc in procs]
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
    for proc, (out, err) in zip(procs, results, strict=True):
        assert "Traceback" not in err and "OperationalError" not in err, err
        assert proc.returncode == 0, err
        assert out.split() == [str(latest_version()), "0"]
    with sqlite3.connect(state / "sealforge.db") as conn:
        assert conn.execute("PRAGMA user_version").fetchone()[0] == latest_version()
