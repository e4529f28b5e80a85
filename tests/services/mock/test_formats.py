"""Round trips: what generate writes reads back as exactly the rows preview shows."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import math
from pathlib import Path
from typing import Any

import pyarrow.csv as pacsv
import pyarrow.parquet as pq
import pytest

from appliance.services.mock import GenerationCanceled, SchemaError, generate, preview

from .helpers import one_table, wide


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float | int):
        return math.isclose(a, b, rel_tol=1e-12, abs_tol=1e-12)
    return bool(a == b)


def test_parquet_round_trip(tmp_path: Path) -> None:
    schema = wide(300)
    files = generate(schema, 11, tmp_path, "parquet")
    assert [(f.table, f.format, f.path.name) for f in files] == [
        ("customers", "parquet", "customers.parquet"), ("orders", "parquet", "orders.parquet")]
    expected = preview(schema, 300, seed=11)["customers"]
    table = pq.read_table(files[0].path)
    assert table.num_rows == files[0].rows == 300
    assert str(table.schema.field("ts").type) == "timestamp[us]"
    for got, want in zip(table.to_pylist(), expected, strict=True):
        got = {k: v.isoformat(timespec="seconds") if isinstance(v, dt.datetime) else
               v.isoformat() if isinstance(v, dt.date | dt.time) else v for k, v in got.items()}
        assert all(_same(got[k], want[k]) for k in want), (got, want)
    assert pq.read_table(files[1].path).num_rows == files[1].rows


def test_jsonl_round_trip(tmp_path: Path) -> None:
    schema = wide(300)
    files = generate(schema, 5, tmp_path, "jsonl")
    expected = preview(schema, 300, seed=5)
    for f in files:
        lines = f.path.read_text(encoding="utf-8").splitlines()
        assert len(lines) == f.rows
        rows = [json.loads(line) for line in lines]
        want = expected[f.table][: len(rows)]
        for got, exp in zip(rows, want, strict=False):
            assert list(got) == list(exp)
            assert all(_same(got[k], exp[k]) for k in exp), (got, exp)


def test_csv_round_trip(tmp_path: Path) -> None:
    schema = wide(300)
    files = generate(schema, 5, tmp_path, "csv")
    expected = preview(schema, 300, seed=5)["customers"]
    options = pacsv.ConvertOptions(strings_can_be_null=True, quoted_strings_can_be_null=False)
    table = pacsv.read_csv(files[0].path, convert_options=options)
    assert table.num_rows == 300
    got_rows = table.to_pylist()
    for got, want in zip(got_rows, expected, strict=True):
        assert got["id"] == want["id"]
        assert got["note"] == want["note"]
        assert got["email"] == want["email"]
        assert got["country"] == want["country"]
        assert _same(got["income"], want["income"])
        assert got["active"] == want["active"]
        assert got["signup"].isoformat() == want["signup"]
        assert got["ts"].isoformat() == want["ts"]


def test_empty_table_writes_valid_files(tmp_path: Path) -> None:
    schema = one_table([{"name": "x", "type": "int", "generator": "uniform", "min": 0, "max": 9}], rows=0)
    for fmt in ("parquet", "csv", "jsonl"):
        (f,) = generate(schema, 1, tmp_path / fmt, fmt)
        assert f.rows == 0 and f.path.exists()
    assert pq.read_table(tmp_path / "parquet" / "t.parquet").num_rows == 0
    assert (tmp_path / "csv" / "t.csv").read_text().strip() == '"x"'
    assert (tmp_path / "jsonl" / "t.jsonl").read_text() == ""


def test_progress_and_cancel_leave_no_files(tmp_path: Path) -> None:
    schema = wide(5_000)
    seen: list[tuple[int, int]] = []
    generate(schema, 1, tmp_path / "ok", "csv", chunk_size=1_000, progress=lambda d, t: seen.append((d, t)))
    assert seen[-1][0] == seen[-1][1] and seen[0][0] == 1_000
    assert all(a[0] < b[0] for a, b in itertools.pairwise(seen))

    calls = {"n": 0}

    def cancel() -> bool:
        calls["n"] += 1
        return calls["n"] > 7

    with pytest.raises(GenerationCanceled):
        generate(schema, 1, tmp_path / "cancel", "parquet", chunk_size=1_000, should_cancel=cancel)
    assert list((tmp_path / "cancel").iterdir()) == []


@pytest.mark.parametrize(("kwargs", "field"), [
    ({"fmt": "xlsx"}, "format"), ({"chunk_size": 0}, "chunk_size"), ({"seed": -1}, "seed")])
def test_generate_rejects_bad_arguments(tmp_path: Path, kwargs: dict[str, Any], field: str) -> None:
    args: dict[str, Any] = {"seed": 1, "fmt": "parquet", "chunk_size": 10, **kwargs}
    with pytest.raises(SchemaError) as info:
        generate(wide(10), args.pop("seed"), tmp_path, **args)
    assert info.value.field_path == field


def test_preview_limits() -> None:
    with pytest.raises(SchemaError) as info:
        preview(wide(10), 1_001, seed=1)
    assert info.value.field_path == "rows"
    assert len(preview(wide(10), 1_000, seed=1)["customers"]) == 10


def test_row_counts_match_written_files(tmp_path: Path) -> None:
    from appliance.services.mock import row_counts

    schema = wide(2_000)
    counts = row_counts(schema, 3)
    files = generate(schema, 3, tmp_path, "jsonl", chunk_size=100_000)
    assert counts == {f.table: f.rows for f in files}
    assert counts["customers"] == 2_000 and 5_000 < counts["orders"] < 7_000
