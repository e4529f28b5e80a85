"""The README's tour, run verbatim against a live appliance, so it cannot rot.

Every ```sh block of "## A short tour" after the first (which starts an appliance and exports
its URL and key) and before the "end of the tested tour" marker runs, in order, in one bash with
`set -euo pipefail`, from a folder holding a copy of `examples/`. The appliance is a real
`sealforge serve` on a free loopback port; the shell gets SEALFORGE_URL and SEALFORGE_API_KEY,
the two variables the tour itself uses, and the venv's bin on PATH, as the first block leaves it.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live_appliance import running_appliance

ROOT = Path(__file__).resolve().parent.parent
END_MARKER = "<!-- end of the tested tour"


def tour_blocks() -> list[str]:
    text = (ROOT / "README.md").read_text()
    section = text.split("## A short tour", 1)[1].split("\n## ", 1)[0]
    tested = section.split(END_MARKER, 1)[0]
    return re.findall(r"```sh\n(.*?)```", tested, flags=re.S)


def test_tour_has_no_placeholders() -> None:
    blocks = tour_blocks()
    assert len(blocks) >= 5, "the tour's blocks were not found"
    for block in blocks:
        assert "…" not in block and "jq " not in block, block


def test_example_schemas_agree() -> None:
    """examples/preview.json and mock-job.json carry examples/schema.json, unchanged."""
    schema = json.loads((ROOT / "examples/schema.json").read_text())
    assert json.loads((ROOT / "examples/preview.json").read_text())["schema"] == schema
    assert json.loads((ROOT / "examples/mock-job.json").read_text())["params"]["schema"] == schema


@pytest.mark.heavy
def test_readme_tour_runs_as_written(tmp_path: Path) -> None:
    script = "\n".join(tour_blocks()[1:])
    work = tmp_path / "tour"
    work.mkdir()
    shutil.copytree(ROOT / "examples", work / "examples")
    with running_appliance(tmp_path) as appliance:
        env = appliance.env() | {"PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}
        done = subprocess.run(
            ["bash", "-c", "set -euo pipefail\n" + script],
            cwd=work, env=env, capture_output=True, text=True, timeout=900,
        )
        assert done.returncode == 0, f"stdout:\n{done.stdout[-4000:]}\nstderr:\n{done.stderr[-4000:]}"
    assert (work / "out" / "readings.parquet").stat().st_size > 0
    profile = json.loads((work / "profile.json").read_text())
    assert [c["name"] for c in profile["columns"]][:2] == ["timestamp", "site"]
    assert "Result: VERIFIED" in done.stdout
    assert "HTTP/1.1 202" in done.stdout and "Retry-After:" in done.stdout
