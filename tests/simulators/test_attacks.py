"""Each technique changes what it should, and the labels mark exactly the attack rows.

Every test runs the plant twice with the same seed and noise on: a baseline and an attacked run.
Noise does not depend on the process, so the two runs agree row for row until the attack starts,
and `reading - truth` differs between them by exactly the injected offset.
"""

from __future__ import annotations

import numpy as np
import pyarrow.compute as pc
import pytest

from simulators.attacks.techniques import CATALOGUE, resolve_technique
from simulators.core.sensors import SensorOptions
from simulators.dataset import simulate
from simulators.errors import SimulationParamError

from .helpers import SMOOTH_WATER, attack, run

NOISY = SensorOptions(noise=1.0, drift=1.0)
START, DURATION, SCANS = 600, 300, 1500
WINDOW = slice(START, START + DURATION)


def pair(plant: str, scenario, scans: int = SCANS,
         params: dict | None = None) -> tuple[dict[str, np.ndarray], dict[str, np.ndarray]]:
    base = run(plant, scans, params, sensors=NOISY, seed=11)
    hit = run(plant, scans, params, sensors=NOISY, seed=11, scenarios=[scenario])
    first = int(scenario.start)
    for name in base:  # nothing differs before the attack starts
        assert np.array_equal(base[name][:first], hit[name][:first]), name
    return base, hit


def injected(base, hit, tag: str) -> np.ndarray:
    """Offset added to a reading: (reading - truth) attacked minus the same in the baseline."""
    return (hit[tag] - hit[f"truth:{tag}"]) - (base[tag] - base[f"truth:{tag}"])


def test_view_offset_changes_only_the_view() -> None:
    base, hit = pair("water", attack("manipulation_of_view", START, DURATION, ["LIT101"], 0.5))
    assert np.allclose(hit["LIT101"][WINDOW] - base["LIT101"][WINDOW], 0.5, atol=1e-12)
    for name in base:
        if name != "LIT101":
            assert np.array_equal(base[name], hit[name]), name  # the process never noticed
    assert np.array_equal(base["LIT101"][START + DURATION:], hit["LIT101"][START + DURATION:])


def test_view_can_hide_an_alarm() -> None:
    base, hit = pair("power", attack("manipulation_of_view", START, DURATION, ["CB1"], 0.0))
    assert np.all(hit["CB1"][WINDOW] == 0.0) and np.all(base["CB1"][WINDOW] == 1.0)
    assert np.array_equal(hit["I_FDR"], base["I_FDR"])


def test_spoofed_report_drives_control() -> None:
    base, hit = pair("water", attack("spoof_reporting_message", START, DURATION, ["LIT101"], -0.5))
    assert np.allclose(injected(base, hit, "LIT101")[WINDOW], -0.5, atol=1e-9)
    assert np.array_equal(hit["truth:LIT101"][START], base["truth:LIT101"][START])
    # The PLC believes the tank is low and fills it: the true level rises well above normal.
    assert hit["truth:LIT101"][WINDOW].max() > base["truth:LIT101"][WINDOW].max() + 0.2
    assert np.allclose(injected(base, hit, "LIT101")[START + DURATION:], 0.0, atol=1e-9)


def test_manipulation_of_control_forces_actuator() -> None:
    base, hit = pair("water", attack("manipulation_of_control", START, DURATION, ["P101.SPEED"], 0.0),
                     params=SMOOTH_WATER)
    assert np.all(hit["P101.SPEED"][WINDOW] == 0.0) and np.all(hit["truth:P101.SPEED"][WINDOW] == 0.0)
    assert np.all(hit["truth:FIT101"][START + 1: START + DURATION] == 0.0)
    assert hit["truth:LIT101"][START + DURATION - 1] < base["truth:LIT101"][START + DURATION - 1] - 0.5
    assert hit["P101.SPEED"][START + DURATION] > 0.0  # control is back


def test_cooling_cut_in_the_reactor() -> None:
    base, hit = pair("chemical", attack("manipulation_of_control", START, DURATION, ["TCV102.POS"], 0.0))
    assert np.all(hit["TCV102.POS"][WINDOW] == 0.0)
    assert hit["TT101"][START + DURATION - 1] > base["TT101"][START + DURATION - 1] + 20


def test_modify_parameter_moves_setpoint_then_restores() -> None:
    _base, hit = pair("water", attack("modify_parameter", START, DURATION, ["LIC101.SP"], 4.0))
    assert np.all(hit["LIC101.SP"][WINDOW] == 4.0)
    assert np.all(hit["LIC101.SP"][START + DURATION:] == 3.0)
    assert hit["truth:LIT101"][START + DURATION - 1] > 3.5


def test_unauthorized_command_stops_pump() -> None:
    _base, hit = pair("water", attack("unauthorized_command", START, DURATION, ["P201.RUN"], 0.0))
    assert np.all(hit["P201.RUN"][WINDOW] == 0.0) and np.all(hit["P201"][WINDOW] == 0.0)
    assert np.all(hit["truth:FIT201"][START + 1: START + DURATION] == 0.0)
    assert np.all(hit["PIT201.LO"][START + 1: START + DURATION] == 1.0)
    assert hit["P201.RUN"][START + DURATION] == 1.0


def test_unauthorized_command_on_manual_output() -> None:
    scenario = attack("unauthorized_command", START, DURATION, ["LIC102.AUTO", "FCV102.POS"], [0.0, 90.0])
    _base, hit = pair("water", scenario)
    assert np.all(hit["LIC102.AUTO"][WINDOW] == 0.0)
    assert np.all(hit["FCV102.POS"][WINDOW] == 90.0)


