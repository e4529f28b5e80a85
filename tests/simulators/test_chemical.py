"""CSTR physics: energy balances, analytic steady state, temperature control, runaway and trip."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from scipy.integrate import solve_ivp

from simulators.core.ops import ScalarOps
from simulators.core.params import resolve_params
from simulators.plants.chemical import ChemicalPlant

from .helpers import SMOOTH_CHEMICAL, attack, run

FLAT: dict[str, Any] = {"feed_variability": 0.0, "feed_temp_variability": 0.0, "coolant_temp_amplitude": 0.0,
                        **SMOOTH_CHEMICAL}
COOLANT_CUT = attack("manipulation_of_control", 600, 3000, ["TCV102.POS"], 0.0)


def rate(temp: float) -> float:
    return (1 / 600) * np.exp(-6000.0 * (1 / temp - 1 / 350.0))


def test_steady_state_energy_balances_close() -> None:
    d = run("chemical", 4 * 3600, FLAT)
    t, tj, tc, tf = (d[k][-1] for k in ("TT101", "TT102", "TT103", "TT100"))
    ca, f, fc = d["AT101"][-1], d["FT101"][-1] / 3600, d["FT102"][-1] / 3600
    heat = 2.4e5 * 1.0 * rate(t) * ca  # W released
    reactor = f * 4.0e6 * (tf - t) + heat - 13333.0 * (t - tj)
    jacket = fc * 4.18e6 * (tc - tj) + 13333.0 * (t - tj)
    assert abs(reactor) < 1e-4 * heat
    assert abs(jacket) < 1e-4 * heat


def test_steady_state_matches_analytic() -> None:
    d = run("chemical", 4 * 3600, FLAT)
    t = d["TT101"][-1]
    assert t == pytest.approx(350.0, abs=0.01)  # PI removes the offset
    dilution = (d["FT101"][-1] / 3600) / 1.0
    assert d["AT101"][-1] == pytest.approx(2000.0 * dilution / (dilution + rate(t)), rel=1e-5)
    assert d["PT101"][-1] == pytest.approx(1.0 + 1.01325 * np.exp(4890 * (1 / 373.15 - 1 / t)), rel=1e-9)


def test_temperature_pid_settles() -> None:
    """Documented: a -5 K TIC101 step settles to +-0.25 K within 15 min."""
    d = run("chemical", 600 + 1800, FLAT, writes={600: {"TIC101.SP": 345.0}})
    temp = d["TT101"][600:]
    assert np.nonzero(np.abs(temp - 345.0) > 0.25)[0].max() < 900


def test_runaway_when_cooling_is_cut_without_interlock() -> None:
    d = run("chemical", 3600, {**FLAT, "interlock_enabled": False, "relief_capacity": 0.0},
            scenarios=[COOLANT_CUT])
    temp = d["TT101"]
    assert temp[:600].max() < 351
    assert temp[600 + 900] > 420  # 15 min after the cut
    assert temp.max() > 440  # towards the adiabatic temperature
    rise = np.diff(temp[600:1200])
    assert rise[300] > 3 * rise[30]  # self-accelerating: the signature of a runaway
    assert not d["SIS.TRIP"].any()


def test_interlock_trips_the_runaway() -> None:
    d = run("chemical", 3600, FLAT, scenarios=[COOLANT_CUT])
    temp, trip = d["TT101"], d["SIS.TRIP"]
    first = int(np.argmax(trip))
    assert trip.any() and temp[first] >= 380.0 and temp[first - 1] < 380.0
    assert d["FV101.POS"][first] == 0.0 and d["XV103"][first] == 1.0
    assert temp.max() < 395.0
    assert temp[first + 600] < 360.0  # falling: feed shut, emergency cooling on


def test_trip_limit_tampering_disables_protection() -> None:
    lifted = attack("modify_parameter", 0, 3600, ["TT101.HH"], 600.0, attack_id="A002")
    d = run("chemical", 2400, FLAT, scenarios=[lifted, COOLANT_CUT])
    assert d["TT101.HH"][10] == 600.0
    # The pressure trip (PT101.HH, 3 bar) is the remaining layer and catches it later and hotter.
    first = int(np.argmax(d["SIS.TRIP"]))
    assert d["SIS.TRIP"].any() and d["PT101"][first] >= 3.0 and d["TT101"][first] > 385.0


@pytest.mark.parametrize("relief", [0.0, 1.0e7])
def test_rk4_matches_solve_ivp_through_a_runaway(relief: float) -> None:
    """Without the relief valve the runaway goes past 440 K; with it RK4 still follows LSODA while
    PSV101 holds the pressure (its lift is the stiffest term, ~0.6 s^-1)."""
    p = resolve_params(ChemicalPlant.PARAMS, {"relief_capacity": relief}, "chemical")
    plant = ChemicalPlant(p, ScalarOps(), [np.random.default_rng(0)], 1.0, 0.0)
    app, w = [50.0, 0.0, False, True, False], [350.0, 2000.0, 295.0]  # coolant cut, P102 running
    x = [1000.0, 350.0, 320.0]
    traj = [x]
    for _ in range(1800):
        x = plant.integrate(x, app, w, 1.0, 1)
        traj.append(x)
    ref = solve_ivp(lambda _t, y: plant.rhs(list(y), app, w), (0, 1800), [1000.0, 350.0, 320.0],
                    method="LSODA", rtol=1e-10, atol=1e-8, t_eval=np.arange(1801.0))
    ours = np.array(traj)
    assert (ours[-1, 1] > 440) if not relief else (430 < ours[-1, 1] < 440)
    assert np.max(np.abs(ours[:, 1] - ref.y[1])) < 0.05
    assert np.max(np.abs(ours[:, 0] - ref.y[0])) < 0.5


def test_relief_valve_caps_pressure_below_the_vessel_rating() -> None:
    """Cooling cut, SIS disabled: PSV101 lifts at 8 bar and holds the reactor under its 10 bar rating
    (full lift at 10 % overpressure); without it the runaway passes the rating."""
    params = {**FLAT, "interlock_enabled": False}
    d = run("chemical", 3600, params, scenarios=[COOLANT_CUT])
    assert d["truth:PT101"].max() <= 8.0 * 1.1 < 10.0
    assert d["truth:PT101"].max() > 8.0 and d["PSV101"].max() > 0.0
    assert np.all(d["PSV101"][:600] == 0.0)  # shut in normal operation
    lifted = d["PSV101"] > 0.0
    assert np.all(d["truth:PT101"][lifted] > 8.0 - 1e-9)
    bare = run("chemical", 3600, {**params, "relief_capacity": 0.0}, scenarios=[COOLANT_CUT])
    assert bare["truth:PT101"].max() > 10.0
    assert np.all(bare["PSV101"] == 0.0)


def test_sis_trip_latches_until_reset_and_reset_needs_the_cause_gone() -> None:
    """PT101.HH written below the running pressure: the trip holds, a RESET while the cause persists
    does nothing, restoring the limit does not release it either (no auto-reset), RESET then does."""
    writes = {60: {"PT101.HH": 1.2}, 600: {"RESET": True}, 700: {"PT101.HH": 3.0}, 1900: {"RESET": True}}
    d = run("chemical", 2000, {**FLAT, "operator_reset": 0}, writes=writes)  # no operator: only these RESETs
    trip = d["SIS.TRIP"]
    assert trip[59] == 0 and trip[60] == 1
    assert np.all(trip[60:1900] == 1)
    assert np.all(d["FV101.POS"][60:1900] == 0.0) and np.all(d["XV103"][60:1900] == 1.0)
    assert trip[1900] == 0 and d["FV101.POS"][1901] == 50.0


def test_sis_reads_its_own_transmitter() -> None:
    """Spoofing the control transmitter TT101 down by 40 K makes TIC101 shut the coolant; the runaway
    is real and the SIS trips on TT111 at 380 K although TT101 reads ~340 K."""
    spoof = attack("spoof_reporting_message", 600, 2400, ["TT101"], -40.0)
    d = run("chemical", 3000, FLAT, scenarios=[spoof])
    first = int(np.argmax(d["SIS.TRIP"]))
    assert d["SIS.TRIP"].any() and d["TT111"][first] >= 380.0 and d["TT101"][first] < 350.0


def test_analyser_reports_samples_late() -> None:
    """AT101 samples every 120 s and shows each result 180 s after its sample was drawn (defaults)."""
    d = run("chemical", 1200, writes={0: {"TIC101.SP": 345.0}})
    reading, truth = d["AT101"], d["truth:AT101"]
    for i in range(180, 1200):
        assert reading[i] == truth[120 * ((i - 180) // 120)]
    assert np.ptp(truth[180:]) > 1.0  # the concentration did move meanwhile
