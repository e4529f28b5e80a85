"""Dataset profiles: the same simulated run written in the shape of a public ICS dataset.

`native` is this package's own layout (`dataset` module docstring). `swat` and `hai` rewrite each
Arrow batch as the SWaT (iTrust, 2015 release) and HAI (ETRI/NSR, 21.03 release) CSV files are laid
out, so code written for those sets reads ours unchanged:

* swat: `Timestamp` first, written ` Timestamp` with SWaT's leading space, values like
  ` 22/12/2015 4:00:00 PM` and ` 2/1/2016 2:59:59 PM` (day first, day and month not zero-padded,
  12-hour clock, UTC), as Excel wrote the 2015 files; the seven tag names SWaT's header spells with a
  leading space (` MV101`, ` AIT201`, ` MV201`, ` P201`, ` P202`, ` P204`, ` MV303`) keep it; only
  sensors and actuators (SWaT publishes no setpoints, alarms or modes); levels in mm, pressures in
  kPa, flows in m3/h; on/off devices coded as SWaT codes pumps and valves, 1 = off/closed and
  2 = on/open; the label column `Normal/Attack` with `Normal` or `Attack`. File
  `<plant>_Dataset_Normal.csv` for a run without attacks, else `<plant>_Dataset_Attack.csv`, as
  SWaT_Dataset_Normal_v1 / SWaT_Dataset_Attack_v0.
* hai: `time` first as `2024-01-01 00:00:00`; every tag, renamed `P<process>_<tag>` with the
  process taken from the ISA loop number (LIT101 -> P1_LIT01, FIT201 -> P2_FIT01, pump P101 ->
  P1_PP01), engineering units unchanged; labels `attack` and one `attack_P<n>` per process, 1 while
  an attack targets a tag of that process. File `train1.csv` without attacks, else `test1.csv`.

Both write CSV only (the public sets are CSV). Quality codes stay out of both (neither set has
them; the manifest still describes the run). The manifest's `profile` section maps every output
column to its native column, unit and scale. Output is deterministic like the native one: fixed
formatting, no wall clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.csv as pacsv

from simulators.attacks.apply import scan_window
from simulators.core.tags import TagSpec, TagTable

if TYPE_CHECKING:
    from simulators.validation import SimulationRequest

PROFILES = ("native", "swat", "hai")
SWAT_TIME, SWAT_LABEL = " Timestamp", "Normal/Attack"
HAI_TIME = "time"
# Unit changes the SWaT profile makes: (native unit) -> (SWaT unit, factor).
SWAT_UNITS = {"m": ("mm", 1000.0), "bar": ("kPa", 100.0)}
# Tags whose native name means another quantity in SWaT: our free-chlorine analyser is not SWaT's
# AIT201 (NaCl conductivity, uS/cm), so it takes the next free analyser number of stage 2.
SWAT_RENAMES = {"water": {"AIT201": "AIT204"}}
SWAT_ROLES = ("sensor", "actuator")
# Tag names the SWaT 2015 header (SWaT_Dataset_Attack_v0) spells with a leading space; code written for
# SWaT selects them so (`df[' MV101']`), so a column of ours with one of these names keeps the space.
SWAT_SPACED = frozenset({"MV101", "AIT201", "MV201", "P201", "P202", "P204", "MV303"})
ISA = re.compile(r"^([A-Z]+)(\d)(\d{2})$")


@dataclass(frozen=True)
class OutColumn:
    """One output column: where it comes from and how its values change."""

    name: str
    source: str
    unit: str
    scale: float = 1.0
    encoding: str = "value"  # value | onoff12 (0/1 -> 1/2) | bool01

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {"name": self.name, "source": self.source, "unit": self.unit}
        if self.scale != 1.0:
            out["scale"] = self.scale
        if self.encoding != "value":
            out["encoding"] = self.encoding
        return out


def _swat_name(plant: str, tag: TagSpec) -> str:
    name = SWAT_RENAMES.get(plant, {}).get(tag.name, tag.name).removesuffix(".POS").replace(".", "_")
    return f" {name}" if name in SWAT_SPACED else name


def hai_name(name: str) -> tuple[str, int]:
    """(HAI-style column, process) of a native tag name: P<digit>_ + letters + two-digit loop (+ _SUFFIX)."""
    base, _, suffix = name.partition(".")
    m = ISA.match(base)
    if m:
        letters, process, loop = m.group(1), int(m.group(2)), m.group(3)
        letters = "PP" if letters == "P" else letters  # HAI names pumps PP (P1_PP01AD)
        out = f"P{process}_{letters}{loop}"
    else:
        process, out = 1, f"P1_{base}"
    return (f"{out}_{suffix.replace('.', '_')}" if suffix else out), process


def _plan(profile: str, plant: str, table: TagTable, names: list[str]) -> list[OutColumn]:
    """Output tag columns, in native order, for the native value columns `names`."""
    out: list[OutColumn] = []
    for name in names:
        if name.startswith("quality:"):
            continue
        truth = name.startswith("truth:")
        tag = table.by_name[name.removeprefix("truth:")]
        prefix = "truth:" if truth else ""
        if profile == "swat":
            if tag.role not in SWAT_ROLES:
                continue
            unit, scale = SWAT_UNITS.get(tag.unit, (tag.unit, 1.0))
            out.append(OutColumn(prefix + _swat_name(plant, tag), name, unit, scale,
                                 "onoff12" if tag.is_bool else "value"))
        else:
            out.append(OutColumn(prefix + hai_name(tag.name)[0], name, tag.unit, 1.0,
                                 "bool01" if tag.is_bool else "value"))
    seen = [c.name for c in out]
    if len(set(seen)) != len(seen):
        raise ValueError(f"profile {profile}: two tags map to one column name")
    return out


def _pad(values: np.ndarray, width: int) -> np.ndarray:
    return np.char.zfill(values.astype(str), width)


def _join(*parts: np.ndarray | str) -> np.ndarray:
    out = parts[0]
    for part in parts[1:]:
        out = np.char.add(out, part)
    return np.asarray(out)


def format_times(profile: str, ms: np.ndarray, sub_second: bool) -> np.ndarray:
    """Row times as the profile's dataset writes them, vectorised (UTC):
    SWaT ' 22/12/2015 4:00:00 PM' (' 2/1/2016 ...': no zero padding), HAI '2015-12-22 16:00:00'; '.fff'
    after the seconds when rows are
    closer than a second apart."""
    ms = np.asarray(ms, dtype=np.int64)
    day = (ms // 86_400_000).astype("datetime64[D]")
    rest = ms % 86_400_000
    hours, minutes = rest // 3_600_000, rest // 60_000 % 60
    secs = _pad(rest // 1000 % 60, 2)
    if sub_second:
        secs = _join(secs, ".", _pad(rest % 1000, 3))
    if profile == "hai":
        return _join(day.astype(str), " ", _pad(hours, 2), ":", _pad(minutes, 2), ":", secs)
    month_start = day.astype("datetime64[M]")
    year = month_start.astype("datetime64[Y]").astype(np.int64) + 1970
    month = month_start.astype(np.int64) % 12 + 1
    dom = (day - month_start).astype(np.int64) + 1
    h12 = (hours + 11) % 12 + 1
    ampm = np.where(hours < 12, " AM", " PM")
    return _join(" ", dom.astype(str), "/", month.astype(str), "/", year.astype(str), " ", h12.astype(str), ":",
                 _pad(minutes, 2), ":", secs, ampm)


class ProfileWriter:
    """Turns native record batches into the profile's columns, and says what it did for the manifest."""

    def __init__(self, req: SimulationRequest, native: pa.Schema) -> None:
        if req.profile not in PROFILES[1:]:
            raise ValueError(f"not a rewriting profile: {req.profile!r}")
        self.profile = req.profile
        self.req = req
        table = req.plant_cls.tag_table()
        names = [f.name for f in native if f.name in table.by_name or f.name.startswith(("truth:", "quality:"))]
        self.columns = _plan(req.profile, req.plant, table, names)
        self.sub_second = req.sample_ms % 1000 != 0
        self.processes = sorted({hai_name(t.name)[1] for t in table.columns})
        self.process_windows = [
            (*scan_window(sc, req.scan_period), {hai_name(t)[1] for t in sc.targets}) for sc in req.scenarios
        ]
        self.schema = self._schema(req.instances > 1)

    def _schema(self, instances: bool) -> pa.Schema:
        time_name = SWAT_TIME if self.profile == "swat" else HAI_TIME
        fields = [pa.field(time_name, pa.string(), nullable=False)]
        if instances:
            fields.append(pa.field("instance", pa.int32(), nullable=False))
        for c in self.columns:
            kind = pa.int8() if c.encoding != "value" else pa.float64()
            fields.append(pa.field(c.name, kind, nullable=False))
        if self.profile == "swat":
            fields.append(pa.field(SWAT_LABEL, pa.string(), nullable=False))
        else:
            fields.append(pa.field("attack", pa.int8(), nullable=False))
            fields += [pa.field(f"attack_P{p}", pa.int8(), nullable=False) for p in self.processes]
        return pa.schema(fields)

    def _process_flags(self, ms: np.ndarray) -> dict[int, np.ndarray]:
        scans = (ms - self.req.start_ms) // self.req.scan_ms
        flags = {p: np.zeros(len(ms), dtype=np.int8) for p in self.processes}
        for s0, e0, procs in self.process_windows:
            lo, hi = np.searchsorted(scans, s0), np.searchsorted(scans, e0)
            for p in procs:
                flags[p][lo:hi] = 1
        return flags

    def convert(self, batch: pa.RecordBatch) -> pa.RecordBatch:
        ms = batch.column("timestamp").cast(pa.int64()).to_numpy()
        arrays: list[pa.Array] = [pa.array(format_times(self.profile, ms, self.sub_second), pa.string())]
        if "instance" in batch.schema.names:
            arrays.append(batch.column("instance"))
        for c in self.columns:
            values = batch.column(c.source).to_numpy(zero_copy_only=False)
            if c.encoding == "onoff12":
                arrays.append(pa.array((values.astype(np.int8) + 1).astype(np.int8)))
            elif c.encoding == "bool01":
                arrays.append(pa.array(values.astype(np.int8)))
            else:
                arrays.append(pa.array(values * c.scale if c.scale != 1.0 else values, pa.float64()))
        attack = batch.column("attack").to_numpy(zero_copy_only=False).astype(np.int8)
        if self.profile == "swat":
            arrays.append(pa.array(np.where(attack == 1, "Attack", "Normal"), pa.string()))
        else:
            arrays.append(pa.array(attack))
            flags = self._process_flags(ms)
            arrays += [pa.array(flags[p]) for p in self.processes]
        return pa.RecordBatch.from_arrays(arrays, schema=self.schema)

    def csv_writer(self, path: Path) -> CsvOut:
        """A CSV writer for converted batches, quoting nothing as the public files do (pyarrow would
        quote the header and every string; no value of ours holds a comma or a quote)."""
        return CsvOut(path, self.schema)

    def info(self) -> dict[str, Any]:
        """The manifest's `profile` section: output file, time format and every column's native source."""
        if self.profile == "swat":
            labels: dict[str, Any] = {SWAT_LABEL: "'Attack' while any attack scenario is active, else 'Normal'"}
            time_format = "' d/m/yyyy h:mm:ss AM' (leading space, day first, 12-hour clock, UTC)"
        else:
            labels = {"attack": "1 while any attack scenario is active, else 0"}
            labels.update({f"attack_P{p}": f"1 while an attack targets a tag of process P{p}" for p in self.processes})
            time_format = "'yyyy-mm-dd hh:mm:ss' (UTC)"
        if self.sub_second:
            time_format += ", seconds with milliseconds"
        return {"name": self.profile, "file": file_name(self.req), "time_column": self.schema[0].name,
                "time_format": time_format, "columns": [c.info() for c in self.columns], "labels": labels}


class CsvOut:
    """The header line written by hand, then pyarrow's CSV writer without header or quotes."""

    def __init__(self, path: Path, schema: pa.Schema) -> None:
        self._file = open(path, "wb")  # noqa: SIM115 - closed in close(), the writer's protocol
        self._file.write((",".join(schema.names) + "\n").encode())
        options = pacsv.WriteOptions(include_header=False, quoting_style="none")
        self._writer = pacsv.CSVWriter(self._file, schema, write_options=options)

    def write_batch(self, batch: pa.RecordBatch) -> None:
        self._writer.write_batch(batch)

    def close(self) -> None:
        try:
            self._writer.close()
        finally:
            self._file.close()


def file_name(req: SimulationRequest) -> str:
    """The data file's name under each profile (the native one keeps the kind's own naming)."""
    attacks = bool(req.scenarios)
    if req.profile == "swat":
        return f"{req.plant}_Dataset_{'Attack' if attacks else 'Normal'}.csv"
    if req.profile == "hai":
        return "test1.csv" if attacks else "train1.csv"
    return f"{req.plant}-telemetry.{req.format}"

