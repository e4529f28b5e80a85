"""Water plant operating modes and protection (issue 19): on/off level control between bands, duty/standby
intake pumps, a night setpoint schedule, seeded operator actions and maintenance, latching trips with a
manual RESET, and the AIT201 analyser's sample interval and dead time."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

from simulators.core.sensors import SensorOptions
from simulators.dataset import simulate

from .helpers import SMOOTH_WATER, attack, make, run

REPO = Path(__file__).resolve().parents[2]
DEFAULT_NOISE = SensorOptions()
FLAT = {**SMOOTH_WATER, "demand_amplitude": 0.0, "demand_variability": 0.0}  # 288 m3/h all day


def test_onoff_levels_swing_between_the_bands() -> None:
    """Four hours of a normal day in the default (on/off) mode: T101 cycles over most of its 1 m band."""
    d = run("water", 4 * 3600, sensors=DEFAULT_NOISE, seed=5)
    level = d["truth:LIT101"][600:]
    assert np.ptp(level) >= 0.3
    assert level.min() > 2.0 and level.max() < 4.0  # inside the LO/HI alarms
    starts = np.sum(np.diff(d["P101"] + d["P102"]) > 0)
    assert 2 <= starts <= 60  # pump starts, not chatter
    for alarm in ("LIT101.HI", "LIT101.LO", "LIT102.HI", "LIT102.LO", "P101.TRIP", "P201.TRIP"):
        assert not d[alarm].any(), alarm


@pytest.mark.slow
def test_one_normal_day_in_onoff_mode() -> None:
    d = run("water", 86_400, sensors=DEFAULT_NOISE, seed=2)
    assert np.ptp(d["truth:LIT101"]) >= 0.3
    assert np.ptp(d["truth:LIT102"]) >= 0.3
    for alarm in ("LIT101.HI", "LIT101.LO", "LIT102.HI", "LIT102.LO", "AIT201.HI", "AIT201.LO", "P101.TRIP",
                  "P201.TRIP"):
        assert not d[alarm].any(), alarm
    assert np.all(np.abs(d["truth:AIT201"][3600:] - 1.0) < 0.2)
    assert d["FQ901"][-1] == 0.0


def test_smooth_mode_keeps_the_levels_flat() -> None:
    d = run("water", 2 * 3600, SMOOTH_WATER, sensors=DEFAULT_NOISE, seed=5)
    assert np.ptp(d["truth:LIT101"][600:]) < 0.1
    assert not d["P102"].any() and np.all(d["LIC102.SP"] == 4.0)


def test_duty_rotation_alternates_the_intake_pumps() -> None:
    d = run("water", 3 * 3600, {"duty_rotation": 1.0}, seed=1)
    duty = d["P101.DUTY"]
    assert np.all(duty[:3600] == 1.0) and np.all(duty[3600:7200] == 0.0) and np.all(duty[7200:] == 1.0)
    assert not np.any((d["P101"] == 1.0) & (d["P102"] == 1.0))  # never both
    assert d["P102"][3600:7200].any() and not d["P102"][:3600].any()


def test_night_setpoint_schedule() -> None:
    """The run starts at 00:00: LIC102.SP is 4.5 m until 05:00, then the day value; the events come from
    the plant's schedule as operator writes (checked without running five hours)."""
    sim = make("water", {"operator_actions": 0, "maintenance_rate": 0})
    assert sim.scan()[sim.columns.index("LIC102.SP")] == 4.5  # the first block's writes: the one at 00:00
    later = [e for e in sim.plant.events(0, 86_400) if e[2] == "LIC102.SP"]
    assert later == [(5 * 3600, 0, "LIC102.SP", 4.0), (22 * 3600, 0, "LIC102.SP", 4.5)]


def test_operator_actions_and_maintenance_are_seeded() -> None:
    params = {"operator_actions": 40, "maintenance_rate": 3, "duty_rotation": 0}

    def day(seed: int, block: int) -> list[tuple[int, int, str, float]]:
        plant = make("water", params, seed=seed).plant
        return [e for first in range(0, 86_400, block) for e in plant.events(first, block)]

    one = day(1, 86_400)
    assert one == day(1, 1000)  # whatever blocks the engine asks for
    assert one != day(2, 86_400)
    actions = [e for e in one if e[2] in ("LIC101.SP", "AIC201.SP")]
    assert 20 <= len(actions) <= 60
    assert all(2.7 <= v <= 3.3 for _, _, tag, v in actions if tag == "LIC101.SP")
    assert all(6 * 3600 <= scan < 22 * 3600 for scan, *_ in actions)
    outages = [e for e in one if e[2] == "P101.DUTY" and e[0] > 0]
    assert outages and all(scan >= 8 * 3600 for scan, *_ in outages)


