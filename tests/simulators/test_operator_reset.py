"""The simulated operator (`operator_reset`) of the power and chemical plants: a lockout or trip stays
latched while its cause persists, the operator presses RESET `operator_reset` s after the cause has
cleared, and with `operator_reset` 0 nobody does."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.core.ops import ScalarOps
from simulators.core.plc import OperatorReset

from .helpers import attack, run

POWER_FLAT = {"load_amplitude": 0.0, "load_variability": 0.0, "grid_variability": 0.0, "grid_voltage_amplitude": 0.0}
CHEM_FLAT = {"feed_variability": 0.0, "feed_temp_variability": 0.0, "coolant_temp_amplitude": 0.0}


def test_operator_presses_reset_once_a_cause_has_been_clear_for_the_delay() -> None:
    operator = OperatorReset(ScalarOps(), 1.0, 3.0, 2)
    seen = []
    for clear in (False, True, True, True, True):
        operator.watch(0, clear)
        operator.watch(1, False)
        seen.append(operator.writes())
    assert seen == [[], [], [], [], [(0, "RESET", 1.0)]]  # clear at scan 1, due 3 s later
    nobody = OperatorReset(ScalarOps(), 1.0, 0.0, 1)
    for _ in range(5):
        nobody.watch(0, True)
        assert nobody.writes() == []


def test_chemical_trip_holds_while_its_cause_persists_then_the_operator_resets_it() -> None:
    """PT101.HH written below the running pressure for 2000 s: the trip holds all that time (longer than
    `operator_reset`); 600 s after the limit is restored the operator's RESET releases it."""
    writes = {60: {"PT101.HH": 1.2}, 2000: {"PT101.HH": 3.0}}
    d = run("chemical", 3000, {**CHEM_FLAT, "operator_reset": 600}, writes=writes)
    trip = d["SIS.TRIP"]
    assert trip[59] == 0 and np.all(trip[60:2600] == 1)
    released = 2000 + int(np.argmin(trip[2000:]))
    assert trip[-1] == 0 and released == pytest.approx(2601, abs=2)
    assert d["FV101.POS"][-1] == 50.0 and d["XV103"][-1] == 0.0  # feed back, emergency cooling shut
    nobody = run("chemical", 3000, {**CHEM_FLAT, "operator_reset": 0}, writes=writes)
    assert np.all(nobody["SIS.TRIP"][60:] == 1)


def test_chemical_default_operator_matches_water() -> None:
    from simulators.plants.chemical import ChemicalPlant
    from simulators.plants.power import PowerPlant
    from simulators.plants.water import WaterPlant

    defaults = {cls.name: {p.name: p.default for p in cls.PARAMS}["operator_reset"]
                for cls in (WaterPlant, PowerPlant, ChemicalPlant)}
    assert defaults == {"water": 600.0, "power": 600.0, "chemical": 600.0}


def test_recloser_lockout_holds_while_the_over_current_persists_then_the_operator_resets_it() -> None:
    """OC.PICKUP written below the load (scans 100-800): three reclosures, then lockout. I_FDR reported
    1000 A high from scan 350 to 2100 (over the pickup with CB1 open): the lockout holds as long as the
    over-current shows, and the operator closes CB1 in 600 s after it is gone."""
    spoof = attack("spoof_reporting_message", 350, 1750, ["I_FDR"], 1000.0)
    writes = {100: {"OC.PICKUP": 100.0}, 800: {"OC.PICKUP": 600.0}}
    d = run("power", 2900, {**POWER_FLAT, "operator_reset": 600}, scenarios=[spoof], writes=writes)
    lockout, cb = d["CB1.LOCKOUT"], d["CB1"]
    first = int(np.argmax(lockout))
    assert 100 < first < 350 and np.all(lockout[first:2700] == 1) and np.all(cb[first:2700] == 0)
    released = 2100 + int(np.argmin(lockout[2100:]))
    assert released == pytest.approx(2701, abs=3)
    assert lockout[-1] == 0 and cb[-1] == 1 and d["I_FDR"][-1] > 50.0  # the feeder is back on load
    nobody = run("power", 2900, {**POWER_FLAT, "operator_reset": 0}, scenarios=[spoof], writes=writes)
    assert nobody["CB1.LOCKOUT"][-1] == 1 and nobody["CB1"][-1] == 0


def test_tap_lockout_is_reset_after_its_operations_have_drained() -> None:
    """A forced tap hunts the mechanism into lockout; the lockout's cause (the excess of operations)
    drains to half the allowance, then the operator resets it after `operator_reset` and the AVR moves
    the tap again. With nobody there it stays locked out."""
    forced = attack("manipulation_of_control", 300, 300, ["OLTC.TAP"], -8.0)
    params = {**POWER_FLAT, "tap_max_ops": 5, "tap_ops_window": 600, "operator_reset": 600}
    d = run("power", 2400, params, scenarios=[forced])
    lockout, tap = d["OLTC.LOCKOUT"], d["truth:OLTC.TAP"]
    first = int(np.argmax(lockout))
    released = first + int(np.argmin(lockout[first:]))
    assert first < 600 and released > first + 600 and lockout[-1] == 0
    # The status row shows the lockout a scan after the mechanism: it stops, and moves again once reset.
    assert np.all(tap[first + 1:released - 1] == tap[first + 1]) and tap[-1] != tap[first + 1]
    nobody = run("power", 2400, {**params, "operator_reset": 0}, scenarios=[forced])
    assert nobody["OLTC.LOCKOUT"][-1] == 1
