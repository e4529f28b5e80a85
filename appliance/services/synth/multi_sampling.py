"""Sampling a multi-table (HMA) model in chunks of root rows, so any row count runs in flat memory.

Why not SDV's ``sample_scale``: it builds every table whole in memory (and joins each parent's
child rows onto the table so far, one ``concat`` per parent, quadratic in the rows), so memory and
time grow with the rows asked for. Here the root table is cut into chunks of ``per_chunk`` rows,
sized so a chunk holds about ``CHUNK_ROWS`` rows over all tables; each chunk is sampled as HMA
samples a whole dataset (roots, then each parent's children from the copula its row carries), its
foreign keys and dtypes finished, and handed on to be written before the next one is drawn.

Determinism: the model and every table's transformers are seeded once from the job's seed (as
``HMAModel.sample`` always was), then the chunks draw from one NumPy stream in order, so a seed
gives the same chunks in any process. Tables and their children are walked in sorted order, not
SDV's ``set`` order, which changes with ``PYTHONHASHSEED``. The key generators are never reset
between chunks, so primary keys stay unique over the whole output.

A child table with two parents gets its second foreign key from parents of the same chunk (SDV
picks it by likelihood among the sampled parent rows, and a chunk holds only its own).
"""

from __future__ import annotations

import warnings
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.services.synth.interface import SynthesisError

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

    from appliance.services.synth.multi import HMAModel, MultiMetadata

CHUNK_ROWS = 50_000
KEEP_ROWS = 20_000


@dataclass
class Chunk:
    """One chunk of every table; ``roots`` is how many rows of the main root table it holds."""

    index: int
    roots: int
    tables: dict[str, pd.DataFrame]

    @property
    def rows(self) -> int:
        return sum(len(frame) for frame in self.tables.values())


