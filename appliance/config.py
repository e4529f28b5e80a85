"""Layered configuration: packaged defaults, then /etc/sealforge, then SEALFORGE_* variables.

One merged dict, resolved once per process, so the API, the workers and the CLI read the same
values. Environment variables win because systemd units and tests set them.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

# A link to the repository's config/sealforge.toml, so an editable install reads that file and a
# wheel (which copies the link's target) carries the defaults inside the package.
DEFAULTS_PATH = Path(__file__).with_name("defaults.toml")
SYSTEM_PATH = Path("/etc/sealforge/sealforge.toml")
ENV_PREFIX = "SEALFORGE_"


class ConfigError(ValueError):
    """A config file or variable that cannot be understood."""


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            return tomllib.load(fh)
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from exc


def _coerce(raw: str, like: Any) -> Any:
    """Turn an environment string into the type the default has."""
    if isinstance(like, bool):
        if raw.lower() in {"1", "true", "yes", "on"}:
            return True
        if raw.lower() in {"0", "false", "no", "off"}:
            return False
        raise ConfigError(f"expected a boolean, got {raw!r}")
    try:
        if isinstance(like, int):
            return int(raw)
        if isinstance(like, float):
            return float(raw)
    except ValueError as exc:
        raise ConfigError(f"expected a {type(like).__name__}, got {raw!r}") from exc
    return raw


def _merge(base: dict[str, Any], over: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _apply_env(cfg: dict[str, Any], env: dict[str, str]) -> dict[str, Any]:
    out = {section: dict(values) for section, values in cfg.items()}
    if "SEALFORGE_STATE_DIR" in env:
        out.setdefault("server", {})["state_dir"] = env["SEALFORGE_STATE_DIR"]
    for name, raw in env.items():
        if not name.startswith(ENV_PREFIX) or name == "SEALFORGE_STATE_DIR":
            continue
        rest = name[len(ENV_PREFIX) :].lower()
        for section in sorted(out, key=len, reverse=True):
            if rest.startswith(section + "_"):
                key = rest[len(section) + 1 :]
                like = out[section].get(key, "")
                try:
                    out[section][key] = _coerce(raw, like)
                except ConfigError as exc:
                    raise ConfigError(f"{name}: {exc}") from exc
                break
    return out


def load_config(
    overrides: dict[str, Any] | None = None,
    env: dict[str, str] | None = None,
    system_path: Path | None = None,
) -> dict[str, Any]:
    """Return the merged configuration. ``overrides`` (a nested dict) wins over everything."""
    cfg = _read_toml(DEFAULTS_PATH)
    cfg = _merge(cfg, _read_toml(system_path or SYSTEM_PATH))
    cfg = _apply_env(cfg, dict(os.environ if env is None else env))
    if overrides:
        cfg = _merge(cfg, overrides)
    cfg["server"]["state_dir"] = str(Path(cfg["server"]["state_dir"]).resolve())
    return cfg


def api_workers(cfg: dict[str, Any]) -> int:
    """API worker processes: ``[server] workers``, or one per CPU core when it is 0."""
    configured = int(cfg["server"]["workers"])
    return configured if configured > 0 else (os.cpu_count() or 1)


def state_dir(cfg: dict[str, Any]) -> Path:
    return Path(cfg["server"]["state_dir"])
