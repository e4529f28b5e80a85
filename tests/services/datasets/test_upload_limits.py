"""Decompression bombs and deep nesting in uploads: refused at the door, within bounded memory.

#12 items 3 and 4: a 20 KB zstd Parquet that decodes to 1.5 GB, CSV and JSONL with enormous
fields, JSONL lines nested 5,000 (and 200,000) levels deep, and small files that make pyarrow build
hundreds of thousands of columns. Each must be refused at upload with
an error that names the limit and its `[datasets]` key, leave nothing behind, and cost the process
that handles it less than 256 MiB above its baseline. Preview and profile answers are capped by
bytes as well as rows and say when they were cut.
"""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from flask.testing import FlaskClient

from tests.conftest import auth, wait_for
from tests.services.datasets.test_upload import upload

ROOT = Path(__file__).resolve().parents[3]
MEMORY_BOUND_KIB = 256 * 1024


BOMB = Path(__file__).parent / "data" / "bomb-1500x1MiB-zstd.parquet"


def parquet_bomb() -> bytes:
    """1,500 rows, each one 1 MiB string, zstd: 20 KB on the wire, 1.5 GB once decoded.

    Kept as a file because making it holds 1.5 GB and takes a minute; it was written with
    `pq.write_table(pa.table({"blob": ["x" * (1 << 20)] * 1500}), path, compression="zstd",
    compression_level=22)`."""
    data = BOMB.read_bytes()
    metadata = pq.ParquetFile(BOMB).metadata
    assert metadata.num_rows == 1500 and metadata.row_group(0).column(0).compression == "ZSTD"
    return data


def dictionary_bomb() -> bytes:
    """The same 1.5 GB in 523 bytes: one dictionary entry, referenced by every row."""
    sink = io.BytesIO()
    values = pa.DictionaryArray.from_arrays(pa.array([0] * 1500, pa.int32()), pa.array(["x" * (1 << 20)]))
    pq.write_table(pa.table({"blob": values}), sink, compression="zstd")
    return sink.getvalue()


def nested(depth: int) -> bytes:
    return b'{"a": ' * depth + b"1" + b"}" * depth


BOMBS: dict[str, tuple[bytes, int, str, str]] = {
    # name: (content, status, code, the config key the message must name)
    "bomb.parquet": (parquet_bomb(), 413, "UPLOAD_LIMIT_EXCEEDED", "max_page_bytes"),
    "dictionary-bomb.parquet": (dictionary_bomb(), 413, "UPLOAD_LIMIT_EXCEEDED", "max_cell_bytes"),
    "huge-field.csv": (
        b"id,note\n1,ok\n2," + b"y" * (9 << 20) + b"\n3,ok\n",
        413,
        "UPLOAD_LIMIT_EXCEEDED",
        "max_row_bytes",
    ),
    "big-cell.csv": (b"id,note\n1,ok\n2," + b"y" * (512 << 10) + b"\n", 413, "UPLOAD_LIMIT_EXCEEDED", "max_cell_bytes"),
    "huge-value.jsonl": (
        b'{"id": 1, "v": "ok"}\n{"id": 2, "v": "' + b"z" * (3 << 20) + b'"}\n',
        413,
        "UPLOAD_LIMIT_EXCEEDED",
        "max_row_bytes",
    ),
    "big-value.jsonl": (
        b'{"id": 1, "v": "ok"}\n{"id": 2, "v": "' + b"z" * (300 << 10) + b'"}\n',
        413,
        "UPLOAD_LIMIT_EXCEEDED",
        "max_cell_bytes",
    ),
    "deep.jsonl": (
        b'{"id": 1, "v": ' + nested(5000) + b'}\n{"id": 2, "v": ' + nested(5000) + b"}\n",
        400,
        "NESTING_TOO_DEEP",
        "max_nesting_depth",
    ),
    # deep enough to crash pyarrow's recursive JSON parser (SIGSEGV) if it ever reached it
    "deeper.jsonl": (
        b'{"id": 1, "v": ' + b"[" * 200_000 + b"]" * 200_000 + b"}\n",
        400,
        "NESTING_TOO_DEEP",
        "max_nesting_depth",
    ),
    # pyarrow makes a column per distinct key of the first block and fills it for every line of it
    "many-keys.jsonl": (
        b"".join(b'{"k%d": 1}\n' % i for i in range(200_000)),
        413,
        "UPLOAD_LIMIT_EXCEEDED",
        "max_columns",
    ),
    "sparse.jsonl": (
        b"{" + b", ".join(b'"k%d": 1' % i for i in range(1999)) + b"}\n" + b"{}\n" * 1_000_000,
        413,
        "UPLOAD_LIMIT_EXCEEDED",
        "max_page_bytes",
    ),
    "many-columns.csv": (
        b",".join(b"c%d" % i for i in range(400_000)) + b"\n" + b",".join([b"1"] * 400_000) + b"\n",
        413,
        "UPLOAD_LIMIT_EXCEEDED",
        "max_columns",
    ),
}


