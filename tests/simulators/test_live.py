"""Live single-instance stepping with the tag read/write interface an ICS adapter uses."""

from __future__ import annotations

import threading

import numpy as np
import pytest

from simulators import (
    LivePlant,
    ReadOnlyTagError,
    SimulationParamError,
    TagValueError,
    UnknownTagError,
    simulate,
)

from .helpers import SMOOTH_WATER


def test_tags_describe_units_ranges_and_writability() -> None:
    plant = LivePlant("water")
    tags = {t["name"]: t for t in plant.tags()}
    assert tags["LIT101"] == {**tags["LIT101"], "unit": "m", "kind": "analog", "writable": False, "role": "sensor"}
    assert tags["LIC101.SP"]["writable"] and tags["P101.RUN"]["kind"] == "bool"
    assert tags["P101.SPEED"]["writable"] and not tags["P101"]["writable"]
    assert set(plant.read()) == set(tags)
    assert plant.time == 0.0 and plant.timestamp == "2024-01-01T00:00:00.000Z"


def test_live_matches_batch() -> None:
    batch = simulate({"plant": "chemical", "duration": 50, "seed": 4}).table
    plant = LivePlant("chemical", seed=4)
    for k in range(50):
        values = plant.read()
        for name in ("TT101", "AT101", "TCV102.POS", "SIS.TRIP"):
            assert float(values[name]) == pytest.approx(batch.column(name)[k].as_py(), abs=1e-12)
        plant.step()
    assert plant.time == 50.0


def test_write_setpoint_takes_effect() -> None:
    plant = LivePlant("water", {"demand_variability": 0.0, **SMOOTH_WATER}, sensors={"noise": 0})
    assert plant.write("LIC101.SP", 3.6) == 3.6
    assert plant.read_tag("LIC101.SP") == 3.6  # readable at once
    plant.advance(1200)
    assert plant.read_tag("LIT101") == pytest.approx(3.6, abs=0.05)
    assert plant.time == 1200.0


def test_write_commands_and_manual_outputs() -> None:
    plant = LivePlant("water", sensors={"noise": 0})
    plant.write_many({"P201.RUN": 0, "LIC102.AUTO": False, "FCV102.POS": 10})
    plant.step(2)
    v = plant.read()
    assert v["P201"] is False and v["FIT201"] == 0.0 and v["FCV102.POS"] == 10.0
    plant.write("RESET", True)
    assert plant.read_tag("RESET") is True
    plant.step()
    assert plant.read_tag("RESET") is False  # momentary: the PLC clears it


def test_actuator_write_in_auto_is_overridden() -> None:
    plant = LivePlant("water")
    plant.write("P101.SPEED", 5.0)
    plant.step()
    assert plant.read_tag("P101.SPEED") > 20.0


@pytest.mark.parametrize(("name", "value", "error"), [
    ("NOPE", 1.0, UnknownTagError),
    ("LIT101", 1.0, ReadOnlyTagError),
    ("P101", True, ReadOnlyTagError),
    ("LIC101.SP", 99.0, TagValueError),
    ("LIC101.SP", "high", TagValueError),
    ("LIC101.SP", float("inf"), TagValueError),
    ("LIC101.SP", True, TagValueError),
    ("P101.RUN", 2, TagValueError),
])
def test_bad_writes(name: str, value: object, error: type[Exception]) -> None:
    plant = LivePlant("water")
    before = plant.read()
    with pytest.raises(error) as err:
        plant.write(name, value)
    assert isinstance(err.value, SimulationParamError) and err.value.field == name
    with pytest.raises(error):
        plant.write_many({"P101.RUN": False, name: value})
    assert plant.read() == before  # nothing written


def test_constructor_validation() -> None:
    with pytest.raises(SimulationParamError) as err:
        LivePlant("water", {"bogus": 1})
    assert err.value.field == "params.bogus"
    with pytest.raises(SimulationParamError):
        LivePlant("moon")
    with pytest.raises(SimulationParamError):
        LivePlant("water", scan_period=0)


def test_live_attack_schedule() -> None:
    plant = LivePlant("power", attacks=[{"technique": "T0855", "start": 5, "duration": 5, "targets": ["CB1.CMD"],
                                         "magnitude": 0}])
    plant.step(5)
    snap = plant.snapshot()
    assert snap["active_attacks"] == ["A001"] and snap["values"]["CB1"] is False
    plant.step(6)
    assert plant.snapshot()["active_attacks"] == [] and plant.read_tag("CB1") is True


def test_threads_can_read_while_stepping() -> None:
    plant = LivePlant("power", scan_period=0.5)
    errors: list[BaseException] = []

    def reader() -> None:
        try:
            for _ in range(200):
                values = plant.read()
                assert np.isfinite(values["V_B1"])
                plant.write("AVR.SP", 11.2)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=reader) for _ in range(3)]
    for t in threads:
        t.start()
    plant.step(300)
    for t in threads:
        t.join()
    assert not errors and plant.time == 150.0
