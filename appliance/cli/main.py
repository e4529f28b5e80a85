"""`sealforge`: serve, api, worker, webhooks-deliver, config, openapi and admin.

Every command runs with umask 077, so whatever it (or a child it starts, gunicorn workers
included) writes under the state dir is private to the appliance's user. The long-running
commands prepare the state dir (modes, migrations under a lock) before they start anything, so
`serve` migrates once in the parent and its children find the schema current.
"""

from __future__ import annotations

import sqlite3
import sys
from collections.abc import Callable
from typing import Any

import click

from appliance.cli.admin import admin
from appliance.cli.output import cli_errors, emit, resolve_config, state_dir_option, state_path
from appliance.jobs.queues import QUEUES
from appliance.store.open import prepare_state_dir, restrict_umask


@click.group()
@click.version_option(package_name="sealforge")
def cli() -> None:
    """Sealforge appliance."""
    restrict_umask()


def prepared_config(state_dir: str | None) -> dict[str, Any]:
    """The merged config, with its state dir private and migrated (exit 1 if it cannot be)."""
    cfg = resolve_config(state_dir)
    try:
        prepare_state_dir(state_path(cfg))
    except (OSError, sqlite3.Error) as exc:
        click.echo(f"error: state dir {state_path(cfg)}: {exc}", err=True)
        sys.exit(1)
    return cfg


def insecure_http_option(func: Callable[..., Any]) -> Callable[..., Any]:
    return click.option(
        "--insecure-http",
        is_flag=True,
        help="Serve plain HTTP even on a non-loopback address (API keys travel in cleartext).",
    )(func)


@cli.command()
@click.option("--host", default=None, help="Bind address (default from config: 127.0.0.1).")
@click.option("--port", type=click.IntRange(1, 65535), default=None, help="Port (default from config: 8080).")
@insecure_http_option
@state_dir_option
def serve(host: str | None, port: int | None, insecure_http: bool, state_dir: str | None) -> None:
    """The embedded default: the API, one consumer for every queue and the webhook deliverer."""
    from appliance.cli.processes import serve as run_serve

    cfg = prepared_config(state_dir)
    with cli_errors():
        code = run_serve(cfg, host or cfg["server"]["host"], port or int(cfg["server"]["port"]), insecure_http)
    sys.exit(code)


@cli.command()
@click.option("--host", default=None)
@click.option("--port", type=click.IntRange(1, 65535), default=None)
@insecure_http_option
@state_dir_option
def api(host: str | None, port: int | None, insecure_http: bool, state_dir: str | None) -> None:
    """The API under gunicorn (HTTPS off loopback; see [server] tls)."""
    from appliance.cli.processes import run_api

    cfg = prepared_config(state_dir)
    with cli_errors():
        run_api(cfg, host or cfg["server"]["host"], port or int(cfg["server"]["port"]), insecure_http)


@cli.command()
@click.option("--queue", type=click.Choice(QUEUES), required=True)
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="Worker threads (default 1; on the sim queue [scada] max_runs + 1, as each live run holds one).",
)
@click.option(
    "--no-start-cleanup",
    is_flag=True,
    hidden=True,
    help="Skip the start-up cleanup: `sealforge serve` passes it to its consumers, having cleaned once itself.",
)
@state_dir_option
def worker(queue: str, workers: int | None, no_start_cleanup: bool, state_dir: str | None) -> None:
    """A Huey consumer for one queue."""
    from appliance.cli.processes import run_worker

    run_worker(prepared_config(state_dir), queue, workers, start_cleanup=not no_start_cleanup)


@cli.command("webhooks-deliver")
@state_dir_option
def webhooks_deliver(state_dir: str | None) -> None:
    """The webhook deliverer: sends the outbox to the registered endpoints (`serve` starts it)."""
    from appliance.cli.processes import run_deliverer

    cfg = prepared_config(state_dir)
    with cli_errors():
        run_deliverer(cfg)


@cli.group()
def config() -> None:
    """Configuration."""


@config.command("show")
@state_dir_option
def config_show(state_dir: str | None) -> None:
    """Print the merged configuration (defaults, /etc/sealforge, SEALFORGE_* variables), and under
    `tls_certificate` the certificate the API serves with its fingerprint (null before it exists)."""
    from appliance.errors import AppError
    from appliance.services import tls

    cfg = resolve_config(state_dir)
    try:
        certificate = tls.current(cfg)
        shown: dict[str, Any] | None = certificate.as_dict() if certificate else None
    except AppError as exc:  # show the rest, and why the API would not start
        shown = {"error": f"{exc.code}: {exc.message}"}
    emit({**cfg, "tls_certificate": shown})


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
