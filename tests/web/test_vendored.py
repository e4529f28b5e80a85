"""The vendored browser assets are exactly the files recorded in VENDORED.md, byte for byte."""

from __future__ import annotations

import hashlib
import re
from pathlib import Path

VENDOR = Path(__file__).resolve().parents[2] / "appliance" / "web" / "static" / "vendor"
RECORD = VENDOR / "VENDORED.md"
ROW = re.compile(
    r"^\| `(?P<file>[^`]+)` \| (?P<package>[^|]+) \| (?P<version>[^|]+) \| .+ \| `(?P<sha>[0-9a-f]{64})` \|$"
)


def _recorded() -> dict[str, str]:
    rows = {}
    for line in RECORD.read_text(encoding="utf-8").splitlines():
        match = ROW.match(line)
        if match:
            rows[match["file"]] = match["sha"]
    return rows


def test_every_recorded_file_has_its_hash() -> None:
    recorded = _recorded()
    assert recorded, "VENDORED.md lists no files"
    for name, sha in recorded.items():
        assert hashlib.sha256((VENDOR / name).read_bytes()).hexdigest() == sha, name


def test_nothing_unrecorded_is_served() -> None:
    present = {p.name for p in VENDOR.iterdir() if p.is_file()} - {RECORD.name}
    assert present == set(_recorded())
