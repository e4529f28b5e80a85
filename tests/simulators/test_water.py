"""Water plant physics: mass balance, Torricelli and chlorine steady states, level control, interlocks."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.plants.water import G

from .helpers import SMOOTH_WATER, attack, run

FLAT = {**SMOOTH_WATER, "demand_amplitude": 0.0, "demand_variability": 0.0}


def test_mass_balance_closes() -> None:
    d = run("water", 7200, {"demand_variability": 0.1})
    stored = 20.0 * d["truth:LIT101"] + 60.0 * d["truth:LIT102"]
    balance = stored - d["FQ101"] + d["FQ201"] + d["FQ901"]
    # The totalisers integrate with the levels (same RK4 steps): closes to rounding error.
    assert np.max(np.abs(balance - balance[0])) < 1e-9 * d["FQ101"][-1]
    # Against the flow meters (1 Hz trapezoid), as an operator would check it: within 0.1 %.
    net = np.concatenate([[0.0], np.cumsum(np.diff(np.arange(7200.0)) * 0.5 * (
        (d["FIT101"][1:] + d["FIT101"][:-1]) - (d["FIT201"][1:] + d["FIT201"][:-1])) / 3600.0)])
    assert abs((stored[-1] - stored[0]) - net[-1]) < 1e-3 * d["FQ101"][-1]


def test_torricelli_steady_state() -> None:
    speed, valve = 70.0, 40.0
    q1 = np.sqrt((40.0 * (speed / 100) ** 2 - 12.0) / (500.0 + 300.0))
    h1 = (q1 / (0.03 * valve / 100)) ** 2 / (2 * G)
    writes = {0: {"LIC101.AUTO": False, "LIC102.AUTO": False, "P101.SPEED": speed, "FCV102.POS": valve}}
    d = run("water", 6 * 3600, {**FLAT, "demand_base": q1 * 3600}, writes=writes)
    assert d["FIT101"][-1] == pytest.approx(q1 * 3600, rel=1e-9)
    assert d["LIT101"][-1] == pytest.approx(h1, rel=1e-4)
    assert d["FIT102"][-1] == pytest.approx(q1 * 3600, rel=1e-4)  # outflow = inflow


def test_chlorine_steady_state() -> None:
    d = run("water", 10 * 3600, FLAT, writes={0: {"AIC201.AUTO": False, "DP201.SPEED": 20.0}})
    dose = 0.5 * 0.20  # g/s
    q12 = d["FIT102"][-1] / 3600.0
    volume = 60.0 * d["LIT102"][-1]
    assert d["AIT201"][-1] == pytest.approx(dose / (q12 + 5e-5 * volume), rel=1e-3)


def test_pressure_follows_pump_curve() -> None:
    d = run("water", 60, FLAT)
    q = d["FIT201"][-1] / 3600.0
    assert d["PIT201"][-1] == pytest.approx(1000 * G / 1e5 * (60.0 - 1000.0 * q * q) + 0.3, rel=1e-9)


def test_level_pid_settles() -> None:
    """Documented: a +0.5 m LIC101 step settles to +-0.01 m within 20 min."""
    d = run("water", 600 + 1500, FLAT, writes={600: {"LIC101.SP": 3.5}})
    level = d["LIT101"][600:]
    outside = np.nonzero(np.abs(level - 3.5) > 0.01)[0]
    assert outside.max() < 1200
    assert level.max() < 3.5 + 0.05


def test_daily_demand_held_by_loops() -> None:
    d = run("water", 86400 // 4, {**SMOOTH_WATER, "demand_variability": 0.05}, seed=3)
    assert np.all(np.abs(d["LIT101"] - 3.0) < 0.2)
    assert np.all(np.abs(d["LIT102"] - 4.0) < 0.3)
    assert np.all(np.abs(d["AIT201"][3600:] - 1.0) < 0.15)


def test_high_high_interlock_stops_intake() -> None:
    # Raising the LIC101 setpoint above the trip limit (T0836) drives the level into the interlock.
    d = run("water", 3600, FLAT, scenarios=[attack("modify_parameter", 60, 3000, ["LIC101.SP"], 4.9)])
    trip = d["P101.TRIP"]
    first = int(np.argmax(trip))
    assert trip.any() and d["LIT101"][first] >= 4.6
    assert d["P101"][first] == 0.0
    assert d["LIT101"].max() < 4.7
    assert d["LIT101.HI"][first]


def test_low_low_interlock_protects_distribution_pump() -> None:
    d = run("water", 5400, FLAT, scenarios=[attack("manipulation_of_control", 60, 5000, ["FCV102.POS"], 0.0)])
    first = int(np.argmax(d["P201.TRIP"]))
    assert d["P201.TRIP"].any() and d["LIT102"][first] <= 0.5
    assert np.all(d["FIT201"][first + 1:] < 1e-9)
    assert d["PIT201"][first + 1] == pytest.approx(0.3)


def test_overflow_weir_and_balance_with_spill() -> None:
    # Interlock off, intake forced to full speed and the outlet shut: T101 overflows over its weir.
    forced = [attack("manipulation_of_control", 0, 7200, ["P101.SPEED", "FCV102.POS"], [100.0, 0.0])]
    d = run("water", 7200, {**FLAT, "interlock_enabled": False}, scenarios=forced)
    q1 = np.sqrt((40.0 - 12.0) / 800.0)
    assert d["LIT101"][-1] == pytest.approx(5.0 + (q1 / 3.6) ** (2 / 3), rel=1e-6)
    assert d["FQ901"][-1] > 100.0
    stored = 20.0 * d["LIT101"] + 60.0 * d["LIT102"]
    balance = stored - d["FQ101"] + d["FQ201"] + d["FQ901"]
    assert np.max(np.abs(balance - balance[0])) < 1e-9 * d["FQ101"][-1]
