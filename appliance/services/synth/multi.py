"""Multi-table synthesis: several related datasets modelled together with SDV's HMASynthesizer.

Why a separate engine class: ``interface.Synthesizer`` models one DataFrame, while HMA (the
Hierarchical Modeling Algorithm) learns every table at once, with each child table's distributions
conditioned on its parent row, so foreign keys in the synthetic tables always resolve. It keeps the
same shape as the single-table engine (``engine``/``synthesizer``/``device``, ``fit``, a seeded
``sample``, ``save``/``load`` through SDV's own file) so the kinds treat both alike.

Table names are the dataset names without their extension; relationships are the caller's
(checked against the columns) or SDV's detection (``infer_keys="primary_and_foreign"``), and the
model's ``metadata.json`` records which. SDV is imported inside the functions only.
"""

from __future__ import annotations

import copy
import re
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.services.synth import metadata as table_meta
from appliance.services.synth.interface import CancelCallback, FitSummary, SynthesisError, TrainingCanceled
from appliance.services.synth.offline import import_sdv

if TYPE_CHECKING:
    import pandas as pd

HMA = "hma"
MIN_TABLES, MAX_TABLES = 2, 5  # SDV's community HMA refuses more than 5 tables: refuse them at submit, not in the job


def table_name(dataset_name: str, position: int) -> str:
    """``customers.csv`` -> ``customers``: letters, digits and ``_`` only, so it is a safe file name
    for the ``<table>.parquet`` artifact and a valid SDV table name."""
    stem = str(dataset_name or "").rsplit("/", 1)[-1].split(".", 1)[0]
    clean = re.sub(r"[^A-Za-z0-9_]+", "_", stem).strip("_")
    return clean or f"table_{position}"


def table_names(dataset_names: Sequence[str]) -> list[str]:
    """One table name per input; two inputs that clean to the same name are an error on ``inputs``."""
    names = [table_name(name, i) for i, name in enumerate(dataset_names)]
    for i, name in enumerate(names):
        if name in names[:i]:
            raise SynthesisError("inputs", f"inputs {names.index(name)} and {i} both become table {name!r}; rename one")
    return names


def check_relationships(relationships: list[dict[str, str]] | None, columns: dict[str, list[str]]) -> None:
    """Every relationship names known tables and columns; errors name ``relationships.<i>.<field>``."""
    for i, rel in enumerate(relationships or []):
        for side in ("parent", "child"):
            table = rel[f"{side}_table"]
            if table not in columns:
                raise SynthesisError(
                    f"relationships.{i}.{side}_table", f"unknown table {table!r}; the tables are {', '.join(columns)}"
                )
        for side, key in (("parent", "parent_primary_key"), ("child", "child_foreign_key")):
            table, column = rel[f"{side}_table"], rel[key]
            if column not in columns[table]:
                shown = ", ".join(columns[table][:20])
                raise SynthesisError(
                    f"relationships.{i}.{key}", f"table {table!r} has no column {column!r}; its columns are {shown}"
                )
        if rel["parent_table"] == rel["child_table"]:
            raise SynthesisError(f"relationships.{i}.child_table", "a table cannot be its own parent")


