"""The API starts without the data stack: torch, SDV, pandas, scipy and pyarrow load only in the
kinds and routes that need them (DESIGN.md: the API starts in under 2 s)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

HEAVY = ("torch", "sdv", "pandas", "scipy", "pyarrow", "sklearn", "asyncua", "pymodbus")


def test_create_app_imports_no_heavy_library(tmp_path: Path) -> None:
    code = (
        "import sys, json; from appliance.api import create_app; "
        f"create_app({{'server': {{'state_dir': {str(tmp_path)!r}}}}}); "
        f"print(json.dumps([m for m in {HEAVY!r} if m in sys.modules]))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_mock_kind_formats_match_the_engine() -> None:
    from appliance.kinds.mock import MOCK_FORMATS
    from appliance.services.mock.writers import MOCK_FORMATS as ENGINE_FORMATS

    assert tuple(sorted(ENGINE_FORMATS)) == MOCK_FORMATS
