"""`StreamCheck` (the parse an import runs while it reads) answers exactly as `check_content` (the
upload's parse of the stored file): the same rows and columns for a good file, the same error
class and message for each bad one, whatever size the chunks arrive in; and a check closed
mid-stream (a cancel) ends its parse without an answer."""

from __future__ import annotations

import io
import threading
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from appliance.services.datasets.formats import check_content
from appliance.services.datasets.limits import Limits
from appliance.services.datasets.naming import FormatError
from appliance.services.datasets.streaming import StreamCheck


def _parquet() -> bytes:
    sink = io.BytesIO()
    pq.write_table(pa.table({"a": [1, 2, 3]}), sink)
    return sink.getvalue()


def _long_csv(rows: int, tail: bytes = b"") -> bytes:
    """Several parse blocks of rows (the parse runs on its thread), then ``tail``."""
    return b"id,tag,value\n" + b"".join(b"%d,FIT%d,%d.5\n" % (i, i % 7, i) for i in range(rows)) + tail


CASES: dict[str, tuple[bytes, str, Limits]] = {
    "good.csv": (b"t,flow\n1,2.5\n2,2.7\n", "csv", Limits()),
    "good.tsv": (b"t\tflow\n1\t2.5\n2\t2.7\n", "tsv", Limits()),
    "long.csv": (_long_csv(400_000), "csv", Limits()),
    "ragged.csv": (b"a,b\n1,2\n3\n", "csv", Limits()),
    "ragged-late.csv": (_long_csv(400_000, b"1,2\n"), "csv", Limits()),
    "header-only.csv": (b"a,b\n", "csv", Limits()),
    "open-quote.csv": (b'a,b\n1,"x\n2,3\n', "csv", Limits()),
    "open-quote-late.csv": (_long_csv(400_000, b'1,"x,2\n'), "csv", Limits()),
    "literal-quote.csv": (b'a,b\n5" pipe,2\n', "csv", Limits()),
    "wide-header.csv": (",".join(f"c{i}" for i in range(2100)).encode() + b"\n1\n", "csv", Limits()),
    "parquet-named.csv": (_parquet(), "csv", Limits()),
    "not-utf8.csv": (b"a,b\n1,\xff\xfe\n", "csv", Limits()),
    "repeated-names.csv": (b"a,a\n1,2\n", "csv", Limits()),
    "big-cell.csv": (b"id,note\n1,ok\n2," + b"y" * (512 << 10) + b"\n", "csv", Limits()),
    "huge-field.csv": (b"id,note\n1,ok\n2," + b"y" * (9 << 20) + b"\n3,ok\n", "csv", Limits()),
    "decoded-limit.csv": (_long_csv(400_000), "csv", Limits(max_decoded_bytes=1 << 20)),
    "few-columns.csv": (b"a,b,c\n1,2,3\n", "csv", Limits(max_columns=2)),
}

GOOD = {"good.csv", "good.tsv", "long.csv", "literal-quote.csv"}


def _outcome(run: object) -> tuple[object, ...]:
    try:
        rows, columns = run()  # type: ignore[operator]
    except FormatError as exc:
        return (type(exc).__name__, str(exc))
    return ("ok", rows, columns)


@pytest.mark.parametrize("name", sorted(CASES))
@pytest.mark.parametrize("chunk", [1 << 20, 4099])
def test_stream_answers_as_the_file_check(tmp_path: Path, name: str, chunk: int) -> None:
    data, fmt, limits = CASES[name]
    path = tmp_path / name
    path.write_bytes(data)
    expected = _outcome(lambda: check_content(path, fmt, limits))
    check = StreamCheck(fmt, limits)
    for start in range(0, len(data), chunk):
        check.feed(data[start : start + chunk])
    assert _outcome(lambda: check.finish(path)) == expected
    assert (expected[0] == "ok") == (name in GOOD), expected


def test_close_mid_stream_ends_the_parse(tmp_path: Path) -> None:
    data = _long_csv(800_000)
    check = StreamCheck("csv", Limits())
    check.feed(data[: len(data) // 2])  # past the first block: the parse thread is running
    assert "stream-check" in [t.name for t in threading.enumerate()]
    check.close()
    check.close()
    assert "stream-check" not in [t.name for t in threading.enumerate()]


def test_only_csv_and_tsv_stream() -> None:
    for fmt in ("parquet", "jsonl"):
        with pytest.raises(ValueError, match="after the read"):
            StreamCheck(fmt, Limits())
