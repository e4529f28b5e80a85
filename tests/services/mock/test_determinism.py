"""Same schema + seed -> byte-identical files, in any process and for any chunk size."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from appliance.services.mock import generate, preview

from .helpers import wide

ROWS = 140_000  # crosses two 65,536-row randomness blocks


def _digests(files: list) -> dict[str, str]:
    return {f.path.name: hashlib.blake2b(f.path.read_bytes()).hexdigest() for f in files}


@pytest.mark.parametrize("fmt", ["parquet", "csv", "jsonl"])
def test_chunk_size_never_changes_bytes(tmp_path: Path, fmt: str) -> None:
    schema = wide(ROWS if fmt == "parquet" else 70_000)
    sizes = (1_000, 65_536, 100_000) if fmt == "parquet" else (7_777, 100_000)
    digests = [_digests(generate(schema, 42, tmp_path / str(size), fmt, chunk_size=size)) for size in sizes]
    assert all(d == digests[0] for d in digests[1:])


def test_other_process_writes_same_bytes(tmp_path: Path) -> None:
    schema = wide(20_000)
    here = _digests(generate(schema, 7, tmp_path / "here", "parquet", chunk_size=4_096))
    script = (
        "import json, sys\n"
        "from appliance.services.mock import generate\n"
        "generate(json.loads(sys.argv[1]), 7, sys.argv[2], 'parquet', chunk_size=65_536)\n"
    )
    root = Path(__file__).resolve().parents[3]
    subprocess.run([sys.executable, "-c", script, json.dumps(schema), str(tmp_path / "there")],
                   check=True, cwd=root, env={"PYTHONHASHSEED": "123", "PATH": ""})
    there = {p.name: hashlib.blake2b(p.read_bytes()).hexdigest() for p in (tmp_path / "there").iterdir()}
    assert here == there


def test_seed_changes_data_and_preview_is_a_prefix() -> None:
    schema = wide(500)
    a, b = preview(schema, 50, seed=1), preview(schema, 50, seed=2)
    assert a["customers"][0]["uid"] != b["customers"][0]["uid"]
    assert preview(schema, 10, seed=1)["customers"] == a["customers"][:10]


def test_parquet_metadata_has_no_time(tmp_path: Path) -> None:
    import pyarrow.parquet as pq

    (f, _) = generate(wide(100), 3, tmp_path, "parquet")
    meta = pq.read_metadata(f.path)
    assert meta.created_by.startswith("parquet-cpp-arrow")
    assert set(meta.metadata) == {b"ARROW:schema"}
    assert meta.row_group(0).column(0).compression == "SNAPPY"
