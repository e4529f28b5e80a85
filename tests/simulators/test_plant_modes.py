"""Operating modes of the chemical plant and the feeder, in physical terms: a production plan the
feed follows, coolant pumps that change over without losing the jacket's flow, a daily analyser
calibration, night-time voltage reduction, a capacitor time clock, tap changer inspections; the
energy and power balances still close with them on, and both back ends agree."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from simulators.dataset import simulate

from .helpers import SMOOTH_CHEMICAL, SMOOTH_POWER, make, run

HOUR = 3600
DAY = 86400


def rate(temp: np.ndarray) -> np.ndarray:
    return (1 / 600) * np.exp(-6000.0 * (1 / temp - 1 / 350.0))


def mid(x: np.ndarray) -> np.ndarray:
    """Scan-to-scan averages: the trapezoid rule's values over each scan."""
    return 0.5 * (x[:-1] + x[1:])


@pytest.fixture(scope="module")
def chem_day() -> dict[str, np.ndarray]:
    return run("chemical", DAY, seed=3)


@pytest.fixture(scope="module")
def power_day() -> dict[str, np.ndarray]:
    return run("power", DAY, seed=3)


def test_feed_follows_the_production_plan_in_ramps(chem_day: dict[str, np.ndarray]) -> None:
    fv, flow = chem_day["FV101.POS"], chem_day["truth:FT101"]
    assert np.all(fv[: 7 * HOUR] == 50.0) and np.all(fv[19 * HOUR + 1800 :] == 50.0)  # overnight rate
    assert np.all(fv[8 * HOUR : 19 * HOUR] == 56.0)  # the day campaign
    assert flow[12 * HOUR] == pytest.approx(0.56 * 3.3333e-3 * 3600, rel=1e-6)  # 6.72 m3/h
    steps = np.nonzero(np.diff(fv))[0]
    assert len(steps) == 12 and np.max(np.abs(np.diff(fv))) == 1.0  # six 1 % steps up, six down
    assert np.all(np.diff(steps[:6]) == 120) and np.all(np.diff(steps[6:]) == 120)  # one per feed_ramp_s
    # the loop rides through the rate changes: no alarm, no trip
    assert not chem_day["TT101.HI"].any() and not chem_day["TT101.LO"].any() and not chem_day["SIS.TRIP"].any()


def test_coolant_pumps_change_over_without_losing_the_jacket(chem_day: dict[str, np.ndarray]) -> None:
    p102, p103 = chem_day["P102"], chem_day["P103"]
    assert np.all((p102 + p103) >= 1)  # never without a coolant pump
    assert np.sum((p102 + p103) == 2) == 30  # one changeover at 12:00, 30 s of overlap
    assert np.all(p102[: 12 * HOUR] == 1) and np.all(p103[12 * HOUR + 30 :] == 1)
    assert np.all(chem_day["P102.DUTY"][12 * HOUR :] == 0)
    assert np.all(chem_day["truth:FT102"] > 1.0)
    # P103 delivers 90 % of P102's flow at the same opening: TIC101 opens TCV102 further to hold T
    before = chem_day["TCV102.POS"][11 * HOUR : 12 * HOUR].mean()
    after = chem_day["TCV102.POS"][13 * HOUR : 14 * HOUR].mean()
    assert after > 1.05 * before
    assert chem_day["FT102"][13 * HOUR : 14 * HOUR].mean() == pytest.approx(
        chem_day["FT102"][11 * HOUR : 12 * HOUR].mean(), rel=0.1)


