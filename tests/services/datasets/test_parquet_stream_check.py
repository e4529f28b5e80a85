"""`ParquetStreamCheck` (the decode an import runs while it writes a Parquet file whose footer
came first) answers exactly as `check_content` on the finished file: the same rows and columns
for a good file, decoded while it streamed, and the same error class and message for each bad
one; a check closed mid-stream (a cancel) ends its thread."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from appliance.services.datasets.formats import check_content
from appliance.services.datasets.limits import Limits
from appliance.services.datasets.streaming import TAIL_BYTES, ParquetStreamCheck
from tests.services.datasets.test_streaming_check import _outcome  # (rows, columns) or the error


def _parquet(table: pa.Table, **kwargs: object) -> bytes:
    sink = io.BytesIO()
    pq.write_table(table, sink, **kwargs)  # type: ignore[arg-type]
    return sink.getvalue()


def _trend(rows: int) -> pa.Table:
    return pa.table(
        {
            "t": pa.array(range(rows), pa.int64()),
            "tag": [f"FIT{i % 7}" for i in range(rows)],
            "level": [i / 8 if i % 5 else None for i in range(rows)],
        }
    )


BIG = _parquet(_trend(300_000), row_group_size=40_000)
WIDE = pa.table({"blob": [f"{i:06d}" + "x" * 2000 for i in range(3000)]})  # distinct: no dictionary
CASES: dict[str, tuple[bytes, Limits]] = {
    "small.parquet": (_parquet(_trend(10)), Limits()),
    "groups.parquet": (BIG, Limits()),
    "one-group.parquet": (_parquet(_trend(100_000)), Limits()),
    "wide-rows.parquet": (_parquet(WIDE, row_group_size=1000), Limits()),
    "repeated-names.parquet": (_parquet(pa.table([pa.array([1]), pa.array([2])], names=["a", "a"])), Limits()),
    "csv-inside.parquet": (b"a,b\n" + b"1,2\n" * 10_000, Limits()),
    "cut-short.parquet": (BIG[: len(BIG) // 2] + BIG[-TAIL_BYTES:], Limits()),
    "bad-page.parquet": (BIG[:400_000] + b"\xff" * 64 + BIG[400_064:], Limits()),
    "page-limit.parquet": (BIG, Limits(max_page_bytes=100_000)),
    "decoded-limit.parquet": (BIG, Limits(max_decoded_bytes=2_000_000)),
    "few-columns.parquet": (BIG, Limits(max_columns=2)),
    "cell-limit.parquet": (_parquet(pa.table({"a": ["y" * 3000, "z"]})), Limits(max_cell_bytes=1000)),
}
STREAMED = {"small.parquet", "groups.parquet", "one-group.parquet"}
GOOD = STREAMED | {"wide-rows.parquet"}  # rows of 2 KB: check_content's batches are smaller then


def _stream(path: Path, data: bytes, limits: Limits, chunk: int) -> ParquetStreamCheck:
    """Write ``data`` to ``path`` a chunk at a time as an import does, the check fed after each."""
    check = ParquetStreamCheck(path, len(data), data[-TAIL_BYTES:], limits)
    with path.open("wb") as fh:
        for start in range(0, len(data), chunk):
            fh.write(data[start : start + chunk])
            fh.flush()
            check.feed(data[start : start + chunk])
    return check


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunk", [1 << 20, 65_537])
def test_stream_answers_as_the_file_check(tmp_path: Path, name: str, chunk: int) -> None:
    data, limits = CASES[name]
    path = tmp_path / name
    check = _stream(path, data, limits, chunk)
    got = _outcome(lambda: check.finish(path))
    assert got == _outcome(lambda: check_content(path, "parquet", limits))
    assert check.streamed == (name in STREAMED), got
    assert (got[0] == "ok") == (name in GOOD), got


def test_footer_of_another_file_is_not_trusted(tmp_path: Path) -> None:
    """The footer fetched ahead describes other bytes (the object changed between the two GETs):
    the file written is checked as an upload is."""
    data = _parquet(_trend(50_000), row_group_size=10_000)
    other = _parquet(_trend(40_000), row_group_size=10_000)
    path = tmp_path / "changed.parquet"
    check = ParquetStreamCheck(path, len(data), other[-TAIL_BYTES:], Limits())
    path.write_bytes(data)
    check.feed(data)
    assert _outcome(lambda: check.finish(path)) == _outcome(lambda: check_content(path, "parquet", Limits()))
    assert not check.streamed


def test_close_mid_stream_ends_the_check(tmp_path: Path) -> None:
    path = tmp_path / "half.parquet"
    check = ParquetStreamCheck(path, len(BIG), BIG[-TAIL_BYTES:], Limits())
    path.write_bytes(BIG[: len(BIG) // 2])
    check.feed(BIG[: len(BIG) // 2])
    assert "parquet-stream-check" in [t.name for t in threading.enumerate()]
    check.close()
    check.close()
    assert "parquet-stream-check" not in [t.name for t in threading.enumerate()]
