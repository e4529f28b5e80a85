"""Same model + same seed = byte-identical rows, in this process and in fresh ones.

Each fresh process has its own hash seed, so nothing may depend on set or dict order of strings,
and its own untouched global generators, so every generator a sample uses must be seeded from the
job's seed (see appliance/services/synth/seeding.py).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from appliance.services.synth import engines, metadata
from appliance.services.synth.sampling import write_rows
from tests.synth_data import adult_frame

ROOT = Path(__file__).resolve().parents[3]
SEED = 2**40 + 17
ROWS, CHUNK = 900, 400
SYNTHESIZERS = ("gaussian_copula", "ctgan")

SCRIPT = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from appliance.services.synth import engines, offline
    from appliance.services.synth.sampling import write_rows
    folder, tag, rows, seed, chunk = Path(sys.argv[1]), sys.argv[2], *map(int, sys.argv[3:6])
    offline.prepare(folder / f"state-{tag}")
    for name in sys.argv[6:]:
        model = engines.load(folder / f"{name}.pkl", device="cpu")
        write_rows(model, rows, seed, "parquet", folder / f"{name}-{tag}.parquet", chunk_rows=chunk)
    """
)


def _sample_in(folder: Path, tag: str, hash_seed: str) -> subprocess.Popen[bytes]:
    env = {**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(ROOT)}
    args = [str(folder), tag, str(ROWS), str(SEED), str(CHUNK), *SYNTHESIZERS]
    return subprocess.Popen([sys.executable, "-c", SCRIPT, *args], env=env, cwd=str(folder))


@pytest.mark.heavy
def test_rows_are_identical_across_processes(sdv_home: Path, tmp_path: Path) -> None:
    frame, meta = metadata.detect(adult_frame(200))
    for name in SYNTHESIZERS:
        model = engines.create(name, "cpu")
        model.fit(frame, meta, epochs=1 if name == "ctgan" else None)
        model.save(tmp_path / f"{name}.pkl")
        write_rows(model, ROWS, SEED, "parquet", tmp_path / f"{name}-here.parquet", chunk_rows=CHUNK)
    procs = [_sample_in(tmp_path, "a", "1"), _sample_in(tmp_path, "b", "2")]
    assert [p.wait(timeout=120) for p in procs] == [0, 0]
    for name in SYNTHESIZERS:
        here = (tmp_path / f"{name}-here.parquet").read_bytes()
        assert (tmp_path / f"{name}-a.parquet").read_bytes() == here, name
        assert (tmp_path / f"{name}-b.parquet").read_bytes() == here, name
