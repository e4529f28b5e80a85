"""Lift raw historian telemetry into a typed world state that can seed a simulation.

Input: a table with a time column and one column per tag (CSV or Parquet exports of a historian,
SCADA logs, HAI/SWaT-style datasets, or this package's own output). Output: a JSON-ready dict with

* the time base: start/end, sample period and rate, regularity, gaps, duplicates;
* every tag: type (analog, bool, discrete, text), unit (from Arrow field metadata, the column
  name, or the matched plant), range and summary statistics, first/last value;
* label columns (attack/label/Normal-Attack, HAI's attack_P<n>) recognised and kept apart from tags;
* the dataset convention (`swat`, `hai` or `native`, see `lift_conventions`): SWaT- and HAI-shaped
  names are read as those sets mean them, and units are inferred from value ranges (a SWaT LIT101
  near 800 is millimetres, its AIT201 conductivity);
* the closest plant model, by tag-name overlap (with a range check in the inferred units) or,
  failing that, by the mix of measurement kinds in the names; and, when one fits, `seed`: plant
  parameters initialised from the last observed values (converted to the plant's units) plus a
  ready `simulate` request continuing the data.
"""

from __future__ import annotations

import math
import os
import re
from collections import Counter
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from simulators import lift_conventions as conv
from simulators.core.tags import TagSpec
from simulators.errors import SimulationParamError
from simulators.plants.registry import PLANTS
from simulators.validation import format_ms

TIME_NAMES = ("timestamp", "time", "datetime", "date_time", "date", "ts", "t_stamp", "time_stamp")
LABEL_NAMES = {"attack", "attack_id", "technique", "attack_type", "label", "labels", "normal/attack", "anomaly",
               "attack_label"}
UNIT_PATTERNS = (re.compile(r"\[([^\]]{1,12})\]\s*$"), re.compile(r"\(([^)]{1,12})\)\s*$"))
UNIT_SUFFIXES = {
    "kv": "kV", "v": "V", "a": "A", "ka": "kA", "mw": "MW", "kw": "kW", "mvar": "Mvar", "kvar": "kvar",
    "degc": "degC", "c": "degC", "k": "K", "bar": "bar", "kpa": "kPa", "psi": "psi", "m": "m", "m3h": "m3/h",
    "m3": "m3", "lps": "L/s", "pct": "%", "percent": "%", "mgl": "mg/L", "hz": "Hz", "rpm": "rpm", "mwh": "MWh",
}
# ISA first letters (and power-system prefixes) -> measured quantity, used when names do not match.
CLASS_PREFIXES = (
    ("LI", "level"), ("LT", "level"), ("FI", "flow"), ("FT", "flow"), ("FQ", "flow"), ("PI", "pressure"),
    ("PT", "pressure"), ("AI", "analysis"), ("AT", "analysis"), ("TI", "temperature"), ("TT", "temperature"),
    ("V", "voltage"), ("I", "current"), ("P", "power"), ("Q", "power"), ("E", "energy"),
)
MATCH_THRESHOLD = 0.3


_norm = conv.norm


def _load(data: Any) -> tuple[pd.DataFrame, dict[str, str]]:
    """DataFrame plus units found in Arrow field metadata."""
    units: dict[str, str] = {}
    if isinstance(data, str | os.PathLike):
        path = os.fspath(data)
        if path.lower().endswith((".parquet", ".pq")):
            import pyarrow.parquet as pq

            data = pq.read_table(path)
        elif path.lower().endswith((".csv", ".csv.gz", ".txt")):
            return pd.read_csv(path), units
        else:
            raise SimulationParamError("table", "a file must be .csv or .parquet")
    if isinstance(data, pa.RecordBatch):
        data = pa.Table.from_batches([data])
    if isinstance(data, pa.Table):
        for field in data.schema:
            meta = field.metadata or {}
            if meta.get(b"unit"):
                units[field.name] = meta[b"unit"].decode()
        return data.to_pandas(), units
    if isinstance(data, pd.DataFrame):
        return data, units
    raise SimulationParamError("table", "must be a pyarrow Table, a pandas DataFrame or a .csv/.parquet path")


