"""Writing synthetic rows in chunks to Parquet or CSV, so any row count runs in bounded memory.

One seeded stream is cut into chunks of ``CHUNK_ROWS``; every chunk is cast to the first chunk's
Arrow schema (a column that happens to have no nulls in one chunk keeps its type). The first
``KEEP_ROWS`` rows are kept in memory for the report.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from appliance.services.synth.interface import Synthesizer
from appliance.services.synth.metadata import TableMetadata

if TYPE_CHECKING:
    import pandas as pd
    import pyarrow as pa

CHUNK_ROWS = 50_000
KEEP_ROWS = 10_000
SAMPLE_FORMATS = ("parquet", "csv")
MEDIA_TYPES = {"parquet": "application/vnd.apache.parquet", "csv": "text/csv"}


class _Writer:
    def __init__(self, path: Path, fmt: str) -> None:
        self.path, self.fmt = path, fmt
        self.schema: pa.Schema | None = None
        self.sink: Any = None

    def write(self, table: pa.Table) -> None:
        import pyarrow.csv as pa_csv
        import pyarrow.parquet as pq

        if self.sink is None:
            self.schema = table.schema
            if self.fmt == "parquet":
                self.sink = pq.ParquetWriter(self.path, table.schema)
            else:
                self.sink = pa_csv.CSVWriter(self.path, table.schema)
        self.sink.write_table(table)

    def close(self) -> None:
        if self.sink is not None:
            self.sink.close()


def write_rows(
    model: Synthesizer,
    rows: int,
    seed: int,
    fmt: str,
    path: Path,
    conditions: dict[str, Any] | None = None,
    on_chunk: Callable[[int], None] | None = None,
    chunk_rows: int = CHUNK_ROWS,
    table_metadata: TableMetadata | None = None,
) -> tuple[pd.DataFrame, int]:
    """Sample ``rows`` rows into ``path``; returns the first ``KEEP_ROWS`` of them (in model form,
    for the report) and the count written (fewer than ``rows`` only when conditions could not be met
    for every row). With ``table_metadata`` each chunk is repaired to obey its rules, then written
    with datetime columns back in their source type, zone and resolution."""
    import pandas as pd

    from appliance.services.synth.frames import to_arrow

    writer = _Writer(path, fmt)
    # a per-class model's class column is as fixed as a condition: repairs never move rows across classes
    class_column = getattr(model, "class_column", None)
    fixed = {**(conditions or {}), **({class_column: None} if class_column else {})}
    kept: list[pd.DataFrame] = []
    kept_rows = done = 0
    try:
        for sampled in model.sample_chunks(rows, seed, chunk_rows, conditions):
            chunk, written = sampled, sampled
            if table_metadata is not None:
                chunk = table_metadata.enforce(sampled, fixed)
                written = table_metadata.restore(chunk)
            writer.write(to_arrow(written, writer.schema))
            if kept_rows < KEEP_ROWS:
                kept.append(chunk.iloc[: KEEP_ROWS - kept_rows])
                kept_rows += len(kept[-1])
            done += len(chunk)
            if on_chunk is not None:
                on_chunk(done)
    finally:
        writer.close()
    return (pd.concat(kept, ignore_index=True) if kept else pd.DataFrame()), done
