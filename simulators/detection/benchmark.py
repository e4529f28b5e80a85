"""The `ics_benchmark` evaluation: baseline detectors trained on a normal run of a plant and scored
on an attack run of the same plant (another seed, every technique planned by `scenario_fabricate`).

Why two runs: a detector must not see the days it is scored on, and the attack run's normal stretches
are still in its test set (they give the false alarms). Both runs are seeded from the request's seed,
so the whole evaluation (data, fits, thresholds, scores) is deterministic and its result byte-stable.

Scores per detector: overall and per technique (that technique's attack rows are the labels, other
techniques' attack rows are left out of both labels and alarms), each with point-wise F1,
point-adjusted F1 and eTaPR (see `metrics`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from simulators.attacks.techniques import catalogue
from simulators.core.params import coerce_number, resolve_params
from simulators.detection.detectors import DETECTORS, feature_columns, fit_and_threshold
from simulators.detection.metrics import DELTA, THETA_P, THETA_R, summary
from simulators.errors import SimulationParamError
from simulators.plants.registry import get_plant

if TYPE_CHECKING:
    from simulators.validation import SimulationRequest

FORMAT = "sealforge.ics_benchmark/1"
FIELDS = frozenset({"plant", "duration", "train_duration", "sample_rate", "intensity", "stealthy", "count",
                    "detectors", "techniques", "params", "seed"})
MAX_DURATION_S = 7 * 86400.0
MIN_DURATION_S = 3600.0
MAX_COUNT = 10
TEST_SEED_OFFSET = 1  # the attack run uses seed + 1, so its noise differs from the training run's
ATTACK_KEYS = ("attack_id", "technique", "attack_type", "targets", "start_time", "end_time")
ProgressFn = Callable[[float, str], None]


@dataclass(frozen=True)
class BenchmarkRequest:
    plant: str
    duration: float
    train_duration: float
    sample_rate: float
    intensity: float
    stealthy: bool
    count: int
    detectors: tuple[str, ...]
    techniques: tuple[str, ...]
    params: dict[str, float]
    seed: int

    def contract(self) -> dict[str, Any]:
        return {"plant": self.plant, "duration": self.duration, "train_duration": self.train_duration,
                "sample_rate": self.sample_rate, "intensity": self.intensity, "stealthy": self.stealthy,
                "count": self.count,
                "detectors": list(self.detectors), "techniques": list(self.techniques),
                "params": dict(self.params), "seed": self.seed}

    def estimate_seconds(self) -> float:
        """Pessimistic: both runs at 5x the engine's per-scan guess (the attack run also replays each attack
        window for its effect check; bench/ics_benchmark.py measured 2-4x on a shared 2-core box) plus
        ~20 us a row per detector."""
        from simulators.validation import SCAN_COST_S

        scans = (self.duration + self.train_duration) / min(1.0, 1.0 / self.sample_rate)
        rows = (self.duration + self.train_duration) * self.sample_rate
        return round(scans * 5 * SCAN_COST_S.get(self.plant, 5e-5) + rows * 2e-5 * len(self.detectors) + 2.0, 1)


def _duration(raw: Any, field: str, default: float) -> float:
    value = coerce_number(raw if raw is not None else default, field)
    if not MIN_DURATION_S <= value <= MAX_DURATION_S:
        raise SimulationParamError(field, f"must be between {MIN_DURATION_S:g} and {MAX_DURATION_S:g} s")
    return value


def _names(raw: Any, field: str, known: list[str]) -> tuple[str, ...]:
    if raw is None:
        return tuple(known)
    if not isinstance(raw, list) or not raw or not all(isinstance(x, str) for x in raw):
        raise SimulationParamError(field, f"must be a non-empty list of names from: {', '.join(known)}")
    for name in raw:
        if name not in known:
            raise SimulationParamError(field, f"unknown name {name!r}; known: {', '.join(known)}")
    return tuple(dict.fromkeys(raw))


def prepare(raw: Mapping[str, Any]) -> BenchmarkRequest:
    """Validate `ics_benchmark` params; every default filled in (they are recorded in the result)."""
    if not isinstance(raw, Mapping):
        raise SimulationParamError("params", "must be an object")
    for key in raw:
        if key not in FIELDS:
            raise SimulationParamError(str(key), "unknown field for ics_benchmark")
    if "plant" not in raw:
        raise SimulationParamError("plant", "is required")
    plant = get_plant(raw["plant"])
    duration = _duration(raw.get("duration"), "duration", 86400.0)
    train = _duration(raw.get("train_duration"), "train_duration", duration)
    rate = coerce_number(raw.get("sample_rate", 1.0), "sample_rate")
    if rate not in (0.1, 0.2, 0.5, 1.0):
        raise SimulationParamError("sample_rate", "must be 1, 0.5, 0.2 or 0.1 Hz")
    intensity = coerce_number(raw.get("intensity", 0.5), "intensity")
    if not 0.0 <= intensity <= 1.0:
        raise SimulationParamError("intensity", "must be between 0 and 1")
    stealthy = raw.get("stealthy", False)
    if not isinstance(stealthy, bool):
        raise SimulationParamError("stealthy", "must be true or false")
    count = raw.get("count", 1)
    if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= MAX_COUNT:
        raise SimulationParamError("count", f"must be an integer from 1 to {MAX_COUNT} (attacks per technique)")
    seed = raw.get("seed", 0)
    if isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 2**62:
        raise SimulationParamError("seed", "must be a non-negative integer")
    # No operator defaults from here: every plant has its own (`operator_reset`, 600 s), who resets a
    # trip or lockout once its cause has cleared, so one attack does not leave the plant shut down for
    # the rest of the run with every later row labelled normal.
    params = raw.get("params") or {}
    if not isinstance(params, Mapping):
        raise SimulationParamError("params", "must be an object of plant parameters")
    resolve_params(plant.PARAMS, params, f"plant '{plant.name}'")  # refuse a bad name or value now, not in the run
    return BenchmarkRequest(
        plant=plant.name, duration=duration, train_duration=train, sample_rate=rate, intensity=intensity,
        stealthy=stealthy, count=count, detectors=_names(raw.get("detectors"), "detectors", list(DETECTORS)),
        techniques=_names(raw.get("techniques"), "techniques", [t["key"] for t in catalogue()]),
        params=dict(params), seed=seed,
    )


def _runs(req: BenchmarkRequest) -> tuple[SimulationRequest, SimulationRequest]:
    """(normal run, attack run) as in-memory datasets; both validated by the simulators' own checks."""
    from simulators.validation import prepare_scenario_fabricate, prepare_simulate

    common = {"plant": req.plant, "sample_rate": req.sample_rate, "params": req.params}
    normal = prepare_simulate({**common, "duration": req.train_duration, "seed": req.seed})
    attack = prepare_scenario_fabricate({
        **common, "duration": req.duration, "seed": req.seed + TEST_SEED_OFFSET, "intensity": req.intensity,
        "stealthy": req.stealthy, "mix": [{"technique": t, "count": req.count} for t in req.techniques],
    })
    return normal, attack