def _find_time(df: pd.DataFrame) -> tuple[str, pd.Series]:
    named = [c for c in df.columns if str(c).strip().lower() in TIME_NAMES]
    typed = [c for c in df.columns if pd.api.types.is_datetime64_any_dtype(df[c])]
    for col in [*typed, *named]:
        series = df[col]
        if pd.api.types.is_datetime64_any_dtype(series):
            parsed = pd.to_datetime(series, utc=True)
        elif pd.api.types.is_numeric_dtype(series):
            values = pd.to_numeric(series, errors="coerce")
            unit = "ms" if values.abs().median() > 1e11 else "s"
            parsed = pd.to_datetime(values, unit=unit, utc=True, errors="coerce")
        else:
            text = series.astype(str).str.strip()
            parsed = pd.to_datetime(text, utc=True, errors="coerce", format="mixed", dayfirst=_day_first(text))
        if parsed.notna().mean() >= 0.95:
            return str(col), parsed
    raise SimulationParamError("table", "no timestamp column: name one timestamp/time or give it a datetime type")


def _day_first(text: pd.Series) -> bool:
    """Whether d/m/y dates are day first: SWaT writes 22/12/2015; a first field above 12 settles it, and a
    second field above 12 settles it the other way (US order). Ambiguous tables read day first."""
    parts = text.head(5000).str.extract(r"^(\d{1,2})/(\d{1,2})/\d{4}").dropna().astype(int)
    if parts.empty:
        return False
    return not (parts[1] > 12).any() or bool((parts[0] > 12).any())


