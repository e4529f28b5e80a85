"""Datetime columns kept as datetimes end to end: read in any supported form, modelled as naive UTC
``datetime64[ns]``, written back in the form they came in.

Why one internal form: SDV's datetime transformer turns values into integers assuming nanoseconds,
so a ``datetime64[ms]`` column (what Arrow timestamps become) was read 10^6 times too small and every
synthetic timestamp landed on 1970-01-01. Why written back: a user who uploads ISO text with
milliseconds, or a Parquet ``timestamp[ms, tz=UTC]`` column, expects the same type, time zone and
resolution in the synthetic rows. ``describe`` records how a column came in (``info``), ``to_model``
converts it, ``restore`` converts model output back, rounded to the source's resolution.

Supported sources (``info["kind"]``): ``timestamp`` (Arrow or pandas timestamps, any unit, with or
without a time zone), ``date`` (Arrow ``date32``/``date64``), ``text`` (strings, with a declared
``datetime_format`` or a guessed one, with or without an offset) and ``epoch`` (numbers declared
``datetime`` in the metadata; ``unit`` s/ms/us/ns, guessed from their magnitude when not given).
"""

from __future__ import annotations

import datetime as dt
import re
import warnings
from typing import TYPE_CHECKING, Any

import numpy as np

from appliance.services.synth.interface import SynthesisError

if TYPE_CHECKING:
    import pandas as pd

UNITS = {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}
RESOLUTIONS = (
    ("D", 86_400 * 10**9),
    ("h", 3600 * 10**9),
    ("min", 60 * 10**9),
    ("s", 10**9),
    ("ms", 10**6),
    ("us", 10**3),
    ("ns", 1),
)
# Epoch numbers above these magnitudes are taken as ms, us, ns (year 2001+ in s is ~1e9).
EPOCH_GUESS = ((1e17, "ns"), (1e14, "us"), (1e11, "ms"))
MAX_BAD_EXAMPLES = 3
OFFSET = re.compile(r"^([+-])(\d\d):(\d\d)$")
FRACTION = re.compile(r"[T ]?\d\d:\d\d:\d\d[.,](\d+)")
TEXT_OFFSET = re.compile(r"([+-]\d\d):?(\d\d)$")