def test_analyser_reads_its_standards_once_a_day(chem_day: dict[str, np.ndarray]) -> None:
    cal, at = chem_day["AT101.CAL"], chem_day["AT101"]
    on = np.nonzero(cal)[0]
    assert on[0] == 10 * HOUR and on[-1] == 10 * HOUR + 600 + 120 + 180 - 1 and len(on) == on[-1] - on[0] + 1
    window = at[on[0] : on[-1] + 1]
    assert np.min(window) == 0.0 and np.max(window) == 2000.0  # the zero and the span standard
    outside = np.ones(DAY, dtype=bool)
    outside[on[0] : on[-1] + 1] = False
    assert np.all((at[outside] > 600.0) & (at[outside] < 1300.0))  # no standard leaks out of the flag
    truth = chem_day["truth:AT101"][on[0] : on[-1] + 1]
    assert np.all((truth > 600.0) & (truth < 1300.0))  # the reactor itself is not calibrated


def test_reactor_energy_balance_closes_over_a_day_with_the_modes(chem_day: dict[str, np.ndarray]) -> None:
    """rho cp V dT/dt = F rho cp (Tf - T) + (-dH) k(T) CA V - UA (T - Tj), integrated over the day from
    the true values (actuators held over each scan, states trapezoidal): what the reactor stored equals
    what flowed in, within 1e-4 of the heat released."""
    d = chem_day
    t, tj, tf, ca, f = (d[f"truth:{k}"] for k in ("TT101", "TT102", "TT100", "AT101", "FT101"))
    heat = 2.4e5 * mid(rate(t) * ca)
    terms = f[:-1] / 3600 * 4.0e6 * (tf[:-1] - mid(t)) + heat - 13333.0 * (mid(t) - mid(tj))
    stored = 4.0e6 * (t[-1] - t[0])
    assert abs(stored - terms.sum()) < 1e-4 * heat.sum()


def test_modes_off_is_the_smooth_plant() -> None:
    d = run("chemical", 12 * HOUR, SMOOTH_CHEMICAL, seed=3, start_ms=6 * HOUR * 1000)
    assert np.all(d["FV101.POS"] == 50.0) and np.all(d["P102"] == 1) and np.all(d["P103"] == 0)
    assert not d["AT101.CAL"].any() and np.all(d["TIC101.SP"] == 350.0)
    p = run("power", 12 * HOUR, SMOOTH_POWER, seed=3, start_ms=6 * HOUR * 1000)
    assert np.all(p["AVR.SP"] == 11.33) and np.all(p["CAP.AUTO"] == 1) and np.all(p["AVR.AUTO"] == 1)


def test_night_voltage_reduction_and_capacitor_clock(power_day: dict[str, np.ndarray]) -> None:
    d = power_day
    sp = d["AVR.SP"]
    assert np.all(sp[: 6 * HOUR] == pytest.approx(11.18)) and np.all(sp[23 * HOUR :] == pytest.approx(11.18))
    assert np.all(np.abs(sp[6 * HOUR : 23 * HOUR] - 11.33) <= 0.1 + 1e-9)  # day target and the dispatcher's trims
    smooth = run("power", DAY, SMOOTH_POWER, seed=3)
    lowered = d["V_B1"][1 * HOUR : 5 * HOUR] - smooth["V_B1"][1 * HOUR : 5 * HOUR]
    assert -0.3 < lowered.mean() < -0.05  # the feeder really runs lower at night (within the AVR's band)
    assert np.mean(d["OLTC.TAP"][1 * HOUR : 5 * HOUR]) < np.mean(smooth["OLTC.TAP"][1 * HOUR : 5 * HOUR])
    day = slice(7 * HOUR, 22 * HOUR)
    assert np.all(d["CAP.AUTO"][day] == 0) and np.all(d["CAP.SW"][day] == 1) and np.all(d["Q_CAP"][day] > 1.0)
    assert np.all(d["CAP.AUTO"][: 7 * HOUR] == 1) and np.all(d["CAP.AUTO"][22 * HOUR :] == 1)
    # the AVR still holds B1 in its band around whatever AVR.SP is, once a change has had time to act
    settled = d["AVR.AUTO"] == 1
    for tag in ("AVR.SP", "AVR.AUTO", "CAP.SW"):  # a change, then the AVR's delays and tap steps
        for change in np.nonzero(np.diff(d[tag]))[0]:
            settled[change : change + 600] = False
    settled[:300] = False
    inside = np.abs(d["V_B1"] - sp) <= sp * 0.01 + 0.05
    assert np.mean(inside[settled]) > 0.99