def plan(model: Any, metadata: MultiMetadata, chunk_rows: int = CHUNK_ROWS) -> tuple[str, int]:
    """(main root table, its rows per chunk): the largest root table (by training rows, then
    name) sets the scale, and a chunk takes as many of its rows as bring about ``chunk_rows``
    rows over all tables at the training data's proportions."""
    sizes = {name: int(size) for name, size in model._table_sizes.items()}
    roots = sorted(metadata.roots() or metadata.tables)
    main = max(roots, key=lambda name: (sizes.get(name, 0), name))
    total = max(sum(sizes.values()), 1)
    return main, max(1, chunk_rows * max(sizes.get(main, 1), 1) // total)


def _seed(model: Any, seed: int) -> None:
    from appliance.services.synth import seeding

    model.reset_sampling()
    names = sorted(model._table_synthesizers)
    states = seeding.seed_states(seed, len(names) + 1)
    for name, state in zip(names, states[1:], strict=True):
        seeding.seed_sampler(model._table_synthesizers[name], state)
    model._numpy_seed = states[0]


def _child_rows(model: Any, child: str, parent: str, row: Any, count: int | None) -> pd.DataFrame | None:
    """One parent row's children (SDV's ``_add_child_rows`` without joining them onto the table)."""
    foreign_key = model.metadata._get_foreign_keys(parent, child)[0]
    if count is None:
        count = row[f"__{child}__{foreign_key}__num_rows"]
    synthesizer = model._recreate_child_synthesizer(child, parent, row)
    rows = model._sample_rows(synthesizer, count)
    if not len(rows):
        return None
    key = row[model.metadata.tables[parent].primary_key] if row is not None else float("nan")
    rows[foreign_key] = key
    return rows


def _constrained(synthesizer: Any) -> bool:
    return bool(getattr(synthesizer, "_chained_constraints", None) or getattr(
        synthesizer, "_reject_sampling_constraints", None))


def _batched_children(model: Any, child: str, parent: str, parents: pd.DataFrame) -> list[pd.DataFrame]:
    """Every parent row's children drawn as SDV draws them (a copula rebuilt from the parameters
    the parent row carries, its generator reset to SDV's fixed seed, as each fresh child
    synthesizer's is), but in the copula's space only, then turned back into values in one
    ``reverse_transform`` for all parents. SDV builds a synthesizer and runs the whole
    transformer stack once per parent, which is most of its sampling time; the draws here are the
    same, the transformers' own noise and key generators are called once per chunk instead."""
    import pandas as pd
    from sdv.single_table.base import FIXED_RNG_SEED

    table_synthesizer = model._table_synthesizers[child]
    foreign_key = model.metadata._get_foreign_keys(parent, child)[0]
    parent_key = model.metadata.tables[parent].primary_key
    synthesizer = model._synthesizer(model.metadata.get_table_metadata(child), **model._table_parameters[child])
    extended = getattr(model, "_parent_extended_columns", {}).get(child, [])
    if extended:
        model._set_extended_columns_distributions(synthesizer, child, extended)
    defaults = getattr(model, "_default_parameters", {}).get(child, {})
    raws: list[pd.DataFrame] = []
    keys: list[Any] = []
    apart: list[pd.DataFrame] = []  # parents whose parameters build no copula: SDV's own path
    for _, row in parents.astype(object).iterrows():
        count = round(row[f"__{child}__{foreign_key}__num_rows"])
        if count <= 0:
            continue
        synthesizer._model = None
        synthesizer._set_parameters(model._extract_parameters(row, child, foreign_key), defaults)
        if synthesizer._model is None:
            rows = _child_rows(model, child, parent, row, count)
            apart += [rows] if rows is not None else []
            continue
        synthesizer._set_random_state(FIXED_RNG_SEED)
        raws.append(synthesizer._sample(count))
        keys += [row[parent_key]] * len(raws[-1])
    if not raws:
        return apart
    raw = pd.concat(raws, ignore_index=True)
    rows = table_synthesizer._data_processor.reverse_transform(raw)
    rows = table_synthesizer.reverse_transform_constraints(rows)
    inputs = table_synthesizer._data_processor._hyper_transformer._input_columns
    extra = [c for c in raw.columns if c not in set(inputs) | set(rows.columns)]
    if extra:
        rows = pd.concat([rows, raw.loc[rows.index, extra]], axis=1)
    rows[foreign_key] = pd.Series(keys, dtype=object).loc[rows.index].to_numpy()
    return [rows.reset_index(drop=True), *apart]


def _children(model: Any, table: str, sampled: dict[str, pd.DataFrame], scale: float) -> None:
    """SDV's ``_sample_children``, children in sorted order and each table joined once."""
    import pandas as pd

    for child in sorted(model.metadata._get_child_map()[table]):
        model._enforce_table_size(child, table, scale, sampled)
        if child in sampled:  # sampled from another parent already
            continue
        foreign_key = model.metadata._get_foreign_keys(table, child)[0]
        if _constrained(model._table_synthesizers[child]):  # rejection needs SDV's retries per parent
            rows = sampled[table].astype(object).iterrows()
            found = [part for _, row in rows if (part := _child_rows(model, child, table, row, None)) is not None]
        else:
            found = _batched_children(model, child, table, sampled[table])
        if not found:  # no parent drew a child: one row for the parent expecting the most, as SDV does
            counts = pd.to_numeric(sampled[table][f"__{child}__{foreign_key}__num_rows"], errors="coerce")
            forced = _child_rows(model, child, table, sampled[table].iloc[counts.idxmax()], 1)
            found = [forced] if forced is not None else []
        nulls = getattr(model, "_null_foreign_key_percentages", {}).get(f"__{child}__{foreign_key}", 0)
        null_rows = round(round(model._table_sizes[child] * scale) * nulls)
        if null_rows > 0:
            orphans = _child_rows(model, child, table, None, null_rows)
            found += [orphans] if orphans is not None else []
        sampled[child] = pd.concat(found, ignore_index=True)
        _children(model, child, sampled, scale)


def _one_chunk(model: Any, roots: list[str], scale: float) -> dict[str, pd.DataFrame]:
    """A whole dataset at ``scale`` (SDV's ``_sample`` and ``_sample_from_scale``, ordered)."""
    from sdv.logging import disable_single_table_logger

    sampled: dict[str, pd.DataFrame] = {}
    with model._set_temp_numpy_seed(), disable_single_table_logger():
        for table in roots:
            count = max(1, round(model._table_sizes[table] * scale))
            sampled[table] = model._sample_rows(model._table_synthesizers[table], count)
            _children(model, table, sampled, scale)
        done: set[tuple[str, str]] = set()
        for rel in model.metadata.relationships:
            pair = (rel["parent_table_name"], rel["child_table_name"])
            if pair not in done:
                model._add_foreign_key_columns(sampled[pair[1]], sampled[pair[0]], pair[1], pair[0])
                done.add(pair)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", message="The metadata lists columns in a different order")
            sampled = model._reverse_transform_constraints(sampled)
        final = model._finalize(sampled)
    renames = getattr(model, "_original_table_columns", {})
    out = {}
    for name, frame in final.items():
        table = frame[model.get_metadata().get_column_names(name)]
        if isinstance(renames.get(name), dict):
            table = table.rename(columns=renames[name])
        elif name in renames:
            table.columns = renames[name]
        out[name] = table.reset_index(drop=True)
    return out


class _Keys:
    """Numbered primary keys over the whole output, in place of SDV's faker-drawn ones.

    SDV draws an integer primary key with Faker's ``unique.random_int`` (0 to 9,999,999), which
    remembers every key it gave to stay unique: memory grew by about 66 bytes a row (550 MB at
    1 M child rows against 497 MB at 200 k), and past the range's size it cannot go on. Here each
    such table's keys are renumbered 1, 2, ... over all chunks (and its children's foreign keys
    mapped along), and Faker's memory is cleared after each chunk: keys stay unique within a chunk,
    which is all the mapping needs."""

    def __init__(self, model: Any, metadata: MultiMetadata) -> None:
        self.model, self.metadata = model, metadata
        self.next: dict[str, int] = {}
        self.fakers: dict[str, Any] = {}
        for name in metadata.tables:
            key = model.metadata.tables[name].primary_key
            synthesizer = model._table_synthesizers[name]
            transformer = synthesizer._data_processor._hyper_transformer.field_transformers.get(key)
            if isinstance(key, str) and getattr(transformer, "faker", None) is not None:
                self.fakers[name] = transformer

    def renumber(self, tables: dict[str, pd.DataFrame]) -> None:
        import numpy as np
        import pandas as pd

        for name, transformer in self.fakers.items():
            key = self.model.metadata.tables[name].primary_key
            frame = tables[name]
            if not pd.api.types.is_numeric_dtype(frame[key]) or not frame[key].is_unique:
                continue
            start = self.next.get(name, 1)
            new = np.arange(start, start + len(frame), dtype="int64")
            mapping = pd.Series(new, index=frame[key].to_numpy())
            frame[key] = new
            self.next[name] = start + len(frame)
            for rel in self.metadata.relationships:
                if rel["parent_table_name"] == name:
                    child = tables[rel["child_table_name"]]
                    mapped = child[rel["child_foreign_key"]].map(mapping)
                    child[rel["child_foreign_key"]] = mapped.astype("Int64" if mapped.isna().any() else "int64")
            transformer.faker.unique.clear()


def sample_chunks(
    hma: HMAModel, rows: int, seed: int, metadata: MultiMetadata, chunk_rows: int = CHUNK_ROWS
) -> Iterator[Chunk]:
    """Chunks holding ``rows`` rows of the main root table in all (the others in proportion)."""
    model = hma.model
    if model is None:
        raise SynthesisError("model_id", "the model is not fitted")
    if rows < 1:
        raise SynthesisError("rows", "must be at least 1")
    main, per_chunk = plan(model, metadata, chunk_rows)
    roots = sorted(metadata.roots() or metadata.tables)
    _seed(model, seed)
    keys = _Keys(model, metadata)
    done = index = 0
    while done < rows:
        count = min(per_chunk, rows - done)
        tables = _one_chunk(model, roots, count / max(int(model._table_sizes[main]), 1))
        keys.renumber(tables)
        yield Chunk(index, count, {name: tables[name] for name in metadata.tables})
        done, index = done + count, index + 1


def first_rows(chunk: Chunk, metadata: MultiMetadata, limit: int = KEEP_ROWS) -> dict[str, pd.DataFrame]:
    """A closed part of a chunk (every key resolves) of about ``limit`` rows over all tables, for
    the report: its first root rows and what refers to them."""
    from appliance.services.synth.multi import keep_closed

    if chunk.rows <= limit:
        return chunk.tables
    keep = {}
    for name in metadata.roots() or metadata.tables:
        rows = len(chunk.tables[name])
        wanted = max(1, rows * limit // chunk.rows)
        keep[name] = [i < wanted for i in range(rows)]
    masks = keep_closed(chunk.tables, metadata, keep)
    return {name: frame[masks[name]].reset_index(drop=True) for name, frame in chunk.tables.items()}


class TableWriters:
    """One Parquet or CSV writer per table, opened on a table's first chunk; every later chunk is
    cast to that chunk's Arrow schema, so a column without nulls in one chunk keeps its type."""

    def __init__(self, folder: Path, fmt: str) -> None:
        self.folder, self.fmt = folder, fmt
        self.sinks: dict[str, Any] = {}
        self.schemas: dict[str, pa.Schema] = {}
        self.rows: dict[str, int] = {}

    def path(self, name: str) -> Path:
        return self.folder / f"{name}.{self.fmt}"

    def write(self, name: str, frame: pd.DataFrame) -> None:
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq

        from appliance.services.synth.frames import to_arrow

        table = to_arrow(frame, self.schemas.get(name))
        if name not in self.sinks:
            self.schemas[name] = table.schema
            opener = pq.ParquetWriter if self.fmt == "parquet" else pa_csv.CSVWriter
            self.sinks[name] = opener(self.path(name), table.schema)
        self.sinks[name].write_table(table)
        self.rows[name] = self.rows.get(name, 0) + len(frame)

    def close(self) -> None:
        for sink in self.sinks.values():
            sink.close()


def write_chunks(
    hma: HMAModel,
    rows: int,
    seed: int,
    metadata: MultiMetadata,
    writers: TableWriters,
    on_chunk: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
) -> dict[str, pd.DataFrame]:
    """Sample ``rows`` root rows into the writers chunk by chunk; returns the report's part of the
    first chunk. ``on_chunk`` gets the root rows done (a job's progress and cancel check)."""
    kept: dict[str, pd.DataFrame] = {}
    done = 0
    try:
        for chunk in sample_chunks(hma, rows, seed, metadata, chunk_rows):
            for name in metadata.tables:
                writers.write(name, chunk.tables[name])
            if chunk.index == 0:
                kept = first_rows(chunk, metadata)
            done += chunk.roots
            if on_chunk is not None:
                on_chunk(done)
    finally:
        writers.close()
    return kept
