"""What `lift` knows about the public datasets' conventions, and units inferred from value ranges.

* Conventions: a table is `swat`-shaped when it carries SWaT's `Normal/Attack` label or ` Timestamp`
  column, or several of SWaT's own tag names (MV101, LIT301, DPIT301, ...); `hai`-shaped when most
  tag names are `P<n>_...` (HAI names its columns per process: P1_FT01, P1_B2004, P2_SIT01); `native`
  otherwise (this package's names, or any historian's).
* Names: a HAI column becomes the ISA name it abbreviates (P1_LIT01 -> LIT101, P2_PP01 -> P201,
  P1_LIC01_SP -> LIC101.SP), and a SWaT-profile column the tag it came from (P101_SPEED ->
  P101.SPEED, FCV102 -> FCV102.POS, AIT204 -> AIT201 on the water plant). ISA letter synonyms match
  too (FT = FIT, LT = LIT, TIT = TT, ...), so HAI's P1_FT01 finds a plant's FT101 or FIT101.
* SWaT's own analysers are not ours: its AIT201 is NaCl conductivity (uS/cm), AIT202 pH, AIT203 ORP
  (mV); so in a SWaT-shaped table AIT201 is conductivity and maps to no plant tag, whatever its name.
* Units from ranges: a column mapped to a plant tag whose values do not fit that tag's range in the
  plant's unit is tried in the unit's usual alternatives (mm for m, kPa for bar, degC for K, ...);
  the one that fits is the column's unit, with the conversion to the plant's unit. SWaT's on/off
  codes (1 off, 2 on) fit a boolean tag by `value - 1`.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from simulators.core.tags import TagSpec

# SWaT's analysers and pressure transmitters (Goh et al. 2016, the SWaT data sheet).
SWAT_ANALYSERS = {
    "AIT201": ("uS/cm", "NaCl conductivity"), "AIT202": ("pH", "HCl dosing pH"), "AIT203": ("mV", "NaOCl ORP"),
    "AIT401": ("ppm", "hardness"), "AIT402": ("mV", "ORP"), "AIT501": ("pH", "pH"), "AIT502": ("mV", "ORP"),
    "AIT503": ("uS/cm", "conductivity"), "AIT504": ("uS/cm", "conductivity"),
}
SWAT_PRESSURES = {"DPIT301", "PIT501", "PIT502", "PIT503"}
SWAT_ONLY_NAMES = {"MV101", "MV201", "MV301", "LIT301", "LIT401", "DPIT301", "FIT301", "FIT401", "FIT501", "UV401",
                   "P301", "P401", "P501", "AIT202", "AIT203", "AIT501"}
SWAT_LABELS = {"normal/attack"}
SWAT_TIME = "Timestamp"
# The water plant's chlorine analyser leaves AIT201 to SWaT's conductivity in the swat profile.
SWAT_PROFILE_RENAMES = {"AIT204": "AIT201"}
HAI_NAME = re.compile(r"^P(\d)_([A-Z]+)(\d{2})(?:_(.+))?$", re.IGNORECASE)
HAI_LABEL = re.compile(r"^attack[_.]p\d+$", re.IGNORECASE)
ISA_SYNONYMS = (("FIT", "FT"), ("LIT", "LT"), ("PIT", "PT"), ("TIT", "TT"), ("AIT", "AT"))
# Plant unit -> alternatives a dataset may use: (unit, scale, offset) with plant = data * scale + offset.
UNIT_ALTERNATIVES: dict[str, tuple[tuple[str, float, float], ...]] = {
    "m": (("mm", 0.001, 0.0), ("cm", 0.01, 0.0)),
    "bar": (("kPa", 0.01, 0.0), ("psi", 0.0689476, 0.0), ("MPa", 10.0, 0.0)),
    "K": (("degC", 1.0, 273.15),),
    "degC": (("K", 1.0, -273.15),),
    "kV": (("V", 0.001, 0.0),),
    "A": (("kA", 1000.0, 0.0),),
    "MW": (("kW", 0.001, 0.0),),
    "Mvar": (("kvar", 0.001, 0.0),),
    "m3/h": (("L/s", 3.6, 0.0), ("L/min", 0.06, 0.0)),
    "mol/m3": (("mol/L", 1000.0, 0.0),),
}
RANGE_SLACK = 0.05  # share of a tag's span a column may run past its ends and still fit


def norm(name: str) -> str:
    return re.sub(r"[^A-Z0-9]", "", name.upper())


def detect(time_column: str, label_names: Iterable[str], tag_names: list[str]) -> str:
    """`swat`, `hai` or `native` (module docstring)."""
    labels = {n.strip().lower() for n in label_names}
    upper = {n.strip().upper() for n in tag_names}
    if labels & SWAT_LABELS or (time_column.strip() == SWAT_TIME and time_column != SWAT_TIME):
        return "swat"
    if len(upper & SWAT_ONLY_NAMES) >= 3:
        return "swat"
    hai = sum(1 for n in tag_names if HAI_NAME.match(n.strip()) or re.match(r"^P\d_", n.strip()))
    return "hai" if tag_names and hai >= 0.5 * len(tag_names) else "native"


def is_label(name: str) -> bool:
    """HAI's per-process labels (attack_P1, attack.P2) are labels, not tags."""
    return bool(HAI_LABEL.match(name.strip()))


