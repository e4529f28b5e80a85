"""How the CLI prints results and errors: JSON on stdout, a one-line message on stderr."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import click

from appliance.config import ConfigError, load_config
from appliance.errors import AppError


def emit(data: Any) -> None:
    click.echo(json.dumps(data, indent=2, sort_keys=False))


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn appliance errors into exit code 1 (usage errors stay click's exit code 2)."""
    try:
        yield
    except AppError as exc:
        click.echo(f"error: {exc.code}: {exc.message}", err=True)
        if exc.hint:
            click.echo(f"hint: {exc.hint}", err=True)
        sys.exit(1)
    except ConfigError as exc:
        click.echo(f"error: configuration: {exc}", err=True)
        sys.exit(2)


def resolve_config(state_dir: str | None) -> dict[str, Any]:
    overrides = {"server": {"state_dir": state_dir}} if state_dir else None
    with cli_errors():
        return load_config(overrides=overrides)


def state_dir_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--state-dir",
        type=click.Path(file_okay=False, path_type=str),
        default=None,
        help="State dir (default: SEALFORGE_STATE_DIR, then the config, then ./var).",
    )(func)


def state_path(cfg: dict[str, Any]) -> Path:
    return Path(cfg["server"]["state_dir"])
