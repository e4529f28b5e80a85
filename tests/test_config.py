"""Config layering: defaults, then the system file, then SEALFORGE_* variables."""

from __future__ import annotations

from pathlib import Path

import pytest

from appliance.config import ConfigError, load_config


def test_defaults(tmp_path: Path) -> None:
    cfg = load_config(env={}, system_path=tmp_path / "missing.toml")
    assert cfg["server"]["port"] == 8080 and cfg["server"]["host"] == "127.0.0.1"
    assert cfg["server"]["state_dir"] == str(Path("./var").resolve())


def test_system_file_then_env_win(tmp_path: Path) -> None:
    system = tmp_path / "sealforge.toml"
    system.write_text('[server]\nport = 9000\nhost = "0.0.0.0"\n[ratelimit]\nburst = 7\n')
    env = {
        "SEALFORGE_SERVER_PORT": "9100",
        "SEALFORGE_RATELIMIT_ENABLED": "false",
        "SEALFORGE_STATE_DIR": str(tmp_path),
    }
    cfg = load_config(env=env, system_path=system)
    assert cfg["server"]["port"] == 9100
    assert cfg["server"]["host"] == "0.0.0.0"
    assert cfg["ratelimit"]["burst"] == 7 and cfg["ratelimit"]["enabled"] is False
    assert cfg["server"]["state_dir"] == str(tmp_path)


@pytest.mark.parametrize("name,value", [("SEALFORGE_SERVER_PORT", "eighty"), ("SEALFORGE_RATELIMIT_ENABLED", "maybe")])
def test_bad_env_value_names_the_variable(tmp_path: Path, name: str, value: str) -> None:
    with pytest.raises(ConfigError, match=name):
        load_config(env={name: value}, system_path=tmp_path / "none.toml")


def test_broken_system_file_is_reported(tmp_path: Path) -> None:
    system = tmp_path / "sealforge.toml"
    system.write_text("[server\nport=")
    with pytest.raises(ConfigError, match=r"sealforge\.toml"):
        load_config(env={}, system_path=system)


def test_the_wheel_carries_the_packaged_defaults(tmp_path: Path) -> None:
    """A pip install from a wheel (the wheelhouse, the OS image) has no repository beside the
    package: the defaults travel inside it, as appliance/defaults.toml, a copy of config/sealforge.toml."""
    import subprocess
    import sys
    import zipfile

    repo = Path(__file__).resolve().parent.parent
    build = [sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", str(repo)]
    subprocess.run([*build, "-w", str(tmp_path)], check=True, cwd=tmp_path)
    (wheel,) = tmp_path.glob("sealforge-*.whl")
    with zipfile.ZipFile(wheel) as archive:
        packaged = archive.read("appliance/defaults.toml")
    assert packaged == (repo / "config" / "sealforge.toml").read_bytes()
