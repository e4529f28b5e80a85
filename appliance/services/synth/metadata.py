"""Table metadata: detected by SDV, edited by the caller's sdtype overrides, dates made datetime64.

SDV detects each column's sdtype from the data; ``params.metadata`` may override any of them, as a
bare sdtype (``{"zip": "categorical"}``) or a column spec (``{"day": {"sdtype": "datetime",
"datetime_format": "%d/%m/%Y"}}``; a numeric column declared ``datetime`` is read as epoch
time, ``"unit"`` s/ms/us/ns or guessed). Date columns are made naive UTC ``datetime64[ns]`` here,
once, so every synthesizer and the report see real timestamps; ``TableMetadata.restore`` writes
synthetic rows back in each column's source form (see ``datetimes``).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from appliance.services.synth import datetimes
from appliance.services.synth.interface import SynthesisError

if TYPE_CHECKING:
    import pandas as pd

TABLE = "table"


@dataclass
class TableMetadata:
    """One table's SDV metadata (the ``tables.<name>`` part of SDV's dict)."""

    spec: dict[str, Any] = field(default_factory=dict)
    date_formats: dict[str, str | None] = field(default_factory=dict)
    """Columns that were text dates in the source, with the format they were parsed with (None:
    guessed); used to parse the same source again the same way."""
    datetimes: dict[str, dict[str, Any]] = field(default_factory=dict)
    """How each datetime column came in (``datetimes.describe``): type, unit, zone, resolution,
    text layout; synthetic rows are written back that way."""

    rules: list[dict[str, Any]] = field(default_factory=list)
    """Rules between columns (``rules``): detected in the training rows and declared by the caller;
    every sampled chunk is repaired to obey them."""

    sequence: dict[str, Any] = field(default_factory=dict)
    """Sequential models only (``par``): sequence_key, sequence_index, context_columns, window;
    the holdout is cut by whole sequences and the report adds the sequence checks."""

    def to_json(self) -> dict[str, Any]:
        return {"sdv": self.spec, "date_formats": self.date_formats, "datetimes": self.datetimes, "rules": self.rules,
                "sequence": self.sequence}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> TableMetadata:
        return cls(
            copy.deepcopy(data["sdv"]),
            dict(data.get("date_formats") or {}),
            copy.deepcopy(data.get("datetimes") or {}),
            copy.deepcopy(data.get("rules") or []),
            copy.deepcopy(data.get("sequence") or {}),
        )

    def enforce(self, frame: pd.DataFrame, conditions: dict[str, Any] | None = None) -> pd.DataFrame:
        """Sampled rows repaired to obey the rules (columns fixed by ``conditions`` untouched)."""
        from appliance.services.synth import rules

        return rules.repair(frame, self.rules, conditions)

    def restore(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Synthetic rows with each datetime column in its source form (type, zone, resolution)."""
        return datetimes.restore_frame(frame, self.datetimes)

    @property
    def columns(self) -> dict[str, dict[str, Any]]:
        cols: dict[str, dict[str, Any]] = self.spec.setdefault("columns", {})
        return cols

    def sdtypes(self) -> dict[str, str]:
        return {name: str(col["sdtype"]) for name, col in self.columns.items()}

    def summary(self) -> list[dict[str, Any]]:
        """Name, sdtype and date format of each column: what the API shows (no category values)."""
        out = []
        for name, col in self.columns.items():
            item: dict[str, Any] = {"name": name, "sdtype": col["sdtype"]}
            if self.date_formats.get(name):
                item["datetime_format"] = self.date_formats[name]
            if self.spec.get("primary_key") == name:
                item["primary_key"] = True
            out.append(item)
        return out

    def to_sdv(self) -> Any:
        from sdv.metadata import Metadata

        return Metadata.load_from_dict(
            {"tables": {TABLE: copy.deepcopy(self.spec)}, "relationships": [], "METADATA_SPEC_VERSION": "V2"}
        )

    def for_sdmetrics(self) -> dict[str, Any]:
        """sdmetrics wants ``{"columns": {name: {"sdtype": ...}}}``; ranges and formats it does not need."""
        columns = {name: {"sdtype": col["sdtype"]} for name, col in self.columns.items()}
        out: dict[str, Any] = {"columns": columns}
        if self.spec.get("primary_key"):
            out["primary_key"] = self.spec["primary_key"]
        return out


def normalise_overrides(raw: dict[str, Any] | None) -> dict[str, dict[str, Any]]:
    """``{col: "sdtype" | {"sdtype": ..., ...}}`` as ``{col: spec}``; shape errors name the field."""
    out: dict[str, dict[str, Any]] = {}
    for name, value in (raw or {}).items():
        spec = {"sdtype": value} if isinstance(value, str) else value
        if not isinstance(spec, dict) or not isinstance(spec.get("sdtype"), str) or not spec["sdtype"]:
            raise SynthesisError(f"metadata.{name}", 'give an sdtype, e.g. "categorical", or {"sdtype": ...}')
        out[str(name)] = dict(spec)
    return out


