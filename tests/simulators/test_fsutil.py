"""simulators/fsutil.py: whole files or nothing, with the mode asked for."""

from __future__ import annotations

import stat
from pathlib import Path

from simulators.fsutil import publish, write_atomic


def test_write_atomic_and_publish(tmp_path: Path) -> None:
    key = tmp_path / "server_key.pem"
    write_atomic(key, b"old", 0o600)
    write_atomic(key, b"pem", 0o600)
    assert key.read_bytes() == b"pem" and stat.S_IMODE(key.stat().st_mode) == 0o600
    part, target = tmp_path / "data.parquet.part", tmp_path / "data.parquet"
    part.write_bytes(b"rows")
    publish(part, target)
    assert target.read_bytes() == b"rows"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["data.parquet", "server_key.pem"]