def _time_base(ts: pd.Series) -> dict[str, Any]:
    ns = pd.DatetimeIndex(ts.dropna()).as_unit("ns").asi8
    out: dict[str, Any] = {
        "start": format_ms(int(ns.min() // 1_000_000)) if len(ns) else None,
        "end": format_ms(int(ns.max() // 1_000_000)) if len(ns) else None,
        "duration_s": float((ns.max() - ns.min()) / 1e9) if len(ns) else 0.0,
        "unparsed": int(ts.isna().sum()),
        "monotonic": bool(np.all(np.diff(ns) >= 0)),
    }
    diffs = np.diff(np.sort(ns)) / 1e9
    positive = diffs[diffs > 0]
    out["duplicates"] = int(np.sum(diffs == 0))
    if len(positive):
        period = float(np.median(positive))
        out["sample_period_s"] = period
        out["sample_rate_hz"] = 1.0 / period
        out["regular"] = bool(np.mean(np.abs(positive - period) <= 0.01 * period) >= 0.99)
        out["jitter_s"] = float(np.std(positive))
        out["gaps"] = int(np.sum(positive > 1.5 * period))
    else:
        out.update(sample_period_s=None, sample_rate_hz=None, regular=False, jitter_s=None, gaps=0)
    return out


def _unit_from_name(name: str) -> str | None:
    for pattern in UNIT_PATTERNS:
        m = pattern.search(name)
        if m:
            return m.group(1).strip()
    tail = re.split(r"[_\s.\-]", name.strip())[-1].lower().replace("/", "")
    return UNIT_SUFFIXES.get(tail) if tail != name.strip().lower() else None


def _num(x: Any) -> Any:
    if x is None:
        return None
    if isinstance(x, np.bool_ | bool):
        return bool(x)
    if isinstance(x, np.integer):
        return int(x)
    if isinstance(x, np.floating | float):
        return float(x) if math.isfinite(float(x)) else None
    return x


def _profile(name: str, series: pd.Series) -> dict[str, Any]:
    info: dict[str, Any] = {"name": name, "missing": float(series.isna().mean())}
    values = series.dropna()
    if series.dtype == bool:
        numeric: pd.Series | None = values.astype(float)
    elif pd.api.types.is_numeric_dtype(series):
        numeric = values.astype(float)
    else:
        coerced = pd.to_numeric(values, errors="coerce")
        numeric = coerced.dropna().astype(float) if len(values) and coerced.notna().mean() >= 0.99 else None
    if numeric is None or not len(numeric):
        info.update(type="text", distinct=int(values.nunique()),
                    top=[str(v) for v in values.value_counts().index[:5]],
                    first=str(values.iloc[0]) if len(values) else None,
                    last=str(values.iloc[-1]) if len(values) else None)
        return info
    arr = numeric.to_numpy()
    distinct = np.unique(arr)
    if series.dtype == bool or set(distinct.tolist()) <= {0.0, 1.0}:
        kind = "bool"
    elif np.all(arr == np.round(arr)) and len(distinct) <= 20:
        kind = "discrete"
    else:
        kind = "analog"
    info.update(
        type=kind,
        distinct=len(distinct),
        constant=bool(len(distinct) == 1),
        min=_num(arr.min()),
        max=_num(arr.max()),
        mean=_num(arr.mean()),
        std=_num(arr.std()),
        p01=_num(np.percentile(arr, 1)),
        p99=_num(np.percentile(arr, 99)),
        first=_num(arr[0]),
        last=_num(arr[-1]),
    )
    if kind == "bool":
        info["true_fraction"] = _num(arr.mean())
    return info


def _class_of(name: str) -> str | None:
    n = _norm(name)
    n = re.sub(r"^P\d+", "", n) if re.match(r"^P\d+[A-Z]", n) else n  # HAI-style "P1_LIT01" stage prefix
    for prefix, cls in CLASS_PREFIXES:
        if n.startswith(prefix):
            return cls
    return None


def _name_map(tags: list[dict[str, Any]], table: Any, convention: str) -> dict[str, str]:
    """Column -> plant tag, each plant tag taken by the first column whose aliases name it."""
    plant_norm = {_norm(t.name): t.name for t in table.columns}
    mapping: dict[str, str] = {}
    taken: set[str] = set()
    for t in tags:
        for key in conv.aliases(t["name"], convention):
            tag_name = plant_norm.get(key)
            if tag_name is not None and tag_name not in taken:
                mapping[t["name"]] = tag_name
                taken.add(tag_name)
                break
    return mapping


def _plant_scores(tags: list[dict[str, Any]], convention: str = "native") -> list[dict[str, Any]]:
    by_name = {t["name"]: t for t in tags}
    observed = Counter(c for t in tags if (c := _class_of(t["name"])))
    out: list[dict[str, Any]] = []
    for cls in PLANTS.values():
        table = cls.tag_table()
        mapping = _name_map(tags, table, convention)
        in_range = [
            conv.fit_conversion(spec, by_name[col]) is not None
            for col, tag_name in mapping.items()
            if (spec := table.by_name[tag_name]).kind == "analog" and by_name[col].get("mean") is not None
        ]
        # SWaT publishes sensors and actuators only: judge its coverage on those, not on setpoints and alarms.
        universe = [*table.sensors, *table.actuators] if convention == "swat" else table.columns
        coverage = len({tag for tag in mapping.values() if tag in {u.name for u in universe}}) / len(universe)
        precision = len(mapping) / max(1, len(tags))
        range_ok = float(np.mean(in_range)) if in_range else 0.0
        score = 0.6 * coverage + 0.25 * precision + 0.15 * range_ok if mapping else 0.0
        basis = "names" if mapping else None
        if not mapping and observed:
            expected = Counter(c for t in table.sensors if (c := _class_of(t.name)))
            keys = sorted(set(observed) | set(expected))
            a = np.array([observed[k] for k in keys], float)
            b = np.array([expected[k] for k in keys], float)
            cosine = float(a @ b / (np.linalg.norm(a) * np.linalg.norm(b))) if a.any() and b.any() else 0.0
            score, basis = 0.5 * cosine, "signature"
        out.append({"plant": cls.name, "score": round(score, 4), "basis": basis, "matched_tags": len(mapping),
                    "coverage": round(coverage, 4), "range_ok": round(range_ok, 4), "tag_map": mapping})
    out.sort(key=lambda c: (-c["score"], c["plant"]))
    return out


def _seed(plant: str, tags: list[dict[str, Any]], tag_map: dict[str, str], time: dict[str, Any]) -> dict[str, Any]:
    cls = PLANTS[plant]
    table = cls.tag_table()
    specs = {p.name: p for p in cls.PARAMS}
    by_name = {t["name"]: t for t in tags}
    params: dict[str, float] = {}
    initial: dict[str, Any] = {}
    for col, tag_name in sorted(tag_map.items()):
        spec: TagSpec = table.by_name[tag_name]
        last = by_name[col].get("last")
        if last is None or isinstance(last, str):
            continue
        to_plant = by_name[col].get("to_plant")
        if to_plant is not None:
            last = float(last) * to_plant["scale"] + to_plant["offset"]
        initial[tag_name] = last
        if spec.init_param and spec.init_param in specs:
            p = specs[spec.init_param]
            params[p.name] = float(min(max(float(last), p.low), p.high))
    request: dict[str, Any] = {"plant": plant, "params": params, "seed": 0}
    period = time.get("sample_period_s")
    if period:
        rate = 1.0 / period
        request["sample_rate"] = rate if abs(1000.0 / rate - round(1000.0 / rate)) < 1e-6 else 1.0
    if time.get("duration_s"):
        request["duration"] = max(1.0, float(time["duration_s"]))
    return {"plant": plant, "params": params, "initial_values": initial, "simulate": request}


def _prepare_frame(data: Any) -> tuple[pd.DataFrame, dict[str, str]]:
    """Load the table and make the time a column: historian exports often index by time, and the
    time column is found among the columns. An empty table cannot be lifted, so it fails here."""
    df, meta_units = _load(data)
    if isinstance(df.index, pd.DatetimeIndex):
        df = df.reset_index()
    if df.shape[0] == 0 or df.shape[1] == 0:
        raise SimulationParamError("table", "is empty")
    return df, meta_units


def _first_instance(df: pd.DataFrame, ts: pd.Series, time_col: str) -> tuple[pd.DataFrame, dict[str, Any], Any]:
    """Rows of the first instance only, with its time base, plus the instance column (None if absent).

    Multi-instance exports (this package's own fleet output) interleave several runs of one plant; mixing
    them would break the time base and the last values the seed starts from, so the first one stands for all.
    """
    instance_col = next((c for c in df.columns if str(c).lower() == "instance"), None)
    if instance_col is None:
        return df, {"column": time_col, **_time_base(ts)}, None
    first = df[instance_col] == df[instance_col].iloc[0]
    time = {"column": time_col, **_time_base(ts[first]), "instances": int(df[instance_col].nunique())}
    return df[first], time, instance_col


def _label_info(name: str, series: pd.Series) -> dict[str, Any]:
    """A label column, summarised by its values: labels describe the rows, they are not measurements."""
    return {"name": name, "distinct": int(series.nunique()),
            "values": [str(v) for v in series.dropna().value_counts().index[:10]]}


def _tag_info(name: str, series: pd.Series, meta_units: dict[str, str]) -> dict[str, Any]:
    """A tag's profile plus its unit, preferring Arrow metadata (stated by the exporter) over the name."""
    info = _profile(name, series)
    unit = meta_units.get(name) or _unit_from_name(name)
    source = ("metadata" if name in meta_units else "name") if unit else None
    info["unit"], info["unit_source"] = unit, source
    return info


def _labels_and_tags(df: pd.DataFrame, skip: tuple[Any, ...],
                     meta_units: dict[str, str]) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Every column but `skip` (time, instance), in table order, as a label or as a profiled tag."""
    labels, tags = [], []
    for col in df.columns:
        if col in skip:
            continue
        name = str(col)
        if name.strip().lower() in LABEL_NAMES or conv.is_label(name):
            labels.append(_label_info(name, df[col]))
        else:
            tags.append(_tag_info(name, df[col], meta_units))
    return labels, tags


def _accepted_match(candidates: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The best candidate if it is good enough to name: a score over the threshold and, for a match by
    names, at least three matched tags (one or two shared names are coincidence, not a plant)."""
    best = candidates[0] if candidates else None
    if best and best["score"] >= MATCH_THRESHOLD and (best["basis"] == "signature" or best["matched_tags"] >= 3):
        return best
    return None


def _annotate_with_plant(tags: list[dict[str, Any]], match: dict[str, Any]) -> None:
    """Give each tag its plant tag, role and writability; where the data stated no unit, the unit its
    values fit the plant tag's range in (with `to_plant`, the conversion, when it is not the plant's)."""
    table = PLANTS[match["plant"]].tag_table()
    for t in tags:
        tag_name = match["tag_map"].get(t["name"])
        t["plant_tag"] = tag_name
        if not tag_name:
            continue
        spec = table.by_name[tag_name]
        t["role"], t["writable"] = spec.role, spec.writable
        fit = conv.fit_conversion(spec, t)
        if fit is not None and (fit["scale"], fit["offset"]) != (1.0, 0.0):
            t["to_plant"] = {"unit": spec.unit, "scale": fit["scale"], "offset": fit["offset"]}
        if t["unit"] is None:
            if fit is not None and t.get("to_plant"):
                t["unit"], t["unit_source"] = fit["unit"], "range"
            else:
                t["unit"], t["unit_source"] = spec.unit or None, "plant"


def _units_by_range(tags: list[dict[str, Any]], convention: str) -> None:
    """Units for the columns still without one, from the dataset's convention and the values' range."""
    for t in tags:
        if t.get("unit") is None and not t.get("plant_tag"):
            found = conv.unit_by_range(t["name"], t, convention)
            if found is not None:
                t["unit"], t["quantity"], t["unit_source"] = found[0], found[1], "range"


def _plant_summary(match: dict[str, Any] | None, candidates: list[dict[str, Any]]) -> dict[str, Any]:
    """The matched plant (all None when none fits) and every candidate's score, without their tag maps."""
    return {
        "name": match["plant"] if match else None,
        "score": match["score"] if match else None,
        "basis": match["basis"] if match else None,
        "tag_map": match["tag_map"] if match else {},
        "candidates": [{k: v for k, v in c.items() if k != "tag_map"} for c in candidates],
    }


def lift(data: Any) -> dict[str, Any]:
    """Typed world state of raw telemetry (pyarrow Table, pandas DataFrame, or a .csv/.parquet path)."""
    df, meta_units = _prepare_frame(data)
    time_col, ts = _find_time(df)
    df, time, instance_col = _first_instance(df, ts, time_col)
    labels, tags = _labels_and_tags(df, (time_col, instance_col), meta_units)
    convention = conv.detect(time_col, [lb["name"] for lb in labels], [t["name"] for t in tags])
    candidates = _plant_scores([t for t in tags if not t["name"].startswith("truth:")], convention)
    match = _accepted_match(candidates)
    if match is not None:
        _annotate_with_plant(tags, match)
    _units_by_range(tags, convention)
    return {
        "format": "sealforge.world/1",
        "convention": convention,
        "rows": int(df.shape[0]),
        "time": time,
        "tags": tags,
        "labels": labels,
        "plant": _plant_summary(match, candidates),
        "seed": _seed(match["plant"], tags, match["tag_map"], time) if match and match["tag_map"] else None,
    }