def _detect(frame: pd.DataFrame) -> dict[str, Any]:
    from sdv.metadata import Metadata

    detected = Metadata.detect_from_dataframes({TABLE: frame}, infer_keys="primary_only")
    spec: dict[str, Any] = detected.to_dict()["tables"][TABLE]
    return spec


def _repeated_ids(spec: dict[str, Any], frame: pd.DataFrame) -> None:
    """A column SDV calls ``id`` (from its name: ``attack_id``) whose values repeat is a label, not
    a key: modelled as an id it is sampled as fresh unique strings, breaking the rows' labels."""
    for name, col in spec["columns"].items():
        if col["sdtype"] == "id" and spec.get("primary_key") != name and frame[name].dropna().duplicated().any():
            spec["columns"][name] = {"sdtype": "categorical"}


def _apply(spec: dict[str, Any], overrides: dict[str, dict[str, Any]]) -> None:
    for name, override in overrides.items():
        spec["columns"][name] = {key: value for key, value in override.items() if key != "unit"}
        if spec.get("primary_key") == name and override["sdtype"] != "id":
            spec.pop("primary_key")


def _parse_dates(
    frame: pd.DataFrame, spec: dict[str, Any], overrides: dict[str, dict[str, Any]]
) -> tuple[dict[str, str | None], dict[str, dict[str, Any]]]:
    """Turn datetime columns held as text or epoch numbers into ``datetime64[ns]``; returns the text
    columns' formats and every parsed column's source description (``datetimes.describe``)."""
    import pandas as pd

    formats: dict[str, str | None] = {}
    infos: dict[str, dict[str, Any]] = {}
    for name, col in spec["columns"].items():
        if col["sdtype"] != "datetime" or pd.api.types.is_datetime64_any_dtype(frame[name]):
            continue
        fmt = col.get("datetime_format")
        unit = overrides.get(name, {}).get("unit")
        frame[name], infos[name] = datetimes.describe(name, frame[name], None, fmt, unit)
        if infos[name]["kind"] == "text":
            formats[name] = fmt
    return formats, infos


def _validate(metadata: TableMetadata, frame: pd.DataFrame) -> None:
    from sdv.errors import InvalidDataError
    from sdv.metadata.errors import InvalidMetadataError

    try:
        sdv_metadata = metadata.to_sdv()
        sdv_metadata.validate()
        sdv_metadata.validate_data({TABLE: frame})
    except (InvalidMetadataError, InvalidDataError) as exc:
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        detail = "; ".join(line for line in lines if not line.startswith(("The ", "Table:", "Errors in")))
        raise SynthesisError("metadata", detail or lines[0] if lines else str(exc)) from exc


def detect(
    frame: pd.DataFrame, overrides: dict[str, Any] | None = None, keys: bool = False
) -> tuple[pd.DataFrame, TableMetadata]:
    """The frame (dates parsed) and its metadata: SDV's detection, then the caller's overrides.
    ``keys``: repeated-value ``id`` columns stay ids (foreign keys of a multi-table model)."""
    import pandas as pd

    wanted = normalise_overrides(overrides)
    unknown = [name for name in wanted if name not in frame.columns]
    if unknown:
        known = ", ".join(map(str, frame.columns[:20]))
        raise SynthesisError(f"metadata.{unknown[0]}", f"unknown column {unknown[0]!r}; the columns are {known}")
    temporal = dict(frame.attrs.get("temporal") or {})
    frame = frame.copy()
    frame.attrs = {}
    frame.columns = [str(c) for c in frame.columns]
    infos: dict[str, dict[str, Any]] = {}
    for name in frame.columns:
        if pd.api.types.is_datetime64_any_dtype(frame[name]):
            frame[name], infos[name] = datetimes.describe(name, frame[name], temporal.get(name), None)
    spec = _detect(frame)
    if not keys:
        _repeated_ids(spec, frame)
    _apply(spec, wanted)
    parsed, more = _parse_dates(frame, spec, wanted)
    if more:
        redetected = _detect(frame[list(more)])["columns"]
        for name in more:
            again = redetected[name]
            spec["columns"][name] = again if again["sdtype"] == "datetime" else {"sdtype": "datetime"}
    infos.update(more)
    kept = {name: info for name, info in infos.items() if spec["columns"][name]["sdtype"] == "datetime"}
    metadata = TableMetadata(spec, parsed, kept)
    _validate(metadata, frame)
    return frame, metadata


def align_like(frame: pd.DataFrame, metadata: TableMetadata) -> pd.DataFrame:
    """Real rows read again later (for a report or an evaluation) with the model's date columns
    converted the same way, so they compare like with like; values that do not parse become nulls."""
    frame = frame.copy()
    frame.attrs = {}
    for name, col in metadata.columns.items():
        if name not in frame.columns or col["sdtype"] != "datetime":
            continue
        info = metadata.datetimes.get(name) or {"kind": "text", "format": metadata.date_formats.get(name)}
        frame[name] = datetimes.to_model(frame[name], info)
    return frame