@dataclass
class MultiMetadata:
    """SDV's multi-table metadata plus what the appliance needs to read the sources again."""

    sdv: dict[str, Any]
    date_formats: dict[str, dict[str, str | None]] = field(default_factory=dict)
    table_rows: dict[str, int] = field(default_factory=dict)
    relationships_detected: bool = False

    @property
    def tables(self) -> list[str]:
        return list(self.sdv["tables"])

    @property
    def relationships(self) -> list[dict[str, str]]:
        rels: list[dict[str, str]] = self.sdv.get("relationships") or []
        return rels

    def roots(self) -> list[str]:
        """Tables that are no one's child: ``params.rows`` of a synthesize job counts their rows."""
        children = {rel["child_table_name"] for rel in self.relationships}
        return [name for name in self.tables if name not in children]

    def table(self, name: str) -> table_meta.TableMetadata:
        return table_meta.TableMetadata(copy.deepcopy(self.sdv["tables"][name]), dict(self.date_formats.get(name, {})))

    def summary(self) -> list[dict[str, Any]]:
        """The model row's columns: one entry per column, each with its ``table``."""
        return [{"table": name, **col} for name in self.tables for col in self.table(name).summary()]

    def to_json(self) -> dict[str, Any]:
        return {
            "multi_table": True,
            "sdv": self.sdv,
            "date_formats": self.date_formats,
            "table_rows": self.table_rows,
            "relationships_detected": self.relationships_detected,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MultiMetadata:
        return cls(
            copy.deepcopy(data["sdv"]),
            {k: dict(v) for k, v in (data.get("date_formats") or {}).items()},
            {k: int(v) for k, v in (data.get("table_rows") or {}).items()},
            bool(data.get("relationships_detected")),
        )

    def to_sdv(self) -> Any:
        from sdv.metadata import Metadata

        return Metadata.load_from_dict({**copy.deepcopy(self.sdv), "METADATA_SPEC_VERSION": "V2"})


def is_multi(model_metadata: dict[str, Any] | None) -> bool:
    return bool((model_metadata or {}).get("multi_table"))


def _sdv_error(field_name: str, exc: Exception) -> SynthesisError:
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    return SynthesisError(field_name, "; ".join(lines[:4]) or type(exc).__name__)


def _given(specs: dict[str, dict[str, Any]], relationships: list[dict[str, str]]) -> dict[str, Any]:
    """The caller's relationships on top of each table's own detection: keys become ``id`` columns."""
    for rel in relationships:
        parent, child = specs[rel["parent_table"]], specs[rel["child_table"]]
        parent["columns"][rel["parent_primary_key"]] = {"sdtype": "id"}
        parent["primary_key"] = rel["parent_primary_key"]
        child["columns"][rel["child_foreign_key"]] = {"sdtype": "id"}
        if child.get("primary_key") == rel["child_foreign_key"]:
            child.pop("primary_key")
    rels = [
        {
            "parent_table_name": rel["parent_table"],
            "parent_primary_key": rel["parent_primary_key"],
            "child_table_name": rel["child_table"],
            "child_foreign_key": rel["child_foreign_key"],
        }
        for rel in relationships
    ]
    return {"tables": specs, "relationships": rels}


def detect(
    frames: dict[str, pd.DataFrame], relationships: list[dict[str, str]] | None
) -> tuple[dict[str, pd.DataFrame], MultiMetadata]:
    """Parsed frames and their metadata. Dates are parsed per table first (as single-table
    training does), so key detection and the model both see real timestamps."""
    import_sdv()
    from sdv.errors import InvalidDataError
    from sdv.metadata import Metadata
    from sdv.metadata.errors import InvalidMetadataError

    parsed: dict[str, pd.DataFrame] = {}
    specs: dict[str, dict[str, Any]] = {}
    formats: dict[str, dict[str, str | None]] = {}
    for i, (name, frame) in enumerate(frames.items()):
        if len(frame) == 0 or len(frame.columns) == 0:
            raise SynthesisError(f"inputs.{i}", "the dataset holds no rows")
        parsed[name], single = table_meta.detect(frame, keys=True)
        specs[name], formats[name] = single.spec, single.date_formats
    columns = {name: list(frame.columns) for name, frame in parsed.items()}
    if relationships:
        check_relationships(relationships, columns)
        sdv_dict = _given(specs, relationships)
    else:
        detected = Metadata.detect_from_dataframes(parsed, infer_keys="primary_and_foreign").to_dict()
        sdv_dict = {"tables": detected["tables"], "relationships": detected.get("relationships") or []}
        if not sdv_dict["relationships"]:
            raise SynthesisError(
                "relationships", "no relationship between the tables was detected; give params.relationships"
            )
    result = MultiMetadata(sdv_dict, formats, {n: len(f) for n, f in parsed.items()}, not relationships)
    try:
        sdv_metadata = result.to_sdv()
        sdv_metadata.validate()
        sdv_metadata.validate_data(parsed)
    except (InvalidMetadataError, InvalidDataError) as exc:
        raise _sdv_error("relationships", exc) from exc
    return parsed, result


class _Stop(BaseException):
    """Cancel inside SDV's fit. A BaseException, because HMA's per-parent loop swallows every
    ``Exception`` of a child fit ("skip subsets that fail"); ``_cancel_checks`` turns it into
    ``TrainingCanceled`` once it is out of SDV."""


class _CheckedFactory:
    """Stands in for HMA's ``_synthesizer`` class while fitting: asks ``cancel_cb`` first."""

    def __init__(self, real: Any, cancel_cb: CancelCallback) -> None:
        self.real, self.cancel_cb, self.__name__ = real, cancel_cb, real.__name__

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        if self.cancel_cb():
            raise _Stop()
        return self.real(*args, **kwargs)


class _CheckedTables(dict):  # type: ignore[type-arg]
    """HMA's per-table synthesizers while fitting: every lookup asks ``cancel_cb`` first."""

    cancel_cb: CancelCallback

    def __getitem__(self, key: Any) -> Any:
        if self.cancel_cb():
            raise _Stop()
        return super().__getitem__(key)


@contextmanager
def _cancel_checks(model: Any, cancel_cb: CancelCallback | None) -> Iterator[None]:
    """Hook ``cancel_cb`` into an HMASynthesizer for one fit, then put SDV's own objects back so
    the saved model holds nothing of ours."""
    if cancel_cb is None:
        yield
        return
    tables = _CheckedTables(model._table_synthesizers)
    tables.cancel_cb = cancel_cb
    model._synthesizer = _CheckedFactory(type(model)._synthesizer, cancel_cb)
    model._table_synthesizers = tables
    try:
        yield
    except _Stop as exc:
        raise TrainingCanceled() from exc
    finally:
        del model._synthesizer
        model._table_synthesizers = dict(tables)


class HMAModel:
    """SDV's HMASynthesizer (Gaussian copulas per table; CPU only) behind a seeded sample."""

    engine = "sdv"
    synthesizer = HMA
    device = "cpu"

    def __init__(self, model: Any = None) -> None:
        self.model = model

    def fit(
        self, frames: dict[str, pd.DataFrame], metadata: MultiMetadata, cancel_cb: CancelCallback | None = None
    ) -> FitSummary:
        """Fit HMA on ``frames``; ``cancel_cb`` is asked before every per-parent extension fit (the
        slow part: one copula per parent row) and every per-table access while preprocessing and
        modelling, so a cancel lands within one small fit, not after the whole training."""
        import_sdv()
        from sdv.errors import SynthesizerInputError
        from sdv.multi_table import HMASynthesizer

        if cancel_cb is not None and cancel_cb():
            raise TrainingCanceled()
        started = time.perf_counter()
        try:  # SDV's community HMA refuses over 5 tables or more than two levels of parents
            model = HMASynthesizer(metadata.to_sdv(), verbose=False)
        except SynthesizerInputError as exc:
            raise SynthesisError("relationships", str(exc).splitlines()[0]) from exc
        try:
            with _cancel_checks(model, cancel_cb):
                model.fit(frames)
        except (ValueError, KeyError) as exc:
            raise _sdv_error("inputs", exc) from exc
        if cancel_cb is not None and cancel_cb():
            raise TrainingCanceled()
        self.model = model
        rows = sum(len(frame) for frame in frames.values())
        return FitSummary(HMA, self.device, rows, None, round(time.perf_counter() - started, 3))

    def sample(self, rows: int, seed: int, metadata: MultiMetadata) -> dict[str, pd.DataFrame]:
        """``rows`` rows of the largest root table and its share of every other table, all in
        memory: the chunks of ``multi_sampling.sample_chunks`` joined (a job streams them instead)."""
        import pandas as pd

        from appliance.services.synth.multi_sampling import sample_chunks

        parts: dict[str, list[pd.DataFrame]] = {name: [] for name in metadata.tables}
        for chunk in sample_chunks(self, rows, seed, metadata):
            for name, frame in chunk.tables.items():
                parts[name].append(frame)
        return {name: pd.concat(frames, ignore_index=True) for name, frames in parts.items()}

    def save(self, path: Path) -> None:
        self.model.save(str(path))

    @classmethod
    def load(cls, path: Path) -> HMAModel:
        import_sdv()
        from sdv.multi_table import HMASynthesizer
        from sdv.utils import load_synthesizer

        model = load_synthesizer(str(path))
        if not isinstance(model, HMASynthesizer):
            raise SynthesisError("model_id", f"not a multi-table model ({type(model).__name__})")
        return cls(model)


def quality(
    real: dict[str, pd.DataFrame], synthetic: dict[str, pd.DataFrame], metadata: MultiMetadata, seed: int
) -> dict[str, Any]:
    """sdmetrics' multi-table quality report (column shapes, pair trends, cardinality, intertable
    trends), plus each table's single-table quality and diagnostic. The whole tables are compared
    (no subsample): sampling rows apart would break the keys the cardinality scores follow."""
    from sdmetrics.reports.multi_table import QualityReport

    from appliance.services.synth import seeding
    from appliance.services.synth.quality import QUALITY_PROPERTIES, _properties, _score, fidelity

    names = {**QUALITY_PROPERTIES, "Cardinality": "cardinality", "Intertable Trends": "intertable_trends"}
    tables = {name: fidelity(real[name], synthetic[name], metadata.table(name), seed) for name in metadata.tables}
    seeding.seed_globals(seed)
    out: dict[str, Any]
    try:
        report = QualityReport()
        report.generate(real, synthetic, copy.deepcopy(metadata.sdv), verbose=False)
        out = {"score": _score(report.get_score()), **_properties(report, names)}
    except Exception as exc:
        scores = [t["quality"].get("score") for t in tables.values() if t["quality"].get("score") is not None]
        mean = round(sum(scores) / len(scores), 6) if scores else None
        out = {"score": mean, "error": f"{type(exc).__name__}: {exc}"}
    return {"quality": out, "tables": tables}


def _topological(metadata: MultiMetadata) -> list[str]:
    """Tables with every parent before its children (HMA's graphs have no cycles)."""
    parents = {name: {r["parent_table_name"] for r in metadata.relationships if r["child_table_name"] == name}
               for name in metadata.tables}
    order: list[str] = []
    while len(order) < len(parents):
        ready = [name for name in metadata.tables if name not in order and parents[name] <= set(order)]
        if not ready:
            raise SynthesisError("relationships", "the relationships form a cycle")
        order.extend(ready)
    return order


def keep_closed(
    frames: dict[str, pd.DataFrame], metadata: MultiMetadata, root_keep: dict[str, Any]
) -> dict[str, Any]:
    """Boolean masks, one per table: the root rows in ``root_keep`` and every row whose every
    non-null foreign key points at a kept row. The kept rows are a closed set of tables (no
    dangling key), and so is the rest: a row that refers to a dropped row is dropped with it."""
    import numpy as np

    masks = {name: np.ones(len(frames[name]), dtype=bool) for name in metadata.tables}
    masks.update({name: np.asarray(mask, dtype=bool) for name, mask in root_keep.items()})
    for name in _topological(metadata):
        for rel in metadata.relationships:
            if rel["child_table_name"] != name:
                continue
            parent = frames[rel["parent_table_name"]]
            kept = parent.loc[masks[rel["parent_table_name"]], rel["parent_primary_key"]]
            keys = frames[name][rel["child_foreign_key"]]
            masks[name] &= (keys.isna() | keys.isin(kept)).to_numpy()
    return masks


def split_tables(
    frames: dict[str, pd.DataFrame], metadata: MultiMetadata, fraction: float, seed: int
) -> tuple[dict[str, pd.DataFrame], dict[str, pd.DataFrame]]:
    """(train, holdout) of related tables: each root table is split as a single table is
    (``split.split``'s seeded permutation, one stream per root), and every row that refers to a
    held-out row is held out with it, so both sides keep their keys whole. Recomputed exactly from
    the tables, the fraction and the seed, like the single-table split."""
    import numpy as np

    from appliance.services.synth.split import holdout_count

    roots = sorted(metadata.roots() or metadata.tables)
    keep: dict[str, Any] = {}
    for i, name in enumerate(roots):
        rows = len(frames[name])
        order = np.random.default_rng(np.random.SeedSequence([int(seed), i])).permutation(rows)
        held = np.zeros(rows, dtype=bool)
        held[order[: holdout_count(rows, fraction)]] = True
        keep[name] = ~held
    masks = keep_closed(frames, metadata, keep)
    train = {name: frames[name][masks[name]].reset_index(drop=True) for name in metadata.tables}
    holdout = {name: frames[name][~masks[name]].reset_index(drop=True) for name in metadata.tables}
    return train, holdout


def key_columns(metadata: MultiMetadata, name: str) -> set[str]:
    """A table's key columns (its ``id`` columns: primary and foreign keys). Synthetic keys are
    new numbers or codes by design, so privacy distances leave them out."""
    columns = metadata.sdv["tables"][name]["columns"]
    keys = {column for column, spec in columns.items() if spec.get("sdtype") == "id"}
    for rel in metadata.relationships:
        if rel["child_table_name"] == name:
            keys.add(rel["child_foreign_key"])
        if rel["parent_table_name"] == name:
            keys.add(rel["parent_primary_key"])
    return keys


def privacy(
    synthetic: dict[str, pd.DataFrame],
    train: dict[str, pd.DataFrame],
    holdout: dict[str, pd.DataFrame] | None,
    metadata: MultiMetadata,
    seed: int,
) -> dict[str, Any]:
    """Per table, the single-table privacy report (DCR to the training rows beside the holdout's,
    exact copies) over the non-key columns; ``risk`` is the worst table's. A table with no
    column but keys has nothing to compare and is left out."""
    from appliance.services.synth.privacy import privacy_report

    tables: dict[str, Any] = {}
    for i, name in enumerate(metadata.tables):
        keys = key_columns(metadata, name)
        columns = [c for c in train[name].columns if c not in keys and c in synthetic[name].columns]
        if not columns or not len(synthetic[name]) or not len(train[name]):
            continue
        held = holdout[name][columns] if holdout is not None and name in holdout else None
        tables[name] = privacy_report(synthetic[name][columns], train[name][columns], held, seed + i)
    risks = {table["risk"] for table in tables.values()}
    risk = "elevated" if "elevated" in risks else "unknown" if "unknown" in risks or not risks else "low"
    return {"risk": risk, "tables": tables}


def quality_reference(
    train: dict[str, pd.DataFrame], holdout: dict[str, pd.DataFrame], metadata: MultiMetadata, seed: int
) -> dict[str, Any]:
    """Each table's quality of its real holdout against its training rows: the score a perfect
    synthesizer could reach, to read the synthetic rows' score beside (tables with a holdout)."""
    from appliance.services.synth.quality import fidelity

    out: dict[str, Any] = {}
    for name in metadata.tables:
        if len(holdout.get(name, ())) and len(train[name]):
            quality = fidelity(train[name], holdout[name], metadata.table(name), seed)["quality"]
            out[name] = {key: quality.get(key) for key in ("score", "column_shapes", "column_pair_trends")}
    return out
