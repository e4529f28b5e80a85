"""Attack intensity in physical terms, the stealthy option, and each attack's intended effect and whether
the run reached it (issue 19)."""

from __future__ import annotations

import numpy as np
import pytest

from simulators.attacks.scenario import candidate_targets, parse_mix, plan_scenarios
from simulators.attacks.techniques import CATALOGUE
from simulators.dataset import scenario_fabricate, simulate
from simulators.errors import SimulationParamError
from simulators.plants.water import WaterPlant
from simulators.validation import prepare_scenario_fabricate

from .helpers import SMOOTH_WATER, attack, make

TABLE = WaterPlant.tag_table()


def plan(mix: list[dict], stealthy: bool = False, duration: float = 86_400, seed: int = 3):
    items = parse_mix(mix, TABLE, 0.5, default_stealthy=stealthy)
    return plan_scenarios(TABLE, items, duration, seed, 1.0, control_sensors=frozenset(WaterPlant.CONTROL_SENSORS))


def test_reading_attacks_aim_at_the_sensors_control_acts_on() -> None:
    spec = CATALOGUE["spoof_reporting_message"]
    names = {t.name for t in candidate_targets(spec, TABLE, frozenset(WaterPlant.CONTROL_SENSORS))}
    assert names == {"LIT101", "LIT102"}
    every = {t.name for t in candidate_targets(spec, TABLE)}  # without the plant's list: any measured sensor
    assert {"FIT101", "PIT201"} <= every
    view = {t.name for t in candidate_targets(CATALOGUE["manipulation_of_view"], TABLE,
                                              frozenset(WaterPlant.CONTROL_SENSORS))}
    assert "PIT201" in view  # a view attack is not about the process: any tag may be falsified


def test_visible_intensity_scale() -> None:
    """Default: offsets of (10 + 30 i) % of the transmitter span, 25 % at i = 0.5 (1.375 m on LIT101)."""
    for sc in plan([{"technique": "spoof", "count": 10}]):
        tag = TABLE.by_name[sc.targets[0]]
        assert abs(sc.magnitude[0]) == pytest.approx(0.25 * (tag.high - tag.low))


def test_stealthy_stays_inside_the_normal_band() -> None:
    offsets = plan([{"technique": "spoof", "count": 10}], stealthy=True)
    for sc in offsets:
        lo, hi = TABLE.by_name[sc.targets[0]].normal_range
        assert abs(sc.magnitude[0]) == pytest.approx(0.25 * (hi - lo))
        assert sc.stealthy
    for sc in plan([{"technique": "modify_parameter", "count": 12}], stealthy=True):
        tag = TABLE.by_name[sc.targets[0]]
        lo, hi = tag.normal_range
        assert lo <= sc.magnitude[0] <= hi, sc
        if tag.name == "LIT101.HH":  # the trip limit moves away from the process: protection off
            assert sc.magnitude[0] > 4.5


def test_visible_trip_limits_move_across_the_process() -> None:
    for sc in plan([{"technique": "modify_parameter", "count": 12}]):
        if sc.targets[0] == "LIT101.HH":
            assert sc.magnitude[0] < 2.0  # below the T101 level: the pump trips
        if sc.targets[0] == "LIT102.LL":
            assert sc.magnitude[0] > 4.0


def test_stealthy_attacks_last_longer() -> None:
    loud = plan([{"technique": "ramp", "count": 3}])
    quiet = plan([{"technique": "ramp", "count": 3}], stealthy=True)
    assert np.mean([s.duration for s in quiet]) > 1.5 * np.mean([s.duration for s in loud])


