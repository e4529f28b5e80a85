"""The leaderboard of a dataset's models: ranked by fidelity (the quality score each `train` job
measured the same way: a seeded sample against the training rows) or by TSTR (the newest
evaluation of each model), the other breaking ties; models without a score sort last."""

from __future__ import annotations

import sqlite3
from typing import Any

from appliance.store import models as models_store

MAX_MODELS = 200
ORDERS = ("quality", "tstr")


def _key(value: float | None) -> float:
    return value if value is not None else float("-inf")


def leaderboard(conn: sqlite3.Connection, tenant_id: str, dataset_id: str, by: str = "quality") -> dict[str, Any]:
    models = models_store.models_of_dataset(conn, tenant_id, dataset_id, MAX_MODELS)
    evaluations = models_store.latest_evaluations(conn, tenant_id, [m["id"] for m in models])
    entries = []
    for model in models:
        evaluation = evaluations.get(model["id"])
        tstr = None
        if evaluation is not None:
            metrics = evaluation["metrics"]
            tstr = {
                "evaluation_id": evaluation["id"],
                "target": evaluation["target"],
                "task": evaluation["task"],
                "metric": metrics["metric"],
                "score": metrics["score"],
            }
        entries.append(
            {
                "model_id": model["id"],
                "synthesizer": model["synthesizer"],
                "engine": model["engine"],
                "device": model["device"],
                "quality_score": model["quality_score"],
                "tstr": tstr,
                "created_at": model["created_at"],
            }
        )

    def order(entry: dict[str, Any]) -> tuple[float, float]:
        quality = _key(entry["quality_score"])
        tstr = _key(entry["tstr"]["score"] if entry["tstr"] else None)
        return (quality, tstr) if by == "quality" else (tstr, quality)

    entries.sort(key=order, reverse=True)
    for rank, entry in enumerate(entries, start=1):
        entry["rank"] = rank
    return {"dataset_id": dataset_id, "by": by, "data": entries, "count": len(entries)}
