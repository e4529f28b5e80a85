"""Feeder physics: power and energy balance, analytic voltage, transformer thermal model, controls."""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import pytest

from .helpers import SMOOTH_POWER, attack, run

Z_BASE = 11.0**2 / 10.0
R_OHM = {"I_FDR": 0.005 * Z_BASE, "I_L12": 0.25 * 3.0, "I_L23": 0.25 * 2.5, "I_L34": 0.25 * 2.0}
FLAT: dict[str, Any] = {"load_amplitude": 0.0, "load_variability": 0.0, "grid_variability": 0.0,
                        "grid_voltage_amplitude": 0.0, **SMOOTH_POWER}


def test_power_and_energy_balance_close() -> None:
    d = run("power", 3 * 3600, {"load_variability": 0.1})
    loss = sum(3 * d[i] ** 2 * r for i, r in R_OHM.items()) / 1e6  # MW
    loads = d["P_LD1"] + d["P_LD2"] + d["P_LD3"] + d["P_LD4"]
    assert np.max(np.abs(d["P_SRC"] - loads - loss)) < 1e-5
    energy = d["E_SRC"] - d["E_LOAD"] - d["E_LOSS"]
    assert np.max(np.abs(energy)) < 1e-9
    assert d["E_SRC"][-1] == pytest.approx(np.sum(d["P_SRC"][:-1]) / 3600, rel=1e-3)


def test_single_load_voltage_matches_analytic() -> None:
    params = {**FLAT, "load2_mw": 0.0, "load3_mw": 0.0, "load4_mw": 0.0, "load_exp_p": 0.0, "load_exp_q": 0.0,
              "cap_mvar": 0.0}
    d = run("power", 120, params)
    vs = d["V_GRID"][-1] / 33.0 * (1 + 0.0125 * d["OLTC.TAP"][-1])
    p = 1.5 / 10.0
    q = p * math.tan(math.acos(0.95))
    r, x = 0.005, 0.08
    b = vs**2 - 2 * (r * p + x * q)
    v = math.sqrt((b + math.sqrt(b * b - 4 * (r * r + x * x) * (p * p + q * q))) / 2)
    assert d["V_B1"][-1] == pytest.approx(v * 11.0, abs=1e-6)
    assert d["V_B4"][-1] == pytest.approx(d["V_B1"][-1], abs=1e-9)  # no current beyond B1
    assert d["P_SRC"][-1] == pytest.approx(1.5 + 3 * d["I_FDR"][-1] ** 2 * R_OHM["I_FDR"] / 1e6, rel=1e-7)


def test_top_oil_reaches_ieee_steady_state() -> None:
    d = run("power", 4 * 3600, {**FLAT, "oil_tau": 600.0, "ambient_amplitude": 0.0})
    k = math.hypot(d["P_SRC"][-1], d["Q_SRC"][-1]) / 10.0
    rise = 55.0 * ((k * k * 5.0 + 1) / 6.0) ** 0.9
    assert d["TT_OIL"][-1] == pytest.approx(15.0 + rise, abs=1e-3)
    assert d["TT_HS"][-1] == pytest.approx(d["TT_OIL"][-1] + 23.0 * k**1.6, abs=1e-3)