def tz_name(tz: Any) -> str | None:
    """A time zone as text that ``tz_info`` reads back: a zone name, or ``+HH:MM`` for a fixed offset."""
    if tz is None:
        return None
    key = getattr(tz, "key", None) or getattr(tz, "zone", None)
    if key:
        return str(key)
    if isinstance(tz, dt.timezone):
        offset = tz.utcoffset(None)
        if offset == dt.timedelta(0):
            return "UTC"
        minutes = int(offset.total_seconds() // 60)
        sign = "+" if minutes >= 0 else "-"
        return f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    return str(tz)


def tz_info(name: str | None) -> Any:
    if name is None:
        return None
    match = OFFSET.match(name)
    if match is None:
        return name
    minutes = int(match.group(2)) * 60 + int(match.group(3))
    return dt.timezone(dt.timedelta(minutes=-minutes if match.group(1) == "-" else minutes))


def _naive_utc(values: pd.Series) -> pd.Series:
    if getattr(values.dt, "tz", None) is not None:
        values = values.dt.tz_convert("UTC").dt.tz_localize(None)
    return values.astype("datetime64[ns]")


def _wall(values: pd.Series, tz: str | None) -> pd.Series:
    """Naive UTC values as naive local wall time in ``tz``."""
    if tz is None:
        return values
    return values.dt.tz_localize("UTC").dt.tz_convert(tz_info(tz)).dt.tz_localize(None)


def resolution(values: pd.Series, tz: str | None = None) -> str:
    """The coarsest unit every value is a whole number of (``D``: all at local midnight)."""
    ints = _wall(values.dropna(), tz).astype("int64").to_numpy()
    for name, step in RESOLUTIONS:
        if np.all(ints % step == 0):
            return name
    return "ns"


def _bad_values(name: str, source: pd.Series, values: pd.Series, how: str) -> None:
    bad = source[values.isna() & source.notna()]
    if len(bad):
        examples = ", ".join(repr(v) for v in bad.astype(str).unique()[:MAX_BAD_EXAMPLES])
        raise SynthesisError(
            f"metadata.{name}", f"{len(bad)} value(s) do not match {how} ({examples}); set datetime_format"
        )


def _parse_text(source: pd.Series, fmt: str | None) -> pd.Series:
    import pandas as pd

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fmt:
            return pd.to_datetime(source, format=fmt, errors="coerce", utc=True)
        try:
            return pd.to_datetime(source, format="ISO8601", errors="coerce", utc=True)
        except ValueError:
            return pd.to_datetime(source, format="mixed", errors="coerce", utc=True)


def _text_info(name: str, source: pd.Series, fmt: str | None) -> dict[str, Any]:
    import pandas as pd
    from pandas.tseries.api import guess_datetime_format

    texts = source.dropna().astype(str)
    first = texts.iloc[0] if len(texts) else ""
    layout = fmt or guess_datetime_format(first) if first else fmt
    info: dict[str, Any] = {"kind": "text", "format": fmt, "layout": layout, "tz": None}
    if first:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            try:
                one = pd.to_datetime(first, format=fmt) if fmt else pd.to_datetime(first, format="ISO8601")
            except (ValueError, TypeError):
                one = None
        if one is not None and getattr(one, "tz", None) is not None:
            info["tz"] = tz_name(one.tz)
    fraction = FRACTION.search(first)
    info["digits"] = len(fraction.group(1)) if fraction else 0
    offset = TEXT_OFFSET.search(first)
    info["colon"] = bool(offset and ":" in first[offset.start():])
    if first.endswith("Z"):
        info["zulu"] = True
    return info


def _epoch_unit(name: str, source: pd.Series, unit: str | None) -> str:
    if unit is not None:
        if unit not in UNITS:
            raise SynthesisError(f"metadata.{name}.unit", f"one of {', '.join(UNITS)}")
        return unit
    values = np.abs(source.dropna().to_numpy(dtype=float))
    top = float(values.max()) if len(values) else 0.0
    return next((u for limit, u in EPOCH_GUESS if top > limit), "s")


def describe(
    name: str, source: pd.Series, temporal: dict[str, Any] | None, fmt: str | None, unit: str | None = None
) -> tuple[pd.Series, dict[str, Any]]:
    """The column as naive UTC ``datetime64[ns]`` and how it came in; a value that does not read as
    a date is an error naming the column (a silent null would hide a wrong format)."""
    import pandas as pd

    if pd.api.types.is_datetime64_any_dtype(source):
        tz = tz_name(getattr(source.dt, "tz", None))
        naive = source.dt.tz_localize(None) if tz else source
        info: dict[str, Any] = {"kind": "timestamp", "unit": np.datetime_data(naive.dtype)[0], "tz": tz}
        if temporal:
            info.update(temporal)
        values = _naive_utc(source)
    elif pd.api.types.is_numeric_dtype(source) and not pd.api.types.is_bool_dtype(source):
        chosen = _epoch_unit(name, source, unit)
        integer = bool(np.all(np.mod(source.dropna().to_numpy(dtype=float), 1) == 0))
        info = {"kind": "epoch", "unit": chosen, "tz": None, "integer": integer}
        values = pd.to_datetime(source, unit=chosen, errors="coerce")
        _bad_values(name, source, values, f"epoch {chosen}")
    else:
        try:
            parsed = _parse_text(source.astype("string"), fmt)
        except (ValueError, TypeError) as exc:
            raise SynthesisError(f"metadata.{name}", f"cannot read the values as dates: {exc}") from exc
        _bad_values(name, source, parsed, f"the format {fmt!r}" if fmt else "a date format it recognises")
        info = _text_info(name, source, fmt)
        values = _naive_utc(parsed)
    info["resolution"] = resolution(values, info.get("tz"))
    return values, info


def to_model(source: pd.Series, info: dict[str, Any]) -> pd.Series:
    """Real rows read again later (a report, an evaluation) converted as at training; values that
    do not parse become nulls."""
    import pandas as pd

    kind = info.get("kind")
    if pd.api.types.is_datetime64_any_dtype(source):
        return _naive_utc(source)
    if kind == "epoch" and pd.api.types.is_numeric_dtype(source):
        return pd.to_datetime(source, unit=info["unit"], errors="coerce").astype("datetime64[ns]")
    return _naive_utc(_parse_text(source.astype("string"), info.get("format")))


def _format_text(local: pd.Series, info: dict[str, Any]) -> pd.Series:
    layout = info.get("layout") or "%Y-%m-%d %H:%M:%S"
    if info.get("zulu") and layout.endswith("%z"):
        layout = layout[:-2] + "Z"
    head, _, tail = layout.partition("%f")
    text = local.dt.strftime(head)
    if "%f" in layout:
        digits = int(info.get("digits") or 6)
        ns = (local.dt.microsecond * 1000 + local.dt.nanosecond).fillna(0).astype("int64")
        text = text + (ns // 10 ** (9 - min(digits, 9))).astype(str).str.zfill(digits) + local.dt.strftime(tail)
    if info.get("colon") and "%z" in layout:
        text = text.str.replace(r"([+-]\d\d)(\d\d)$", r"\1:\2", regex=True)
    return text.where(local.notna(), None)


def restore(values: pd.Series, info: dict[str, Any]) -> pd.Series:
    """Model output (naive UTC) in the column's source form: same type, unit, zone, resolution."""
    import pandas as pd

    values = pd.to_datetime(values, errors="coerce")
    if getattr(values.dt, "tz", None) is not None:
        values = _naive_utc(values)
    tz = info.get("tz")
    step = info.get("resolution", "ns")
    if step == "D":
        values = _wall(values, tz).dt.round("D")
        if tz is not None:
            values = _naive_utc(values.dt.tz_localize(tz_info(tz), ambiguous="NaT", nonexistent="shift_forward"))
    else:
        values = values.dt.round(step)
    kind = info.get("kind")
    if kind == "date":
        return values.dt.date.where(values.notna(), None)
    if kind == "epoch":
        ints = values.where(values.notna(), pd.Timestamp(0)).astype("int64") // UNITS[info["unit"]]
        number = ints.astype("Int64") if info.get("integer") else ints.astype(float)
        return number.where(values.notna(), None)
    local = values.dt.tz_localize("UTC").dt.tz_convert(tz_info(tz)) if tz is not None else values
    if kind == "text":
        return _format_text(local, info)
    unit = info.get("unit") or "ns"
    if tz is not None:
        return local.astype(pd.DatetimeTZDtype(unit=unit, tz=tz_info(tz)))
    return local.astype(f"datetime64[{unit}]")


def restore_frame(frame: pd.DataFrame, infos: dict[str, dict[str, Any]]) -> pd.DataFrame:
    """Every datetime column of ``frame`` in its source form (other columns untouched)."""
    if not infos:
        return frame
    frame = frame.copy()
    for name, info in infos.items():
        if name in frame.columns:
            frame[name] = restore(frame[name], info)
    return frame