def test_power_balance_closes_with_the_modes(power_day: dict[str, np.ndarray]) -> None:
    d = power_day
    r_ohm = {"I_FDR": 0.005 * 12.1, "I_L12": 0.25 * 3.0, "I_L23": 0.25 * 2.5, "I_L34": 0.25 * 2.0}
    loss = sum(3 * d[i] ** 2 * r for i, r in r_ohm.items()) / 1e6
    loads = d["P_LD1"] + d["P_LD2"] + d["P_LD3"] + d["P_LD4"]
    assert np.max(np.abs(d["P_SRC"] - loads - loss)) < 1e-5
    assert np.max(np.abs(d["E_SRC"] - d["E_LOAD"] - d["E_LOSS"])) < 1e-9


def test_tap_holds_during_an_inspection() -> None:
    d = run("power", DAY, {"maintenance_rate": 3.0}, seed=5)
    manual = d["AVR.AUTO"] == 0
    assert HOUR <= manual.sum() < 12 * HOUR  # some hours of inspection
    edges = np.nonzero(np.diff(manual.astype(int)))[0]
    for start, end in zip(edges[::2], edges[1::2], strict=False):
        assert 8 * HOUR <= start + 1 < 16 * HOUR and HOUR <= end - start <= 3 * HOUR + 1
        held = d["truth:OLTC.TAP"][start + 11 : end + 1]  # a step under way finishes (tap_delay 10 s)
        assert np.all(held == held[0])


@pytest.mark.parametrize(("plant", "start_h", "scans"), [("chemical", 9.9, 1800), ("power", 6.9, 1800)])
def test_both_back_ends_run_the_modes_alike(plant: str, start_h: float, scans: int) -> None:
    """Scheduled writes, the pump changeover and the calibration act the same on NumPy arrays as on
    floats (instance 0 of a vectorised batch is the scalar run): bit for bit on the reactor; on the
    feeder the schedule's columns exactly and the analogs to the power flow's 1e-8 pu tolerance, as
    its two back ends converge to it along slightly different roundings."""
    params: dict[str, Any] = {"coolant_rotation": 0.1} if plant == "chemical" else {"operator_actions": 50.0}
    results = []
    for vectorised, instances in ((False, 1), (True, 2)):
        sim = make(plant, params, seed=4, instances=instances, vectorised=vectorised,
                   start_ms=round(start_h * HOUR * 1000))
        rows = [np.asarray(sim.scan(), dtype=float).reshape(len(sim.columns), -1)[:, 0] for _ in range(scans)]
        results.append(np.asarray(rows))
    scalar, vector = results
    if plant == "chemical":
        assert np.array_equal(scalar, vector)
        return
    names = make(plant).columns
    for tag in ("AVR.SP", "AVR.AUTO", "CAP.AUTO", "CAP.SW", "OLTC.TAP", "truth:OLTC.TAP"):
        assert np.array_equal(scalar[:, names.index(tag)], vector[:, names.index(tag)]), tag
    assert len(np.unique(scalar[:, names.index("AVR.SP")])) > 1  # a trim did act
    np.testing.assert_allclose(scalar, vector, rtol=0, atol=1e-6)


def test_reruns_are_byte_identical() -> None:
    for plant in ("chemical", "power"):
        request = {"plant": plant, "duration": 1800, "seed": 9, "start_time": "2024-01-01T06:50:00Z"}
        a, b = simulate(request).table, simulate(request).table
        assert a.equals(b) and a.column("FV101.POS" if plant == "chemical" else "CAP.AUTO").to_numpy().std() > 0
