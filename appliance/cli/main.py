"""`sealforge`: serve, api, worker, config, openapi and admin."""

from __future__ import annotations

import sys

import click

from appliance.cli.admin import admin
from appliance.cli.output import emit, resolve_config, state_dir_option
from appliance.jobs.queues import QUEUES


@click.group()
@click.version_option(package_name="sealforge")
def cli() -> None:
    """Sealforge appliance."""


@cli.command()
@click.option("--host", default=None, help="Bind address (default from config: 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default from config: 8080).")
@state_dir_option
def serve(host: str | None, port: int | None, state_dir: str | None) -> None:
    """The embedded default: the API plus one consumer for every queue."""
    from appliance.cli.processes import serve as run_serve

    cfg = resolve_config(state_dir)
    sys.exit(run_serve(cfg, host or cfg["server"]["host"], port or int(cfg["server"]["port"])))


@cli.command()
@click.option("--host", default=None)
@click.option("--port", type=click.IntRange(1, 65535), default=None)
@state_dir_option
def api(host: str | None, port: int | None, state_dir: str | None) -> None:
    """The API under gunicorn."""
    from appliance.cli.processes import run_api

    cfg = resolve_config(state_dir)
    run_api(cfg, host or cfg["server"]["host"], port or int(cfg["server"]["port"]))


@cli.command()
@click.option("--queue", type=click.Choice(QUEUES), required=True)
@click.option("--workers", type=click.IntRange(1, 64), default=1, show_default=True)
@state_dir_option
def worker(queue: str, workers: int, state_dir: str | None) -> None:
    """A Huey consumer for one queue."""
    from appliance.cli.processes import run_worker

    run_worker(resolve_config(state_dir), queue, workers)


@cli.group()
def config() -> None:
    """Configuration."""


@config.command("show")
@state_dir_option
def config_show(state_dir: str | None) -> None:
    """Print the merged configuration (defaults, /etc/sealforge, SEALFORGE_* variables)."""
    emit(resolve_config(state_dir))


@cli.command()
@state_dir_option
def openapi(state_dir: str | None) -> None:
    """Print the OpenAPI document, as committed in openapi.json."""
    from appliance.api import create_app, openapi_document

    overrides = {"server": {"state_dir": state_dir}} if state_dir else None
    click.echo(openapi_document(create_app(overrides)), nl=False)


cli.add_command(admin)

if __name__ == "__main__":
    cli()
