"""Datetime columns through training and sampling: every supported input form comes back in the same
type, time zone and resolution, inside the real range (not at 1970-01-01, which is where a
``datetime64[ms]`` column landed when SDV read its integers as nanoseconds)."""

from __future__ import annotations

import io
import re
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.csv as pa_csv
import pytest

from appliance.services.synth import datetimes, engines, metadata
from appliance.services.synth.frames import to_arrow, to_frame
from appliance.services.synth.interface import SynthesisError

ROWS = 200
START = pd.Timestamp("2024-03-01 08:00:00")


def _steps(unit: str) -> pd.DatetimeIndex:
    return START + pd.to_timedelta(np.arange(ROWS) * {"ms": 1500, "s": 7, "min": 13, "D": 1}[unit], unit=unit)


def _csv(column: pd.Series) -> pa.Table:
    """The column as the dataset layer reads an uploaded CSV (Arrow infers ISO timestamps and dates)."""
    frame = pd.DataFrame({"t": column, "x": np.random.default_rng(0).normal(size=ROWS)})
    return pa_csv.read_csv(io.BytesIO(frame.to_csv(index=False).encode()))


def _parquet(values: pa.Array) -> pa.Table:
    return pa.table({"t": values, "x": pa.array(np.random.default_rng(0).normal(size=ROWS))})


def _text(column: pd.Series) -> pa.Table:
    """Strings Arrow keeps as strings (a Parquet text column, or a layout CSV inference leaves alone)."""
    return pa.table({"t": pa.array(column.astype(str)), "x": pa.array(np.random.default_rng(0).normal(size=ROWS))})


CASES: dict[str, tuple[Any, dict[str, Any], str, str | None]] = {
    # name: (table maker, overrides, expected Arrow type, regex every text value matches)
    "csv_iso_seconds": (lambda: _csv(_steps("s").strftime("%Y-%m-%dT%H:%M:%S")), {}, "timestamp[s]", None),
    "csv_iso_milliseconds": (
        lambda: _csv(pd.Series(_steps("ms").strftime("%Y-%m-%dT%H:%M:%S.%f")).str[:-3]), {}, "timestamp[ns]", None),
    "csv_iso_with_offset": (
        lambda: _csv(_steps("s").strftime("%Y-%m-%dT%H:%M:%S+02:00")), {}, "timestamp[s, tz=UTC]", None),
    "csv_date_only": (lambda: _csv(_steps("D").strftime("%Y-%m-%d")), {}, "date32[day]", None),
    "parquet_ms_utc": (
        lambda: _parquet(pa.array(_steps("s").tz_localize("UTC")).cast(pa.timestamp("ms", tz="UTC"))),
        {}, "timestamp[ms, tz=UTC]", None),
    "parquet_zone": (
        lambda: _parquet(pa.array(_steps("min").tz_localize("Europe/Berlin")).cast(
            pa.timestamp("s", tz="Europe/Berlin"))), {}, "timestamp[s, tz=Europe/Berlin]", None),
    "text_iso_offset_ms": (
        lambda: _text(pd.Series(_steps("ms").strftime("%Y-%m-%dT%H:%M:%S.%f")).str[:-3] + "+02:00"), {}, "string",
        r"^2024-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}\+02:00$"),
    "text_declared_format": (
        lambda: _text(pd.Series(_steps("min").strftime("%d/%m/%Y %H:%M"))),
        {"t": {"sdtype": "datetime", "datetime_format": "%d/%m/%Y %H:%M"}}, "string", r"^\d\d/\d\d/2024 \d\d:\d\d$"),
    "epoch_seconds": (
        lambda: _parquet(pa.array(_steps("s").astype("int64") // 10**9)), {"t": "datetime"}, "int64", None),
    "epoch_milliseconds": (
        lambda: _parquet(pa.array(_steps("ms").astype("int64") // 10**6)), {"t": {"sdtype": "datetime", "unit": "ms"}},
        "int64", None),
}


def _nanoseconds(column: pa.ChunkedArray, case: str) -> np.ndarray:
    """Values as UTC epoch nanoseconds whatever the written type, to check range and resolution."""
    if pa.types.is_integer(column.type):
        scale = 10**6 if case == "epoch_milliseconds" else 10**9
        return column.to_numpy().astype("int64") * scale
    if pa.types.is_string(column.type):
        parsed = pd.to_datetime(pd.Series(column.to_pylist()), format="ISO8601" if "iso" in case else "%d/%m/%Y %H:%M",
                                utc=True)
        return parsed.astype("int64").to_numpy()
    if pa.types.is_date(column.type):
        return column.cast(pa.timestamp("ns")).cast(pa.int64()).to_numpy()
    return column.cast(pa.timestamp("ns", tz=column.type.tz) if column.type.tz else pa.timestamp("ns")).cast(
        pa.int64()).to_numpy()


@pytest.mark.parametrize("case", sorted(CASES))
def test_each_datetime_form_comes_back_in_its_form(sdv_home: Path, case: str) -> None:
    make, overrides, arrow_type, pattern = CASES[case]
    table = make()
    frame, meta = metadata.detect(to_frame(table), overrides)
    assert meta.sdtypes()["t"] == "datetime" and str(frame["t"].dtype) == "datetime64[ns]"
    model = engines.create("gaussian_copula", "cpu")
    model.fit(frame, meta)
    sampled = model.sample(300, seed=3)
    written = to_arrow(meta.restore(sampled))
    column = written.column("t")
    assert str(column.type) == arrow_type
    if pattern is not None:
        assert all(re.match(pattern, v) for v in column.to_pylist()), column.to_pylist()[:3]
    real = _nanoseconds(table.column("t"), case)
    synthetic = _nanoseconds(column, case)
    assert real.min() <= synthetic.min() and synthetic.max() <= real.max()
    step = dict(datetimes.RESOLUTIONS)[meta.datetimes["t"]["resolution"]]
    assert step >= 10**6 and np.all(synthetic % step == 0)
    # read back the way a report or an evaluation reads it, the values match the model's own
    again = metadata.align_like(to_frame(written), meta)["t"]
    assert again.dtype == "datetime64[ns]" and again.notna().all()
    assert (again - sampled["t"]).abs().max() <= pd.Timedelta(step, unit="ns")


def test_a_timezone_and_resolution_are_recorded_and_survive_json(sdv_home: Path) -> None:
    table = CASES["parquet_zone"][0]()
    _, meta = metadata.detect(to_frame(table))
    info = meta.datetimes["t"]
    assert info == {"kind": "timestamp", "unit": "s", "tz": "Europe/Berlin", "resolution": "min"}
    assert metadata.TableMetadata.from_json(meta.to_json()).datetimes == meta.datetimes


def test_bad_epoch_unit_and_unreadable_dates_name_the_column(sdv_home: Path) -> None:
    with pytest.raises(SynthesisError) as unit:
        metadata.detect(to_frame(CASES["epoch_seconds"][0]()), {"t": {"sdtype": "datetime", "unit": "days"}})
    assert unit.value.field == "metadata.t.unit"
    bad = pd.DataFrame({"t": ["2024-01-01"] * 5 + ["not a day"], "x": range(6)})
    with pytest.raises(SynthesisError) as unreadable:
        metadata.detect(bad, {"t": "datetime"})
    assert unreadable.value.field == "metadata.t" and "not a day" in unreadable.value.message