def test_bombs_are_refused_within_bounded_memory(tmp_path: Path) -> None:
    assert len(BOMBS["bomb.parquet"][0]) < 25_000
    state = tmp_path / "var"
    state.mkdir()
    args = []
    for name, (content, *_rest) in BOMBS.items():
        (tmp_path / name).write_bytes(content)
        args.append(f"{name}={tmp_path / name}")
    probe = [sys.executable, str(Path(__file__).parent / "upload_memory_probe.py"), str(state), *args]
    done = subprocess.run(probe, cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout)
    for result in report["results"]:
        _content, status, code, key = BOMBS[result["name"]]
        error = result["body"].get("error")
        assert result["status"] == status and error and error["code"] == code, (result["name"], result["body"])
        assert f"[datasets] {key}" in error["message"] and key in error["hint"], error
    grown = report["peak_kib"] - report["baseline_kib"]
    assert grown < MEMORY_BOUND_KIB, f"the upload process grew {grown // 1024} MiB above its baseline"
    left = sorted(p.parent.name + p.name for p in (state / "blobs").rglob("*") if p.is_file())
    assert left == sorted(report["warm_blobs"]), "a refused upload left its blob behind"


def test_deep_jsonl_is_400_at_upload_and_leaves_nothing(
    client: FlaskClient, keys: dict[str, str], state_dir: Path
) -> None:
    response = upload(client, keys["generate"], BOMBS["deep.jsonl"][0], "deep.jsonl")
    assert response.status_code == 400, response.get_json()
    error = response.get_json()["error"]
    assert error["code"] == "NESTING_TOO_DEEP" and "line 1" in error["message"]
    assert "max_nesting_depth" in error["message"]
    assert client.get("/v1/datasets", headers=auth(keys["read"])).get_json()["count"] == 0
    assert [p for p in (state_dir / "blobs").rglob("*") if p.is_file()] == []


def test_nesting_within_the_limit_and_brackets_in_strings_are_fine(client: FlaskClient, keys: dict[str, str]) -> None:
    # 31 levels (the line's object and 30 inside it), and brackets and an escaped quote inside a string
    data = (
        b'{"id": 1, "v": ' + nested(30) + b', "s": "[[[[{{{{ \\" ]]"}\n{"id": 2, "v": ' + nested(30) + b', "s": "x"}\n'
    )
    response = upload(client, keys["generate"], data, "ok.jsonl")
    assert response.status_code == 201, response.get_json()


def test_preview_of_a_large_jsonl_reads_whole_lines_from_its_head(client: FlaskClient, keys: dict[str, str]) -> None:
    data = b"".join(b'{"id": %d, "tag": "FIT-%06d", "value": %d.5}\n' % (i, i, i) for i in range(220_000))
    assert len(data) > 9 << 20  # past the 8 MiB a preview reads
    ds = upload(client, keys["generate"], data, "readings.jsonl").get_json()
    assert ds["rows"] == 220_000
    body = client.get(f"/v1/datasets/{ds['id']}/preview?rows=1000", headers=auth(keys["read"])).get_json()
    assert body["count"] == 1000 and body["rows"][999] == {"id": 999, "tag": "FIT-000999", "value": 999.5}


def test_errors_catalogue_lists_the_new_codes(client: FlaskClient) -> None:
    codes = {e["code"]: e for e in client.get("/v1/errors").get_json()["data"]}
    assert codes["UPLOAD_LIMIT_EXCEEDED"]["status"] == 413 and codes["NESTING_TOO_DEEP"]["status"] == 400


def dictionary_parquet(rows: int, value: str) -> bytes:
    """One value repeated: dictionary-encoded, tiny pages, but `rows` copies once decoded."""
    sink = io.BytesIO()
    pq.write_table(pa.table({"id": list(range(rows)), "v": [value] * rows}), sink, compression="zstd")
    return sink.getvalue()


def wide_rows(fmt: str, columns: int, cell: int) -> bytes:
    names = [f"c{i}" for i in range(columns)]
    if fmt == "parquet":
        sink = io.BytesIO()
        pq.write_table(pa.table({n: ["w" * cell] * 3 for n in names}), sink, compression="zstd")
        return sink.getvalue()
    return (",".join(names) + "\n" + (",".join(["w" * cell] * columns) + "\n") * 3).encode()


