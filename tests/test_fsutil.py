"""appliance/fsutil.py: whole files or nothing, modes kept, first writer wins when asked."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from appliance.fsutil import publish, write_atomic


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def test_write_atomic_replaces_whole_file_with_mode_and_leaves_no_temp(tmp_path: Path) -> None:
    target = tmp_path / "secret.key"
    target.write_bytes(b"old")
    assert write_atomic(target, b"new bytes", 0o600) is True
    assert target.read_bytes() == b"new bytes"
    assert _mode(target) == 0o600
    assert sorted(p.name for p in tmp_path.iterdir()) == ["secret.key"]


def test_exclusive_first_writer_wins(tmp_path: Path) -> None:
    target = tmp_path / "jwt.secret"
    assert write_atomic(target, b"first", 0o600, exclusive=True) is True
    assert write_atomic(target, b"second", 0o600, exclusive=True) is False
    assert target.read_bytes() == b"first"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["jwt.secret"]


def test_failed_write_keeps_the_old_file_and_removes_the_temp(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    target = tmp_path / "bootstrap.key"
    target.write_bytes(b"old")

    def broken(src: object, dst: object) -> None:
        raise OSError("disk gone")

    monkeypatch.setattr(os, "replace", broken)
    with pytest.raises(OSError, match="disk gone"):
        write_atomic(target, b"new")
    assert target.read_bytes() == b"old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bootstrap.key"]


def test_publish_renames_a_finished_temp_file(tmp_path: Path) -> None:
    temp, target = tmp_path / "rows.csv.partial", tmp_path / "rows.csv"
    temp.write_bytes(b"a,b\n1,2\n")
    publish(temp, target)
    assert target.read_bytes() == b"a,b\n1,2\n" and not temp.exists()