def _synonyms(key: str) -> list[str]:
    out = [key]
    for long, short in ISA_SYNONYMS:
        if key.startswith(long):
            out.append(short + key[len(long):])
        elif key.startswith(short) and not key.startswith(long):
            out.append(long + key[len(short):])
    return out


def aliases(name: str, convention: str) -> list[str]:
    """Normalised keys under which column `name` may match a plant tag, best first; [] for none."""
    raw = name.strip()
    if convention == "swat":
        if raw.upper() in SWAT_ANALYSERS:
            return []  # SWaT's analysers measure other quantities than ours
        raw = SWAT_PROFILE_RENAMES.get(raw.upper(), raw)
        base = norm(raw)
        return [*_synonyms(base), *(_synonyms(base + "POS"))]
    if convention == "hai":
        m = HAI_NAME.match(raw)
        if m:
            process, letters, loop, suffix = m.groups()
            letters = "P" if letters.upper() == "PP" else letters.upper()
            base = f"{letters}{process}{loop}"
            return [k + norm(suffix or "") for k in _synonyms(base)]
        return [norm(re.sub(r"^P\d_", "", raw))]
    return _synonyms(norm(raw))


def fit_conversion(spec: TagSpec, info: dict[str, Any]) -> dict[str, Any] | None:
    """The unit and conversion under which a profiled column fits plant tag `spec`'s range; None if none.

    Identity first (a column already in the plant's unit), then the alternatives of that unit."""
    low, high = info.get("p01"), info.get("p99")
    if low is None or high is None:
        return None
    if spec.is_bool:
        distinct = {info.get("min"), info.get("max")}
        if distinct <= {0.0, 1.0}:
            return {"unit": "", "scale": 1.0, "offset": 0.0}
        if distinct <= {1.0, 2.0}:
            return {"unit": "code 1 off / 2 on", "scale": 1.0, "offset": -1.0}
        return None
    slack = RANGE_SLACK * (spec.high - spec.low)
    for unit, scale, offset in ((spec.unit, 1.0, 0.0), *UNIT_ALTERNATIVES.get(spec.unit, ())):
        lo, hi = low * scale + offset, high * scale + offset
        if spec.low - slack <= lo and hi <= spec.high + slack:
            return {"unit": unit, "scale": scale, "offset": offset}
    return None


def unit_by_range(name: str, info: dict[str, Any], convention: str) -> tuple[str, str] | None:
    """(unit, quantity) of a column no plant tag explains, from its name's class and its values."""
    key = norm(name)
    if convention == "swat":
        if key in SWAT_ANALYSERS:
            return SWAT_ANALYSERS[key]
        if key in SWAT_PRESSURES:
            return "kPa", "pressure"
        if key.startswith("LIT"):
            return "mm", "level"
        if key.startswith("FIT"):
            return "m3/h", "flow"
        if re.match(r"^(MV|P|UV)\d{3}$", key):
            return "state", "SWaT state code (pumps 1 off / 2 on; valves 0 moving / 1 closed / 2 open)"
    mean = info.get("mean")
    if mean is None or info.get("type") != "analog":
        return None
    key = re.sub(r"^P\d(?=[A-Z])", "", key)
    if key.startswith(("LIT", "LT", "LI")):
        return ("mm", "level") if abs(mean) > 50 else ("m", "level")
    if key.startswith(("PIT", "PT", "PI")):
        return ("kPa", "pressure") if abs(mean) > 50 else ("bar", "pressure")
    if key.startswith(("TIT", "TT", "TI")):
        return ("K", "temperature") if mean > 200 else ("degC", "temperature")
    if key.startswith(("FIT", "FT", "FI")):
        return "m3/h", "flow"
    return None
