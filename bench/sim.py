"""Simulator throughput, side by side with peers, in one run.

For each plant:

* one day of 1 Hz data for one instance, end to end (engine + Arrow table): wall time and
  simulated seconds per wall second (goals: < 10 s, >= 1,000x real time);
* peer 1: the same plant and PLC with the physics integrated by scipy.integrate.solve_ivp (RK45)
  over each scan instead of the fixed-step RK4; ratio = ours / peer;
* 100 instances vectorised (NumPy back-end): plant-steps (instance-scans) per second;
* peer 2: the same 100 instances run one after another (a per-instance Python loop); ratio.

Usage: python bench/sim.py [--quick] [--plants water,chemical] [--json out.json]
"""

from __future__ import annotations

import argparse
import json
import platform
import time
from collections.abc import Callable
from typing import Any

import numpy as np
from scipy.integrate import solve_ivp

from simulators.core.params import resolve_params
from simulators.dataset import generate
from simulators.plants.registry import PLANTS
from simulators.runtime import Simulation
from simulators.validation import prepare_simulate


def timed(fn: Callable[[], Any]) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def simulation(plant: str, instances: int = 1, seed: int = 1) -> Simulation:
    cls = PLANTS[plant]
    return Simulation(cls, resolve_params(cls.PARAMS, {}, plant), seed=seed, instances=instances)


def drain(sim: Simulation, scans: int) -> None:
    for _ in sim.run(scans):
        pass


def with_solve_ivp(sim: Simulation) -> Simulation:
    """Replace the plant's RK4 with solve_ivp over each scan (same model, same PLC)."""
    plant = sim.plant

    def integrate(x: list[Any], app: list[Any], w: Any, h: float, steps: int) -> list[Any]:
        sol = solve_ivp(lambda _t, y: np.asarray(plant.rhs(list(y), app, w), dtype=float), (0.0, h * steps),
                        np.asarray(x, dtype=float), method="RK45", rtol=1e-6, atol=1e-9)
        return [float(v) for v in sol.y[:, -1]]

    plant.integrate = integrate  # type: ignore[method-assign]
    return sim


def bench_plant(plant: str, day: int, peer_scans: int, vec_scans: int, loop_scans: int) -> dict[str, Any]:
    req = prepare_simulate({"plant": plant, "duration": day, "seed": 1})
    t_day = timed(lambda: generate(req))
    ours_rate = day / t_day
    t_ivp = timed(lambda: drain(with_solve_ivp(simulation(plant)), peer_scans))
    ivp_rate = peer_scans / t_ivp
    t_vec = timed(lambda: drain(simulation(plant, instances=100), vec_scans))
    vec_rate = 100 * vec_scans / t_vec

    def loop() -> None:
        for k in range(100):
            drain(simulation(plant, seed=k), loop_scans)

    t_loop = timed(loop)
    loop_rate = 100 * loop_scans / t_loop
    return {
        "plant": plant,
        "day_rows": day,
        "day_wall_s": round(t_day, 3),
        "sim_s_per_wall_s": round(ours_rate, 1),
        "peer_solve_ivp_sim_s_per_wall_s": round(ivp_rate, 1),
        "ratio_vs_solve_ivp": round(ours_rate / ivp_rate, 1),
        "vectorised_100_plant_steps_per_s": round(vec_rate),
        "peer_loop_100_plant_steps_per_s": round(loop_rate),
        "ratio_vs_loop": round(vec_rate / loop_rate, 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="shorter runs (smoke test)")
    parser.add_argument("--plants", default=",".join(PLANTS))
    parser.add_argument("--json", help="also write the results to this file")
    args = parser.parse_args()
    day, peer, vec, loop = (3600, 120, 300, 60) if args.quick else (86400, 1800, 3600, 600)
    results = [bench_plant(p, day, peer, vec, loop) for p in args.plants.split(",")]
    print(f"python {platform.python_version()} numpy {np.__version__} on {platform.machine()} "
          f"({platform.processor() or 'cpu'}); 1 Hz rows, 1 s PLC scan")
    head = (f"{'plant':9} {'rows':>6} {'wall s':>7} {'sim s/s':>9} {'solve_ivp':>9} {'ratio':>6} "
            f"{'100x vec steps/s':>17} {'100x loop':>10} {'ratio':>6}")
    print(head)
    print("-" * len(head))
    for r in results:
        print(f"{r['plant']:9} {r['day_rows']:>6} {r['day_wall_s']:>7.2f} {r['sim_s_per_wall_s']:>9.0f} "
              f"{r['peer_solve_ivp_sim_s_per_wall_s']:>9.0f} {r['ratio_vs_solve_ivp']:>5.1f}x "
              f"{r['vectorised_100_plant_steps_per_s']:>17,} {r['peer_loop_100_plant_steps_per_s']:>10,} "
              f"{r['ratio_vs_loop']:>5.1f}x")
    for r in results:
        ok_speed = r["sim_s_per_wall_s"] >= 1000
        ok_day = r["day_wall_s"] * 86400 / r["day_rows"] < 10
        print(f"{r['plant']}: >=1000x real time {'yes' if ok_speed else 'NO'}; "
              f"one day < 10 s {'yes' if ok_day else 'NO'}")
    if args.json:
        with open(args.json, "w") as fh:
            json.dump(results, fh, indent=2)


if __name__ == "__main__":
    main()
