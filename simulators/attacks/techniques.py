"""The attack catalogue, mapped to MITRE ATT&CK for ICS.

Each technique acts at one point of the scan, which is what makes its signature in the data:

* `field`: between the sensor and the PLC (the PLC and the historian see the altered reading,
  and control reacts to it);
* `input`: on a writable PLC value (setpoint, parameter, mode, command, manual output), as a
  rogue write would; the PLC logic, interlocks included, still runs on it;
* `command`: between the PLC and the field device (the device does something the PLC did
  not decide);
* `view`: between the PLC and the historian/HMI only (the process is untouched).

`magnitude` says what the scenario's magnitude means: `value` (the value written or forced, in tag
units; 0/1 for booleans), `offset` (added, in tag units) or `none` (unused).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from simulators.errors import SimulationParamError

ALL_ROLES = frozenset({"sensor", "setpoint", "parameter", "mode", "command", "actuator", "status"})


@dataclass(frozen=True)
class Technique:
    key: str
    attck_id: str
    name: str
    stage: str
    roles: frozenset[str]
    magnitude: str
    summary: str
    options: tuple[str, ...] = ()
    aliases: tuple[str, ...] = ()
    analog_only: bool = False
    duration_range: tuple[float, float] = (120.0, 600.0)  # planner: seconds at intensity 0 and 1

    def info(self) -> dict[str, Any]:
        return {
            "key": self.key,
            "technique": self.attck_id,
            "name": self.name,
            "stage": self.stage,
            "target_roles": sorted(self.roles),
            "magnitude": self.magnitude,
            "options": list(self.options),
            "aliases": list(self.aliases),
            "summary": self.summary,
        }


CATALOGUE: dict[str, Technique] = {
    t.key: t
    for t in (
        Technique(
            "manipulation_of_control", "T0831", "Manipulation of Control", "command", frozenset({"actuator"}),
            "value", "The field device is forced to `magnitude` whatever the PLC commands; the historian "
            "shows the forced position.", aliases=("T0831",)),
        Technique(
            "manipulation_of_view", "T0832", "Manipulation of View", "view", ALL_ROLES, "offset",
            "Only what the historian/HMI shows changes: analog tags are offset by `magnitude`, boolean tags "
            "shown as `magnitude`; the process is untouched.", aliases=("T0832",)),
        Technique(
            "modify_parameter", "T0836", "Modify Parameter", "input", frozenset({"setpoint", "parameter"}),
            "value", "A setpoint or limit in the PLC is overwritten with `magnitude` for the duration, then "
            "restored.", aliases=("T0836",), analog_only=True),
        Technique(
            "unauthorized_command", "T0855", "Unauthorized Command Message", "input",
            frozenset({"command", "mode", "actuator"}), "value",
            "A command message writes `magnitude` to a command, mode or manual output; the PLC executes it "
            "(interlocks still apply).", aliases=("T0855",)),
        Technique(
            "spoof_reporting_message", "T0856", "Spoof Reporting Message", "field", frozenset({"sensor"}),
            "offset", "Readings reported to the PLC are offset by `magnitude`; control acts on the false "
            "value.", aliases=("T0856", "spoof"), analog_only=True),
        Technique(
            "man_in_the_middle", "T0830", "Adversary-in-the-Middle", "command", frozenset({"actuator"}),
            "offset", "Commands on the wire are altered (analog + `magnitude`, booleans inverted) while the "
            "historian still shows what the PLC sent.", aliases=("T0830", "mitm")),
        Technique(
            "denial_of_service", "T0814", "Denial of Service", "field+command",
            frozenset({"sensor", "actuator"}), "none",
            "The device stops answering: its readings go stale at the last value and commands to it are "
            "dropped (the actuator holds its last position).", aliases=("T0814", "dos")),
        Technique(
            "sensor_freeze", "T0856", "Sensor freeze (stuck-at)", "field", frozenset({"sensor"}), "none",
            "The reading sticks at its last value before the attack.", aliases=("freeze",),
            analog_only=True),
        Technique(
            "replay", "T0856", "Replay of recorded readings", "field", frozenset({"sensor"}), "none",
            "Readings from the `duration` seconds before the attack are replayed in a loop.",
            aliases=("replay_attack",), analog_only=True),
        Technique(
            "ramp_injection", "T0856", "Ramp injection", "field", frozenset({"sensor"}), "offset",
            "An offset growing linearly from 0 to `magnitude` over the attack is added to the reading.",
            aliases=("ramp",), analog_only=True, duration_range=(300.0, 1200.0)),
        Technique(
            "pulse_injection", "T0856", "Pulse injection", "field", frozenset({"sensor"}), "offset",
            "`magnitude` is added during pulses of `duty` x `period` seconds every `period` seconds "
            "(defaults 10 s, 0.5).", options=("period", "duty"), aliases=("pulse",), analog_only=True),
    )
}

_LOOKUP: dict[str, str] = {}
for _t in CATALOGUE.values():
    _LOOKUP[_t.key.lower()] = _t.key
for _t in CATALOGUE.values():
    for _alias in _t.aliases:
        _LOOKUP.setdefault(_alias.lower(), _t.key)


def resolve_technique(name: Any, field: str) -> Technique:
    """A catalogue key, an alias or an ATT&CK id (T0856 means spoof_reporting_message)."""
    if not isinstance(name, str) or name.strip().lower() not in _LOOKUP:
        known = ", ".join(sorted(CATALOGUE))
        raise SimulationParamError(field, f"unknown technique {name!r}; known: {known} (or their ATT&CK ids)")
    return CATALOGUE[_LOOKUP[name.strip().lower()]]


def catalogue() -> list[dict[str, Any]]:
    return [t.info() for t in CATALOGUE.values()]