def _columns(table: Any) -> dict[str, np.ndarray]:
    """Tag columns of a dataset as float arrays (labels, time and instance left out)."""
    skip = {"timestamp", "instance", "attack", "attack_id", "technique", "attack_type"}
    return {f.name: table.column(f.name).to_numpy().astype(np.float64)
            for f in table.schema if f.name not in skip and not f.name.startswith("truth:")}


def _counters_as_rates(train: dict[str, np.ndarray], test: dict[str, np.ndarray]) -> None:
    """Totalisers and energy meters only grow: their level says how long the run has been going,
    not how the process behaves, so a detector sees their increments instead (in place)."""
    for name, values in train.items():
        if len(values) > 1 and np.ptp(values) > 0 and np.all(np.diff(values) >= 0):
            for cols in (train, test):
                v = cols[name]
                cols[name] = np.diff(v, prepend=v[:1])


def _attack_types(table: Any) -> list[set[str]]:
    return [set(v.split(";")) if v else set() for v in table.column("attack_type").to_pylist()]


def run(req: BenchmarkRequest, progress: ProgressFn | None = None,
        cancel: Callable[[], bool] | None = None) -> dict[str, Any]:
    """Simulate, train, score; the result is JSON-ready and deterministic for a given request."""
    from simulators.dataset import generate

    def step(fraction: float, message: str) -> None:
        if progress is not None:
            progress(fraction, message)

    normal_run, attack_run = _runs(req)
    step(0.0, "simulating the normal run")
    normal = generate(normal_run, cancel=cancel)
    step(0.3, "simulating the attack run")
    attack = generate(attack_run, cancel=cancel)
    train_cols, test_cols = _columns(normal.table), _columns(attack.table)
    _counters_as_rates(train_cols, test_cols)
    features = feature_columns(train_cols)
    train = np.column_stack([train_cols[c] for c in features])
    test = np.column_stack([test_cols[c] for c in features])
    mean, std = train.mean(axis=0), np.maximum(train.std(axis=0), 1e-6)
    train, test = (train - mean) / std, (test - mean) / std
    labels = attack.table.column("attack").to_numpy().astype(bool)
    types = _attack_types(attack.table)
    present = sorted({t for row in types for t in row})
    results = []
    for k, name in enumerate(req.detectors):
        step(0.6 + 0.4 * k / len(req.detectors), f"detector {name}")
        if cancel is not None and cancel():
            from simulators.errors import SimulationCancelled

            raise SimulationCancelled("cancelled by the caller")
        detector, threshold = fit_and_threshold(name, train, req.seed)
        alarms = detector.score(test) > threshold
        by_technique = {}
        for tech in present:
            mine = np.fromiter((tech in row for row in types), bool, len(types))
            others = labels & ~mine
            by_technique[tech] = summary(mine[~others], alarms[~others])
        normal_alarm_rate = float(np.mean(alarms[~labels])) if (~labels).any() else 0.0
        results.append({"detector": name, "threshold": round(threshold, 9),
                        "normal_alarm_rate": round(normal_alarm_rate, 6),
                        "overall": summary(labels, alarms), "by_technique": by_technique})
    step(1.0, "done")
    return {
        "format": FORMAT,
        "request": req.contract(),
        "metric_params": {"theta_p": THETA_P, "theta_r": THETA_R, "delta": DELTA},
        "features": features,
        "rows": {"train": int(normal.table.num_rows), "test": int(attack.table.num_rows),
                 "attack": int(labels.sum())},
        "attacks": [{**{k: a.get(k) for k in ATTACK_KEYS}, "effect_reached": (a.get("effect") or {}).get("reached")}
                    for a in attack.manifest["attacks"]],
        "techniques": present,
        "detectors": results,
    }