def test_man_in_the_middle_hides_altered_command() -> None:
    base, hit = pair("water", attack("man_in_the_middle", START, DURATION, ["FCV102.POS"], 30.0))
    assert hit["FCV102.POS"][START] == base["FCV102.POS"][START]  # the historian sees the PLC's command
    applied = hit["truth:FCV102.POS"][WINDOW]
    assert np.allclose(applied, np.clip(hit["FCV102.POS"][WINDOW] + 30.0, 0, 100), atol=1e-12)
    assert not np.allclose(hit["truth:FIT102"][WINDOW], base["truth:FIT102"][WINDOW])


def test_man_in_the_middle_inverts_boolean_command() -> None:
    base, hit = pair("chemical", attack("man_in_the_middle", START, DURATION, ["XV103"]))
    assert np.all(hit["XV103"][WINDOW] == 0.0) and np.all(hit["truth:XV103"][WINDOW] == 1.0)
    assert hit["TT101"][START + DURATION - 1] < base["TT101"][START + DURATION - 1] - 5


def test_denial_of_service_stales_readings_and_drops_commands() -> None:
    base, hit = pair("water", attack("denial_of_service", START, DURATION, ["LIT101", "DP201.SPEED"]))
    assert np.all(hit["LIT101"][WINDOW] == base["LIT101"][START - 1])
    assert np.all(hit["DP201.SPEED"][WINDOW] == base["DP201.SPEED"][START - 1])
    assert np.all(hit["truth:DP201.SPEED"][WINDOW] == base["DP201.SPEED"][START - 1])
    assert hit["LIT101"][START + DURATION] != hit["LIT101"][START + DURATION - 1]


def test_sensor_freeze() -> None:
    base, hit = pair("water", attack("sensor_freeze", START, DURATION, ["AIT201"]))
    assert np.all(hit["AIT201"][WINDOW] == base["AIT201"][START - 1])
    assert not np.all(base["AIT201"][WINDOW] == base["AIT201"][START - 1])


def test_replay_plays_back_the_previous_window() -> None:
    base, hit = pair("water", attack("replay", START, DURATION, ["LIT102", "FIT201"]))
    for tag in ("LIT102", "FIT201"):
        assert np.array_equal(hit[tag][WINDOW], base[tag][START - DURATION: START])


def test_replay_loops_when_history_is_short() -> None:
    base, hit = pair("water", attack("replay", 100, 250, ["LIT102"]), scans=400)
    tape = base["LIT102"][:100]
    assert np.array_equal(hit["LIT102"][100:350], np.resize(tape, 250))


def test_ramp_injection() -> None:
    base, hit = pair("water", attack("ramp_injection", START, DURATION, ["FIT101"], 60.0))
    expected = 60.0 * np.arange(1, DURATION + 1) / DURATION
    assert np.allclose(injected(base, hit, "FIT101")[WINDOW], expected, atol=1e-9)


def test_pulse_injection() -> None:
    scenario = attack("pulse_injection", START, DURATION, ["PIT201"], 1.5, period=20.0, duty=0.25)
    base, hit = pair("water", scenario)
    expected = np.where(np.arange(DURATION) % 20 < 5, 1.5, 0.0)
    assert np.allclose(injected(base, hit, "PIT201")[WINDOW], expected, atol=1e-9)


@pytest.mark.parametrize("key", sorted(CATALOGUE))
def test_labels_mark_exactly_the_attack_rows(key: str) -> None:
    spec = CATALOGUE[key]
    targets = {
        "sensor": "LIT101", "actuator": "FCV102.POS", "command": "P201.RUN", "setpoint": "LIC101.SP",
    }
    role = "sensor" if "sensor" in spec.roles else sorted(spec.roles & set(targets))[0]
    tag = targets[role]
    magnitude = None if spec.magnitude == "none" else {"P201.RUN": 0, "LIC101.SP": 3.5}.get(tag, 10.0)
    if key == "manipulation_of_control":
        magnitude = 50.0
    scenarios = [{"technique": spec.attck_id if key == "spoof_reporting_message" else key, "start": 100.5,
                  "duration": 42.0, "targets": [tag], "magnitude": magnitude},
                 {"technique": key, "start": 130, "duration": 30, "targets": [tag], "magnitude": magnitude,
                  "id": "overlap"}]
    table = simulate({"plant": "water", "duration": 300, "seed": 5, "attacks": scenarios}).table
    attack_col = table.column("attack").to_numpy()
    expected = np.zeros(300, dtype=np.int8)
    expected[101:160] = 1  # [100.5, 142.5) -> scans 101..142, plus [130, 160)
    assert np.array_equal(attack_col, expected)
    ids = table.column("attack_id").to_pylist()
    assert ids[100] is None and ids[101] == "A001" and ids[130] == "A001;overlap" and ids[150] == "overlap"
    assert ids[160] is None
    techniques = table.column("technique").to_pylist()
    assert techniques[101] == spec.attck_id and techniques[130] == f"{spec.attck_id};{spec.attck_id}"
    assert table.column("attack_type").to_pylist()[101] == key
    assert pc.sum(table.column("attack")).as_py() == 59


def test_technique_lookup() -> None:
    assert resolve_technique("T0856", "x").key == "spoof_reporting_message"
    assert resolve_technique("freeze", "x").key == "sensor_freeze"
    assert resolve_technique(" t0830 ", "x").key == "man_in_the_middle"
    with pytest.raises(SimulationParamError) as err:
        resolve_technique("T9999", "attacks[0].technique")
    assert err.value.field == "attacks[0].technique"