def test_stealthy_option_is_validated_and_recorded() -> None:
    req = prepare_scenario_fabricate({"plant": "water", "duration": 86_400, "mix": [{"technique": "T0856"}],
                                      "stealthy": True})
    assert req.scenarios[0].stealthy and req.contract()["mix"][0]["stealthy"] is True
    mixed = prepare_scenario_fabricate({"plant": "water", "duration": 86_400, "mix": [
        {"technique": "T0856", "stealthy": True}, {"technique": "T0831"}]})
    assert sorted(s.stealthy for s in mixed.scenarios) == [False, True]
    with pytest.raises(SimulationParamError) as bad:
        prepare_scenario_fabricate({"plant": "water", "duration": 86_400, "mix": ["T0856"], "stealthy": "yes"})
    assert bad.value.field == "stealthy"
    with pytest.raises(SimulationParamError) as bad_item:
        prepare_scenario_fabricate({"plant": "water", "duration": 86_400, "mix": [{"technique": "T0856",
                                                                                   "stealthy": 1}]})
    assert bad_item.value.field == "mix[0].stealthy"


def test_a_stopped_intake_is_reached_with_its_evidence() -> None:
    sim = make("water", SMOOTH_WATER, scenarios=[attack("unauthorized_command", 300, 600, ["P101.RUN"], 0.0)])
    for _ in range(1500):
        sim.scan()
    out = sim.attack_outcomes()["A001"]
    assert out["reached"] is True and out["criterion"] == "moved_or_alarm"
    assert out["max_deviation"]["LIT101"] > 1.0  # 600 s without intake, against the same run without the attack
    assert out["first_s"]["LIT101"] < 120 and out["threshold"]["LIT101"] == pytest.approx(0.2)
    assert "P101.RUN" in out["intended"]


def test_an_attack_with_no_effect_is_not_reached() -> None:
    """Holding P201 running while the PLC keeps it running anyway changes nothing."""
    sim = make("water", SMOOTH_WATER, scenarios=[attack("denial_of_service", 300, 300, ["P201"])])
    for _ in range(1000):
        sim.scan()
    out = sim.attack_outcomes()["A001"]
    assert out["reached"] is False and out["alarms"] == [] and max(out["max_deviation"].values()) == 0.0


def test_the_counterfactual_does_not_change_the_run() -> None:
    scenario = attack("spoof_reporting_message", 200, 300, ["LIT101"], 1.0)
    with_tracker = make("water", scenarios=[scenario])
    rows = [with_tracker.scan() for _ in range(900)]
    without = make("water", scenarios=[scenario])
    without.tracker = None
    assert np.array_equal(np.asarray(rows), np.asarray([without.scan() for _ in range(900)]))


def test_stealthy_reached_means_moved_without_alarm() -> None:
    ds = scenario_fabricate({"plant": "water", "duration": 43_200, "seed": 5, "stealthy": True,
                             "mix": [{"technique": "ramp", "count": 3}]})
    for info in ds.manifest["attacks"]:
        effect = info["effect"]
        assert info["stealthy"] and effect["criterion"] == "moved_without_alarm"
        moved = any(effect["max_deviation"][k] >= effect["threshold"][k] for k in effect["threshold"])
        assert effect["reached"] == (moved and not effect["alarms"])


def test_manifest_records_effects_for_every_attack() -> None:
    ds = simulate({"plant": "water", "duration": 2400, "seed": 2, "attacks": [
        {"technique": "T0832", "start": 300, "duration": 300, "targets": ["LIT101"], "magnitude": 1.0},
        {"technique": "T0855", "start": 1200, "duration": 600, "targets": ["P101.RUN"], "magnitude": 0},
    ]})
    view, stop = ds.manifest["attacks"]
    assert view["effect"]["criterion"] == "view_only" and view["effect"]["reached"] is None
    assert stop["effect"]["criterion"] == "moved_or_alarm" and isinstance(stop["effect"]["reached"], bool)
    again = simulate({"plant": "water", "duration": 2400, "seed": 2, "attacks": [
        {"technique": "T0832", "start": 300, "duration": 300, "targets": ["LIT101"], "magnitude": 1.0},
        {"technique": "T0855", "start": 1200, "duration": 600, "targets": ["P101.RUN"], "magnitude": 0},
    ]})
    assert again.manifest["attacks"] == ds.manifest["attacks"]