def test_instances_follow_their_own_schedules() -> None:
    """Each instance of a vectorised batch has its own operator history; instance 0 is the single run."""
    params = {"operator_actions": 200, "duty_rotation": 0.25}
    eight = 8 * 3600 * 1000  # day shift, when operators act
    batch = make("water", params, instances=3, seed=4, vectorised=True, start_ms=eight)
    rows = np.asarray([batch.scan() for _ in range(3600)])
    single = make("water", params, seed=4, start_ms=eight)
    alone = np.asarray([single.scan() for _ in range(3600)])
    for tag in ("LIC101.SP", "AIC201.SP", "P101.DUTY", "P102", "LIT101"):
        j = batch.columns.index(tag)
        assert np.array_equal(rows[:, j, 0], alone[:, j]), tag
    sp = batch.columns.index("LIC101.SP")
    assert len({tuple(rows[:, sp, k]) for k in range(3)}) == 3


def test_low_low_trip_latches_until_reset() -> None:
    """The cause goes away (the valve attack ends, T102 refills) but P201 stays off until RESET."""
    writes = {3600: {"RESET": True}}
    scenario = attack("manipulation_of_control", 60, 2940, ["FCV102.POS"], 0.0)
    d = run("water", 4200, FLAT, writes=writes, scenarios=[scenario])
    first = int(np.argmax(d["P201.TRIP"]))
    assert d["P201.TRIP"].any() and first < 3000
    assert d["LIT102"][3550] > 0.5 + 0.5  # cleared ...
    assert np.all(d["P201.TRIP"][first:3600] == 1.0) and np.all(d["P201"][first:3600] == 0.0)  # ... still latched
    assert not d["P201.TRIP"][3601:].any() and d["P201"][3601:].all()


def test_reset_while_the_cause_persists_does_nothing() -> None:
    scenario = attack("manipulation_of_control", 60, 4000, ["FCV102.POS"], 0.0)
    d = run("water", 3200, FLAT, writes={3000: {"RESET": True}}, scenarios=[scenario])
    assert d["P201.TRIP"][2900:].all()


def test_analyser_samples_and_delays() -> None:
    d = run("water", 900, {**SMOOTH_WATER, "ait201_interval": 60, "ait201_dead_time": 120},
            writes={0: {"AIC201.AUTO": False, "DP201.SPEED": 40.0}})
    reading, truth = d["AIT201"], d["truth:AIT201"]
    for i in range(120, 900):
        assert reading[i] == truth[60 * ((i - 120) // 60)]
    assert len(np.unique(reading[120:])) <= 14
    continuous = run("water", 300, {**SMOOTH_WATER, "ait201_interval": 0, "ait201_dead_time": 0})
    assert np.array_equal(continuous["AIT201"], continuous["truth:AIT201"])


SCRIPT = textwrap.dedent("""
    import sys
    from simulators import prepare_simulate, write_dataset
    req = prepare_simulate({"plant": "water", "duration": 7200, "seed": 9, "start_time": "2024-01-01T08:00:00Z",
                            "params": {
        "operator_actions": 100, "maintenance_rate": 5, "duty_rotation": 0.5}})
    write_dataset(req, sys.argv[1])
""")


@pytest.mark.heavy
def test_busy_schedules_are_byte_identical_across_processes(tmp_path: Path) -> None:
    outs = []
    for k in range(2):
        out = tmp_path / f"run{k}.parquet"
        subprocess.run([sys.executable, "-c", SCRIPT, str(out)], check=True, cwd=REPO,
                       env={"PYTHONHASHSEED": str(k), "PATH": "/usr/bin:/bin"})
        outs.append(out)
    assert outs[0].read_bytes() == outs[1].read_bytes()
    sp = simulate({"plant": "water", "duration": 7200, "seed": 9, "start_time": "2024-01-01T08:00:00Z", "params": {
        "operator_actions": 100, "maintenance_rate": 5, "duty_rotation": 0.5}}).table.column("LIC101.SP")
    assert len(set(sp.to_pylist())) > 3  # the operator actions did happen


def test_the_operator_resets_a_trip_once_its_cause_has_cleared() -> None:
    """`operator_reset` (default 600 s): the trip latches in the PLC, and the operator's RESET comes
    600 s after the T102 level is back above LL + 0.5 m, not before."""
    scenario = attack("manipulation_of_control", 60, 2940, ["FCV102.POS"], 0.0)
    d = run("water", 4800, {**FLAT, "operator_reset": 600}, scenarios=[scenario])
    first = int(np.argmax(d["P201.TRIP"]))
    cleared = first + int(np.argmax(d["LIT102"][first:] > 1.0))
    released = first + int(np.argmin(d["P201.TRIP"][first:]))
    assert first < 3000 and cleared > 3000
    assert released == pytest.approx(cleared + 601, abs=2)
    assert d["P201"][released:].all()
