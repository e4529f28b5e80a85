"""The scenario manifest written beside every dataset: what was simulated, what each column means,
which attacks ran when and which rows they label.

It holds no wall-clock time, host name or path, so a rerun of the same request produces the same
manifest bytes (`canonical_json`) as well as the same data.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

import pyarrow as pa

from simulators.attacks.apply import scan_window
from simulators.attacks.outcome import intended_effect, view_outcome
from simulators.validation import SimulationRequest, format_ms

FORMAT = "sealforge.simulation/1"
GENERATOR_VERSION = "0.1.0"

LABEL_INFO = {
    "attack": "1 while any attack scenario is active at the row's time, else 0",
    "attack_id": "id(s) of the active scenario(s), ';'-joined; null on normal rows",
    "technique": "MITRE ATT&CK for ICS technique id(s) of the active scenario(s)",
    "attack_type": "catalogue key(s) of the active scenario(s), e.g. replay, ramp_injection",
}


def canonical_json(obj: Any) -> bytes:
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False).encode()


def _labelled_rows(req: SimulationRequest, s0: int, e0: int) -> int:
    """Recorded scans (multiples of `every`, below `scans`) inside [s0, e0)."""
    every = req.every
    hi = min(e0, req.scans)
    if hi <= s0:
        return 0
    first = -(-s0 // every)
    last = (hi - 1) // every
    return max(0, last - first + 1)


QUALITY_DOC = ("0 good, 1 uncertain (pinned at a range end: OPC UA Uncertain_EngineeringUnitsExceeded), "
               "2 uncertain (stale, last usable value), 3 bad")


def build_manifest(req: SimulationRequest, schema: pa.Schema | None, attack_rows: int,
                   outcomes: Mapping[str, dict[str, Any]] | None = None) -> dict[str, Any]:
    """The manifest of a run; `outcomes` (per attack id, `attacks.outcome`) adds each attack's intended
    physical effect and whether the run reached it."""
    cls = req.plant_cls
    table = cls.tag_table()
    substeps = max(1, -(-req.scan_ms // round(cls.dt_max * 1000)))
    columns: list[dict[str, Any]] = []
    for field in schema or []:
        entry: dict[str, Any] = {"name": field.name, "type": str(field.type)}
        quality = table.by_name.get(field.name.removeprefix("quality:")) if field.name.startswith("quality:") else None
        tag = None if quality else table.by_name.get(field.name.removeprefix("truth:"))
        if quality is not None:
            entry.update({"role": "quality", "unit": "", "kind": "quality", "writable": False, "tag": quality.name,
                          "low": 0, "high": 3, "normal_low": 0, "normal_high": 0,
                          "description": f"quality of {quality.name}: {QUALITY_DOC}"})
        elif tag is not None:
            entry.update(tag.info())
            entry["name"] = field.name
            if field.name.startswith("truth:"):
                entry["role"] = "truth"
                entry["writable"] = False
                entry["description"] = f"true value of {tag.name} (before sensor errors and attacks)"
        elif field.name in LABEL_INFO:
            entry["description"] = LABEL_INFO[field.name]
        elif field.name == "timestamp":
            entry["description"] = "sample time, UTC"
        elif field.name == "instance":
            entry["description"] = "plant instance (0-based); rows are time-major"
        columns.append(entry)
    attacks = []
    by_technique: dict[str, int] = {}
    for sc in req.scenarios:
        s0, e0 = scan_window(sc, req.scan_period)
        rows = _labelled_rows(req, s0, e0) * req.instances
        info = sc.to_dict()
        info["start_time"] = format_ms(req.start_ms + s0 * req.scan_ms)
        info["end_time"] = format_ms(req.start_ms + e0 * req.scan_ms)
        info["labelled_rows"] = rows
        info["effect"] = (outcomes or {}).get(sc.attack_id) or (view_outcome(sc) if sc.spec.stage == "view" else
                                                                 {"intended": intended_effect(sc), "reached": None})
        attacks.append(info)
        by_technique[sc.spec.attck_id] = by_technique.get(sc.spec.attck_id, 0) + rows
    last_ms = req.start_ms + (req.rows_per_instance - 1) * req.sample_ms
    return {
        "format": FORMAT,
        "kind": req.kind,
        "generator": {"name": "sealforge-simulators", "version": GENERATOR_VERSION},
        "plant": {
            "name": cls.name,
            "title": cls.title,
            "model_version": cls.version,
        },
        "request": req.contract(),
        "time": {
            "start": req.start_time,
            "last_row": format_ms(last_ms),
            "duration_s": req.duration,
            "sample_rate_hz": req.sample_rate,
            "sample_period_s": req.sample_period,
            "scan_period_s": req.scan_period,
            "internal_step_s": req.scan_period / substeps,
            "integrator": "rk4",
        },
        "rows": req.total_rows,
        "rows_per_instance": req.rows_per_instance,
        "instances": req.instances,
        "columns": columns,
        "attacks": attacks,
        "labels": {
            "attack_rows": attack_rows,
            "normal_rows": req.total_rows - attack_rows,
            "rows_by_technique": by_technique,
        },
    }
