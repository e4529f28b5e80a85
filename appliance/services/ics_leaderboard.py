"""The ICS detection leaderboard: every detector of the tenant's succeeded `ics_benchmark` jobs,
ranked by one of the benchmark's overall scores (eTaPR F1 by default, the metric the HAI benchmark
asks for), optionally for one plant. Each entry names its job and the job's seal, so a score on the
board can be traced to the sealed `benchmark.json` it came from."""

from __future__ import annotations

import json
import sqlite3
from typing import Any

from appliance.store import jobs as jobs_store
from appliance.store import seals as seals_store

KIND = "ics_benchmark"
MAX_JOBS = 200
METRICS = ("etapr_f1", "pa_f1", "f1")


def leaderboard(conn: sqlite3.Connection, tenant_id: str, plant: str | None = None,
                by: str = "etapr_f1") -> dict[str, Any]:
    page = jobs_store.page_jobs(conn, tenant_id, status="succeeded", kind=KIND, limit=MAX_JOBS, after=None,
                                newest_first=True)
    entries = []
    for job in page.data:
        result = json.loads(job["result"] or "{}")
        if plant is not None and result.get("plant") != plant:
            continue
        seal = seals_store.seal_of_job(conn, job["id"], tenant_id)
        for row in result.get("detectors", []):
            entries.append({
                "job_id": job["id"],
                "plant": result.get("plant"),
                "detector": row["detector"],
                "f1": row["f1"],
                "pa_f1": row["pa_f1"],
                "etapr_f1": row["etapr_f1"],
                "normal_alarm_rate": row["normal_alarm_rate"],
                "seal_id": seal["id"] if seal else None,
                "created_at": job["created_at"],
            })
    entries.sort(key=lambda e: (-e[by], -e["etapr_f1"], e["job_id"], e["detector"]))
    for rank, entry in enumerate(entries, start=1):
        entry["rank"] = rank
    return {"plant": plant, "by": by, "data": entries, "count": len(entries)}
