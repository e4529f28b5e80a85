"""Run a plant directly on the scan engine and get its columns by name (tests only)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from simulators.attacks.scenario import AttackScenario
from simulators.core.params import resolve_params
from simulators.core.sensors import SensorOptions
from simulators.plants.registry import get_plant
from simulators.runtime import Simulation

QUIET = SensorOptions(noise=0.0)
# The water plant with its operating modes off: PI level loops, P101 always on duty, fixed setpoints,
# no operator actions or maintenance (the behaviour before the modes, which tests of the loops need).
SMOOTH_WATER: dict[str, Any] = {"level_control": 0, "duty_rotation": 0, "setpoint_schedule": False,
                                "operator_actions": 0, "maintenance_rate": 0, "operator_reset": 0}
# The chemical plant and the feeder with their operating modes off (`chemical_modes`, `power_modes`):
# fixed feed, P102 alone on duty, no analyser calibration, fixed setpoints, no inspections.
SMOOTH_CHEMICAL: dict[str, Any] = {"production_schedule": False, "coolant_rotation": 0, "at101_calibration": False,
                                   "operator_actions": 0}
SMOOTH_POWER: dict[str, Any] = {"avr_schedule": False, "cap_schedule": False, "operator_actions": 0,
                                "maintenance_rate": 0}


def make(
    plant: str,
    params: Mapping[str, Any] | None = None,
    *,
    seed: int = 0,
    sensors: SensorOptions = QUIET,
    scenarios: Sequence[AttackScenario] = (),
    instances: int = 1,
    vectorised: bool | None = None,
    scan_period: float = 1.0,
    start_ms: int = 0,
) -> Simulation:
    cls = get_plant(plant)
    return Simulation(
        cls,
        resolve_params(cls.PARAMS, params or {}, plant),
        seed=seed,
        sensors=sensors,
        scenarios=scenarios,
        include_truth=True,
        instances=instances,
        vectorised=vectorised,
        scan_period=scan_period,
        start_ms=start_ms,
    )


def run(
    plant: str,
    scans: int,
    params: Mapping[str, Any] | None = None,
    *,
    writes: Mapping[int, Mapping[str, Any]] | None = None,
    **kwargs: Any,
) -> dict[str, np.ndarray]:
    """Columns (true values as `truth:<tag>`) of `scans` scans; `writes` = {scan: {tag: value}}."""
    sim = make(plant, params, **kwargs)
    rows = []
    for i in range(scans):
        for name, value in (writes or {}).get(i, {}).items():
            sim.set_value(name, value)
        rows.append(sim.scan())
    data = np.asarray(rows, dtype=float)
    return {c: data[:, j] for j, c in enumerate(sim.columns)}


def attack(technique: str, start: float, duration: float, targets: Sequence[str],
           magnitude: Sequence[float | None] | float | None = None, attack_id: str = "A001",
           **options: float) -> AttackScenario:
    mags: tuple[float | None, ...] = (
        tuple(magnitude) if isinstance(magnitude, list | tuple) else (magnitude,) * len(targets)  # type: ignore[assignment]
    )
    return AttackScenario(attack_id, technique, float(start), float(duration), tuple(targets), mags,
                          tuple(sorted(options.items())))
