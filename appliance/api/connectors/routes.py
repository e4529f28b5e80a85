"""/v1/connectors: configure plant sources and destinations, test them, browse them, and import
from or deliver to them as jobs.

Managing connectors (they hold credentials) needs `admin`; reading them needs `read`; testing,
browsing, importing and delivering reach out to the plant network and need `generate`.
Credentials are accepted on create, update and `POST …/credentials`, and never answered.
"""

from __future__ import annotations

from typing import Any

from appliance.api import context
from appliance.api.connectors.schemas import (
    ConnectorBrowseArgsSchema,
    ConnectorBrowsePageSchema,
    ConnectorCreateSchema,
    ConnectorCredentialsSchema,
    ConnectorDeliverSchema,
    ConnectorImportSchema,
    ConnectorPageSchema,
    ConnectorSchema,
    ConnectorTestResultSchema,
    ConnectorTypeListSchema,
    ConnectorUpdateSchema,
)
from appliance.api.extensions import Blueprint, PageArgsSchema, requires
from appliance.api.jobs.schemas import JobSchema
from appliance.jobs import operations
from appliance.services.connectors import environment, manage
from appliance.services.connectors.base import Environment

blp = Blueprint(
    "connectors",
    __name__,
    url_prefix="/v1/connectors",
    description="Sources and destinations on the plant network: databases, folders, files (docs/connectors.md).",
)


def _env() -> Environment:
    return environment(context.config())


def _tenant() -> str:
    return context.principal().tenant_id


def _submit(body: dict[str, Any]) -> tuple[dict[str, Any], int, dict[str, str]]:
    who, cfg = context.principal(), context.config()
    job = operations.submit(
        context.get_db(),
        context.state_dir(),
        who.tenant_id,
        who.caller,
        body,
        int(cfg["jobs"]["max_attempts"]),
        interactive_max_rows=int(cfg["jobs"]["interactive_max_rows"]),
    )
    return job, 202, {"X-Job-Id": job["id"], "Location": job["_links"]["self"]}


@blp.route("/types")
@blp.response(200, ConnectorTypeListSchema)
@requires("read")
def list_connector_types() -> dict[str, Any]:
    """Every connector type, what it takes, and whether this appliance can use it yet."""
    return manage.catalogue()


@blp.route("")
@blp.arguments(PageArgsSchema, location="query")
@blp.response(200, ConnectorPageSchema)
@requires("read")
def list_connectors(args: dict[str, Any]) -> dict[str, Any]:
    """The tenant's connectors, oldest first (without their credentials)."""
    return manage.listing(context.get_db(), _tenant(), args["limit"], args["after"])


@blp.route("", methods=["POST"])
@blp.arguments(ConnectorCreateSchema)
@blp.response(201, ConnectorSchema)
@requires("admin")
def create_connector(body: dict[str, Any]) -> dict[str, Any]:
    """Create a connector: a type, its settings and its credentials (write-only). A host outside the
    allowed networks or a folder outside the roots answers 400 `CONNECTOR_TARGET_NOT_ALLOWED`."""
    return manage.create(context.get_db(), context.keys_dir(), _env(), _tenant(), body)


@blp.route("/<string:connector_id>")
@blp.response(200, ConnectorSchema)
@requires("read")
def get_connector(connector_id: str) -> dict[str, Any]:
    return manage.get(context.get_db(), _tenant(), connector_id)


@blp.route("/<string:connector_id>", methods=["PATCH"])
@blp.arguments(ConnectorUpdateSchema)
@blp.response(200, ConnectorSchema)
@requires("admin")
def update_connector(body: dict[str, Any], connector_id: str) -> dict[str, Any]:
    """Change the name, description, settings (replaced whole) or credentials."""
    return manage.update(context.get_db(), context.keys_dir(), _env(), _tenant(), connector_id, body)


@blp.route("/<string:connector_id>", methods=["DELETE"])
@blp.response(200, ConnectorSchema)
@requires("admin")
def delete_connector(connector_id: str) -> dict[str, Any]:
    """Remove the connector and its stored credentials; jobs it ran keep their records."""
    return manage.delete(context.get_db(), _tenant(), connector_id)


@blp.route("/<string:connector_id>/credentials", methods=["POST"])
@blp.arguments(ConnectorCredentialsSchema)
@blp.response(200, ConnectorSchema)
@requires("admin")
def rotate_connector_credentials(body: dict[str, Any], connector_id: str) -> dict[str, Any]:
    """Replace the credentials (a rotation); the answer says when, never what."""
    return manage.rotate(context.get_db(), context.keys_dir(), _tenant(), connector_id, body["credentials"])


@blp.route("/<string:connector_id>/test", methods=["POST"])
@blp.response(200, ConnectorTestResultSchema)
@requires("generate")
def test_connector(connector_id: str) -> dict[str, Any]:
    """Reach the server, log in, and look at what the account may see. A failure is an answer
    (`ok: false`) with its diagnosis: dns, refused, unreachable, timeout, tls, auth, permission,
    not_found, not_allowed."""
    return manage.test(context.get_db(), context.keys_dir(), _env(), _tenant(), connector_id)


def _browse(args: dict[str, Any], connector_id: str) -> dict[str, Any]:
    return manage.browse(
        context.get_db(),
        context.keys_dir(),
        _env(),
        _tenant(),
        connector_id,
        args["path"],
        args["limit"],
        args["after"],
    )


@blp.route("/<string:connector_id>/browse")
@blp.arguments(ConnectorBrowseArgsSchema, location="query")
@blp.response(200, ConnectorBrowsePageSchema)
@requires("generate")
def browse_connector(args: dict[str, Any], connector_id: str) -> dict[str, Any]:
    """One page of what the connector sees at `path`: schemas and tables, folders and files.
    A server that fails answers 502 `CONNECTOR_FAILED` with the diagnosis."""
    return _browse(args, connector_id)


@blp.route("/<string:connector_id>/browse", methods=["POST"])
@blp.arguments(ConnectorBrowseArgsSchema)
@blp.response(200, ConnectorBrowsePageSchema)
@requires("generate")
def browse_connector_post(args: dict[str, Any], connector_id: str) -> dict[str, Any]:
    """The same as GET, with the arguments in a JSON body (the published API's form)."""
    return _browse(args, connector_id)


@blp.route("/<string:connector_id>/import", methods=["POST"])
@blp.arguments(ConnectorImportSchema)
@blp.response(202, JobSchema)
@requires("generate")
def import_from_connector(body: dict[str, Any], connector_id: str) -> Any:
    """Submit a `connector_import` job: the source streams into a dataset, checked like an upload."""
    return _submit(manage.import_body(context.get_db(), _tenant(), connector_id, body))


@blp.route("/<string:connector_id>/deliver", methods=["POST"])
@blp.arguments(ConnectorDeliverSchema)
@blp.response(202, JobSchema)
@requires("generate")
def deliver_to_connector(body: dict[str, Any], connector_id: str) -> Any:
    """Submit a `connector_deliver` job: a succeeded job's artifacts are written to the target."""
    return _submit(manage.deliver_body(context.get_db(), _tenant(), connector_id, body))