class TestSmallLimits:
    @pytest.fixture
    def app_config(self, state_dir: Path) -> dict[str, Any]:
        return {
            "server": {"state_dir": str(state_dir)},
            "ratelimit": {"burst": 10_000, "rate_per_s": 10_000.0},
            "datasets": {
                "max_decoded_bytes": 4 << 20,
                "max_cell_bytes": 64 << 10,
                "max_row_bytes": 128 << 10,
                "max_columns": 20,
                "max_nesting_depth": 3,
                "max_answer_bytes": 20_000,
            },
        }

    def refused(self, response: Any, key: str, status: int = 413) -> None:
        body = response.get_json()
        assert response.status_code == status, body
        assert f"[datasets] {key}" in body["error"]["message"], body

    def test_dictionary_expansion_counts_against_the_decoded_total(
        self, client: FlaskClient, keys: dict[str, str]
    ) -> None:
        data = dictionary_parquet(200, "d" * (60 << 10))
        assert len(data) < 100_000
        self.refused(upload(client, keys["generate"], data, "dict.parquet"), "max_decoded_bytes")
        csv = b"id,v\n" + b"".join(b"%d,%s\n" % (i, b"c" * 1000) for i in range(5000))
        self.refused(upload(client, keys["generate"], csv, "long.csv"), "max_decoded_bytes")

    @pytest.mark.parametrize("fmt", ["csv", "parquet"])
    def test_row_width(self, client: FlaskClient, keys: dict[str, str], fmt: str) -> None:
        response = upload(client, keys["generate"], wide_rows(fmt, 4, 40 << 10), f"wide.{fmt}")
        self.refused(response, "max_row_bytes")
        assert "row 1 " in response.get_json()["error"]["message"]

    @pytest.mark.parametrize("fmt", ["csv", "parquet"])
    def test_column_count(self, client: FlaskClient, keys: dict[str, str], fmt: str) -> None:
        self.refused(upload(client, keys["generate"], wide_rows(fmt, 21, 1), f"many.{fmt}"), "max_columns")

    def test_nested_parquet_columns(self, client: FlaskClient, keys: dict[str, str]) -> None:
        sink = io.BytesIO()
        pq.write_table(pa.table({"v": [[[[[1]]]]]}), sink)
        response = upload(client, keys["generate"], sink.getvalue(), "nested.parquet")
        self.refused(response, "max_nesting_depth", 400)
        assert response.get_json()["error"]["code"] == "NESTING_TOO_DEEP"

    def test_preview_is_capped_by_bytes(self, client: FlaskClient, keys: dict[str, str]) -> None:
        csv = b"id,text\n" + b"".join(b"%d,%s\n" % (i, b"t" * 2000) for i in range(100))
        ds = upload(client, keys["generate"], csv, "text.csv").get_json()
        response = client.get(f"/v1/datasets/{ds['id']}/preview?rows=100", headers=auth(keys["read"]))
        body = response.get_json()
        assert len(response.get_data()) <= 20_000
        assert 0 < body["count"] < 100 and body["count"] == len(body["rows"])
        assert body["truncated"] is True and body["truncation"]["config_key"] == "datasets.max_answer_bytes"
        small = client.get(f"/v1/datasets/{ds['id']}/preview?rows=2", headers=auth(keys["read"])).get_json()
        assert small["count"] == 2 and small["truncated"] is False and small["truncation"] is None

    def test_profile_is_capped_by_bytes(self, client: FlaskClient, keys: dict[str, str], start_worker: Any) -> None:
        start_worker()
        headers = auth(keys["generate"])
        names = [f"tag_{i:02d}" for i in range(20)]
        rows = [",".join(f"{n}-{r}-" + "q" * 900 for n in names) for r in range(6)]
        ds = upload(client, keys["generate"], (",".join(names) + "\n" + "\n".join(rows) + "\n").encode(), "tags.csv")
        assert ds.status_code == 201, ds.get_json()
        job = client.get(f"/v1/datasets/{ds.get_json()['id']}/profile", headers=headers).get_json()
        wait_for(client, headers, job["id"], {"succeeded"})
        response = client.get(f"/v1/datasets/{ds.get_json()['id']}/profile", headers=headers)
        body = response.get_json()
        assert response.status_code == 200 and len(response.get_data()) <= 20_000
        assert body["truncated"] is True and 0 < len(body["columns"]) < 20
        assert "max_answer_bytes" in body["truncation"]["message"]
        quoted = body["columns"][0]["top_values"][0]["value"]
        assert len(quoted) <= 201 and quoted.endswith("…")
