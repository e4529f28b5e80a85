"""Liveness and readiness checks, and the numbers behind /metrics.

Queue depths come in from the caller (``appliance.jobs.queues.pending_counts``): services sit below
the job engine and never import it (docs/decisions.md).
"""

from __future__ import annotations

import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

from appliance import __version__
from appliance.scrub import scrub
from appliance.store import stats as stats_store
from appliance.store import webhooks as webhooks_store
from appliance.store.migrations import latest_version

STARTED = time.time()


def check_database(conn: sqlite3.Connection) -> dict[str, Any]:
    try:
        version = stats_store.ping(conn)
    except sqlite3.Error as exc:
        return {"ok": False, "detail": scrub(f"database error: {exc}")}  # /livez is public
    ok = version == latest_version()
    return {"ok": ok, "detail": f"schema version {version}" + ("" if ok else f", expected {latest_version()}")}


def check_disk(state_dir: Path, min_free: int) -> dict[str, Any]:
    free = shutil.disk_usage(state_dir).free
    return {"ok": free >= min_free, "detail": f"{free} bytes free", "free_bytes": free}


def livez(conn: sqlite3.Connection, state_dir: Path, min_free: int, depths: dict[str, int | None]) -> dict[str, Any]:
    """``depths``: pending tasks per queue, None for a queue file that cannot be read."""
    checks = {
        "database": check_database(conn),
        "disk": check_disk(state_dir, min_free),
        "queues": {
            "ok": all(d is not None for d in depths.values()),
            "detail": ", ".join(f"{k}={'unreadable' if v is None else v}" for k, v in depths.items()),
        },
    }
    return {"ok": all(c["ok"] for c in checks.values()), "checks": checks}


def metrics_text(
    conn: sqlite3.Connection,
    state_dir: Path,
    depths: dict[str, int | None],
    process: dict[str, int] | None = None,
) -> str:
    """Prometheus text exposition (version 0.0.4). ``process``: this API process's own counts
    (open event streams, the jobs and runs they follow, greenlets, threads)."""
    lines: list[str] = []

    def gauge(name: str, help_text: str, samples: list[tuple[str, float]]) -> None:
        lines.append(f"# HELP {name} {help_text}")
        lines.append(f"# TYPE {name} gauge")
        lines.extend(f"{name}{labels} {value:g}" for labels, value in samples)

    gauge("sealforge_info", "Build information.", [(f'{{version="{__version__}"}}', 1)])
    gauge("sealforge_process_uptime_seconds", "Seconds since this API process started.", [("", time.time() - STARTED)])
    for key, value in stats_store.counts(conn).items():
        gauge(f"sealforge_{key}", f"Number of {key.replace('_', ' ')}.", [("", value)])
    gauge(
        "sealforge_queue_pending",
        "Tasks waiting in each queue.",
        [(f'{{queue="{q}"}}', float(d)) for q, d in depths.items() if d is not None],
    )
    endpoints, pending = webhooks_store.health_counts(conn)
    gauge(
        "sealforge_webhook_endpoints",
        "Webhook endpoints by status (failing: repeated failed deliveries; disabled: answered 410).",
        [(f'{{status="{status}"}}', float(count)) for status, count in endpoints.items()],
    )
    gauge("sealforge_webhook_deliveries_pending", "Webhook deliveries not yet made.", [("", float(pending))])
    gauge("sealforge_disk_free_bytes", "Free bytes on the state dir's disk.", [("", shutil.disk_usage(state_dir).free)])
    for key, value in (process or {}).items():
        gauge(f"sealforge_api_{key}", f"This API process's {key.replace('_', ' ')}.", [("", value)])
    return "\n".join(lines) + "\n"