def test_avr_keeps_b1_in_band() -> None:
    d = run("power", 86400 // 2, SMOOTH_POWER, seed=2)
    band = 11.33 * 0.01 + 0.05  # half deadband plus what one tap delay lets loads move
    assert np.mean(np.abs(d["V_B1"][300:] - 11.33) <= band) > 0.99
    assert len(np.unique(d["OLTC.TAP"])) > 1  # it did step


def test_avr_follows_setpoint_change() -> None:
    d = run("power", 900, FLAT, writes={60: {"AVR.SP": 11.0}})
    taps = d["OLTC.TAP"]
    assert taps[-1] < taps[0]
    assert abs(d["V_B1"][-1] - 11.0) <= 11.0 * 0.01
    changes = np.nonzero(np.diff(taps))[0]
    assert np.all(np.diff(changes) >= 30)  # one step per AVR delay


def test_capacitor_bank_switches_on_low_voltage() -> None:
    d = run("power", 600, {**FLAT, "cap_v_on": 11.6, "cap_v_off": 12.5},
            writes={0: {"CAP.SW": False, "CAP.AUTO": False}, 10: {"CAP.AUTO": True}})
    on = int(np.argmax(d["CAP.SW"]))
    assert on == 10 + 60  # after the switching delay
    assert d["Q_CAP"][on + 1] > 1.0 and d["Q_SRC"][on + 1] < d["Q_SRC"][on] - 1.0


def test_breaker_command_deenergises_feeder() -> None:
    d = run("power", 600, FLAT, scenarios=[attack("unauthorized_command", 100, 120, ["CB1.CMD"], 0.0)])
    assert d["CB1"][99] == 1.0 and np.all(d["CB1"][100:220] == 0.0) and d["CB1"][220] == 1.0
    dead = slice(101, 221)
    for tag in ("I_FDR", "V_B1", "V_B4", "P_SRC", "P_LD2"):
        assert np.all(d[tag][dead] == 0.0), tag
    assert d["V_B1"][230] > 10.5


def test_overcurrent_protection_trips_and_recloses() -> None:
    d = run("power", 400, FLAT, scenarios=[attack("modify_parameter", 100, 100, ["OC.PICKUP"], 100.0)])
    trip = d["OC.TRIP"]
    first = int(np.argmax(trip))
    assert first == 100 + 2  # definite-time delay of 2 s
    assert d["CB1"][first] == 0.0 and d["I_FDR"][first + 1] == 0.0
    assert d["CB1"][-1] == 1.0 and not trip[-1]  # auto-reclosed once the setting was restored


def test_recloser_locks_out_after_its_shots() -> None:
    """A persistent over-current (pickup written below the load current): trip, three auto-reclosures,
    the fourth trip locks CB1 open; with no operator it stays open with the fault gone until RESET."""
    writes = {100: {"OC.PICKUP": 100.0}, 800: {"OC.PICKUP": 600.0}, 900: {"RESET": True}}
    d = run("power", 1000, {**FLAT, "operator_reset": 0}, writes=writes)  # only this RESET
    cb, lockout = d["CB1"], d["CB1.LOCKOUT"]
    closings = np.nonzero(np.diff(cb[100:900]) > 0)[0]
    assert len(closings) == 3
    first_lock = int(np.argmax(lockout))
    assert 100 < first_lock < 800 and np.all(lockout[first_lock:900] == 1.0)
    assert np.all(cb[first_lock:900] == 0.0)  # locked out, also after the setting was restored
    assert lockout[900] == 0.0 and cb[900] == 1.0 and cb[-1] == 1.0


def test_recloser_with_zero_shots_locks_out_on_the_first_trip() -> None:
    d = run("power", 400, {**FLAT, "reclose_shots": 0}, writes={100: {"OC.PICKUP": 100.0}})
    assert d["CB1.LOCKOUT"][-1] == 1.0 and np.all(d["CB1"][103:] == 0.0)


def test_forced_tap_walks_one_step_per_mechanism_delay() -> None:
    """manipulation_of_control forces the tap command to -8: the historian shows -8 at once, the
    mechanism walks there one step per 10 s, and back the same way on release."""
    forced = attack("manipulation_of_control", 300, 300, ["OLTC.TAP"], -8.0)
    d = run("power", 1200, FLAT, scenarios=[forced])
    true = d["truth:OLTC.TAP"]
    assert np.all(d["OLTC.TAP"][300:600] == -8.0)
    steps = np.nonzero(np.diff(true))[0]
    assert len(steps) > 8 and np.all(np.abs(np.diff(true)) <= 1.0)
    assert np.all(np.diff(steps) >= 10)
    assert true[599] == -8.0 and true[-1] > -8.0
    assert d["V_B1"].max() < 12.0


def test_tap_changer_locks_out_on_excess_operations() -> None:
    forced = attack("manipulation_of_control", 300, 300, ["OLTC.TAP"], -8.0)
    d = run("power", 1000, {**FLAT, "tap_max_ops": 5}, scenarios=[forced], writes={900: {"RESET": True}})
    true, lockout = d["truth:OLTC.TAP"], d["OLTC.LOCKOUT"]
    first = int(np.argmax(lockout))
    assert lockout.any() and np.all(lockout[first:900] == 1.0)
    assert np.all(true[first + 1:900] == true[first + 1])  # the mechanism is stopped
    assert np.count_nonzero(np.diff(true[:first + 1])) == 6  # the operation over the allowance
    assert lockout[901] == 0.0


def test_manual_holds_the_tap_until_the_operator_moves_it() -> None:
    writes = {100: {"AVR.AUTO": False}, 400: {"OLTC.TAP": 8.0}}
    d = run("power", 600, FLAT, writes=writes)
    tap = d["truth:OLTC.TAP"]
    assert np.all(tap[100:400] == tap[99])
    moves = np.nonzero(np.diff(tap[400:]))[0]
    assert tap[-1] > tap[399] and np.all(np.diff(moves) >= 10) and np.all(np.abs(np.diff(tap)) <= 1.0)


def test_protection_and_tap_mechanism_agree_on_both_back_ends() -> None:
    """The recloser, the tap mechanism and its lockout run the same on NumPy arrays as on floats."""
    from .helpers import make

    forced = attack("manipulation_of_control", 100, 300, ["OLTC.TAP"], -8.0)
    writes = {50: {"OC.PICKUP": 100.0}, 450: {"OC.PICKUP": 600.0}, 500: {"RESET": True}}
    params = {**FLAT, "tap_max_ops": 5, "reclose_delay": 20}
    results = []
    for vectorised in (False, True):
        sim = make("power", params, scenarios=[forced], instances=1, vectorised=vectorised)
        rows = []
        for i in range(600):
            for name, value in writes.get(i, {}).items():
                sim.set_value(name, value)
            rows.append(np.asarray(sim.scan(), dtype=float).reshape(len(sim.columns), -1)[:, 0])
        results.append(np.asarray(rows))
    scalar, vector = results
    names = make("power").columns
    for tag in ("truth:OLTC.TAP", "OLTC.LOCKOUT", "CB1", "CB1.LOCKOUT"):
        j = names.index(tag)
        assert np.array_equal(scalar[:, j], vector[:, j]), tag
    assert scalar[:, names.index("CB1.LOCKOUT")].any() and scalar[:, names.index("OLTC.LOCKOUT")].any()
