"""Keeping SDV, RDT, sdmetrics, copulas, CTGAN and torch off the network and out of ``$HOME``.

What the installed versions (sdv 2.0, rdt 2.0, sdmetrics 0.32, copulas 0.14, ctgan 0.12) can reach
or write on their own, found by reading their sources (see docs/decisions.md, "Synthesis"):

- No usage telemetry or update check exists in these versions. The only network code is
  ``sdv.datasets.demo`` (boto3 to a public S3 bucket), reached only through ``download_demo`` /
  ``get_available_demos``; Sealforge never calls them, and a test fits and samples with sockets
  blocked to prove nothing else connects.
- ``sdv.logging`` copies its logger config into ``platformdirs.user_data_dir('sdv')`` on first use
  and, if that config says ``log_registry: local``, appends every fit/sample to ``sdv_logs.csv``
  there. We point ``HOME`` and the XDG dirs under the state dir, so that file lands beside the
  appliance's other state instead of a service user's home (which is read-only on the image).
- torch keeps caches under ``$HOME/.cache`` / ``TORCH_HOME``; joblib (used by CTGAN's transformer)
  writes temp memmaps to ``JOBLIB_TEMP_FOLDER``; tqdm bars are switched off (``TQDM_DISABLE``) so
  worker logs stay readable.

``prepare`` must run before SDV is first imported in a process: platformdirs reads the environment
when SDV asks for its directory.
"""

from __future__ import annotations

import os
import threading
import warnings
from pathlib import Path
from types import ModuleType

_lock = threading.Lock()
_prepared: str | None = None

QUIET_MODULES = ("sdv", "rdt", "copulas", "ctgan", "sdmetrics")


def home_for(state_dir: Path) -> Path:
    return state_dir / "home"


def prepare(state_dir: Path) -> Path:
    """Point HOME, XDG and library cache dirs under ``<state_dir>/home``; idempotent per process."""
    global _prepared
    home = home_for(state_dir.resolve())
    with _lock:
        if _prepared == str(home):
            return home
        dirs = {
            "HOME": home,
            "XDG_DATA_HOME": home / ".local" / "share",
            "XDG_CACHE_HOME": home / ".cache",
            "XDG_CONFIG_HOME": home / ".config",
            "XDG_STATE_HOME": home / ".local" / "state",
            "TORCH_HOME": home / ".cache" / "torch",
            "MPLCONFIGDIR": home / ".config" / "matplotlib",
            "JOBLIB_TEMP_FOLDER": home / "tmp",
        }
        for name, path in dirs.items():
            path.mkdir(parents=True, exist_ok=True)
            os.environ[name] = str(path)
        os.environ["TQDM_DISABLE"] = "1"
        _prepared = str(home)
    return home


def quiet_warnings() -> None:
    """SDV warns about things the appliance already handles (metadata saving, version notes)."""
    for module in QUIET_MODULES:
        warnings.filterwarnings("ignore", category=UserWarning, module=module)
        warnings.filterwarnings("ignore", category=FutureWarning, module=module)
        warnings.filterwarnings("ignore", category=DeprecationWarning, module=module)


def import_sdv() -> ModuleType:
    """Import SDV (lazily: it pulls in torch and takes seconds) after ``prepare``."""
    import sdv

    quiet_warnings()
    return sdv
