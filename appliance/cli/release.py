"""Let go of what this process holds open for one state dir: database connections, the
rate-limit lock file and the queue connections.

A long-running API or worker keeps these for its whole life (they are per state dir and per
thread); a process that serves many state dirs one after another, such as a test run or an
admin tool, calls ``release`` when it is done with one. It lives at the process layer, not in the
store, because it reaches every layer that holds a handle (the store imports nothing above it).
"""

from __future__ import annotations

from pathlib import Path

from appliance.jobs import tasks
from appliance.services import ratelimit
from appliance.store.db import close_thread_connections


def release(state_dir: Path) -> None:
    close_thread_connections(under=state_dir)
    ratelimit.release(state_dir)
    tasks.release(state_dir)
