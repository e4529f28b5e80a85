"""One error tree for the whole appliance.

Services raise ``AppError`` subclasses; the API's error handler is the only place that turns them
into the JSON envelope. The catalogue below is also served at ``GET /v1/errors`` so clients can
look up what a code means and what to do about it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ErrorSpec:
    code: str
    status: int
    meaning: str
    hint: str


CATALOGUE: dict[str, ErrorSpec] = {}


def _spec(code: str, status: int, meaning: str, hint: str) -> ErrorSpec:
    spec = ErrorSpec(code, status, meaning, hint)
    CATALOGUE[code] = spec
    return spec


BAD_REQUEST = _spec("BAD_REQUEST", 400, "The request could not be understood.", "Check the request syntax.")
VALIDATION_FAILED = _spec(
    "VALIDATION_FAILED", 400, "One or more fields are invalid.", "See `details` for each field at fault."
)
MALFORMED_JSON = _spec("MALFORMED_JSON", 400, "The body is not valid JSON.", "Send a well-formed JSON document.")
JSON_TOO_DEEP = _spec(
    "JSON_TOO_DEEP",
    400,
    "The JSON document nests arrays and objects deeper than the appliance accepts.",
    "Flatten the document; the limit is `[server] max_json_depth` in the appliance's config.",
)
UNAUTHENTICATED = _spec(
    "UNAUTHENTICATED",
    401,
    "No valid credentials were given.",
    "Send `X-API-Key: sl_live_…` or `Authorization: Bearer <token>`.",
)
TOKEN_EXPIRED = _spec(
    "TOKEN_EXPIRED",
    401,
    "The bearer token has expired or was revoked.",
    "Get a new access token with POST /v1/auth/refresh or log in again.",
)
INVALID_CREDENTIALS = _spec(
    "INVALID_CREDENTIALS", 401, "The email or password is wrong.", "Check the credentials and try again."
)
SESSION_EXPIRED = _spec(
    "SESSION_EXPIRED",
    401,
    "The web UI session has ended: logged out, idle past `[ui] idle_timeout_s`, or past its lifetime.",
    "Log in again on the login page of the web UI.",
)
FORBIDDEN = _spec(
    "INSUFFICIENT_SCOPE",
    403,
    "The credentials lack the scope this route needs.",
    "Use a key with the scope named in the message.",
)
CSRF_TOKEN_INVALID = _spec(
    "CSRF_TOKEN_INVALID",
    403,
    "A write made with the web UI's session cookie lacks the session's CSRF token, or sends a wrong one.",
    "Send the token of the page (form field `csrf_token` or header `X-CSRF-Token`); reload the page to get it.",
)
SETUP_KEY_INVALID = _spec(
    "SETUP_KEY_INVALID",
    403,
    "The setup page needs a live API key with the `admin` scope (the console's setup key); this one is unknown,"
    " revoked or lacks it.",
    "Copy the setup key from the appliance's console again; a revoked setup key is not replaced.",
)
NOT_FOUND = _spec("NOT_FOUND", 404, "No such resource.", "Check the id; resources of other tenants are invisible.")
ROUTE_NOT_FOUND = _spec("ROUTE_NOT_FOUND", 404, "No such route.", "See /openapi.json for the routes.")
METHOD_NOT_ALLOWED = _spec(
    "METHOD_NOT_ALLOWED", 405, "The route does not accept this method.", "See the `Allow` header."
)
CONFLICT = _spec("CONFLICT", 409, "The request conflicts with the resource's state.", "Reload the resource.")
SETUP_DONE = _spec(
    "SETUP_DONE",
    409,
    "The tenant already has a user, so the setup page makes no more.",
    "Log in on the login page; an admin adds users on the admin users page or with POST /v1/users.",
)
IDEMPOTENCY_KEY_REUSED = _spec(
    "IDEMPOTENCY_KEY_REUSED",
    409,
    "This Idempotency-Key was used with a different request body.",
    "Use a new key for a new request.",
)
IDEMPOTENCY_IN_PROGRESS = _spec(
    "IDEMPOTENCY_IN_PROGRESS",
    409,
    "The first request with this Idempotency-Key is still running.",
    "Retry the same request after a moment to get its stored response.",
)
PAYLOAD_TOO_LARGE = _spec("PAYLOAD_TOO_LARGE", 413, "The request body is larger than allowed.", "Send a smaller body.")
UNSUPPORTED_MEDIA_TYPE = _spec(
    "UNSUPPORTED_MEDIA_TYPE",
    415,
    "The body's Content-Type is not accepted here.",
    "Send `Content-Type: application/json`.",
)
RANGE_NOT_SATISFIABLE = _spec(
    "RANGE_NOT_SATISFIABLE",
    416,
    "The Range asked for starts at or past the end of the content.",
    "`Content-Range: bytes */<size>` gives the size; a download that has all of it is complete.",
)
RATE_LIMITED = _spec(
    "RATE_LIMITED", 429, "Too many requests for this tenant and route.", "Wait for `Retry-After` seconds."
)
STREAM_LIMIT = _spec(
    "STREAM_LIMIT",
    429,
    "Too many event streams are open, for this tenant or on the appliance.",
    "Close streams you no longer read (each browser tab holds one), or retry after `Retry-After` seconds.",
)
LOGIN_THROTTLED = _spec(
    "LOGIN_THROTTLED",
    429,
    "Too many failed logins for this account or from this address.",
    "Wait for `Retry-After` seconds; each further failure doubles the wait, a success resets the account.",
)
CREDIT_LIMIT_EXCEEDED = _spec(
    "CREDIT_LIMIT_EXCEEDED",
    429,
    "The tenant has not enough credits for this job.",
    "Ask the appliance operator to add credits (`sealforge admin credits add`), or submit a smaller job.",
)
KIND_NOT_AVAILABLE = _spec(
    "KIND_NOT_AVAILABLE",
    400,
    "This job kind is not available on this appliance yet.",
    "See GET /v1/jobs/kinds for the kinds that run here.",
)
DATASET_INVALID = _spec(
    "DATASET_INVALID",
    400,
    "The uploaded file is empty, malformed, or not the format it claims.",
    "Check the message: fix the file (UTF-8, same column count on every row) or name its format correctly.",
)
DATASET_IN_USE = _spec(
    "DATASET_IN_USE", 409, "A queued or running job uses this dataset.", "Wait for the job or cancel it, then retry."
)
UPLOAD_LIMIT_EXCEEDED = _spec(
    "UPLOAD_LIMIT_EXCEEDED",
    413,
    "The uploaded file expands past a decoding limit: the decoded table, one cell, one row, the Parquet "
    "pages read at once, or the column count.",
    "The message names the limit and its `[datasets]` config key; split the file, shorten the values, "
    "or write Parquet with smaller pages and row groups.",
)
NESTING_TOO_DEEP = _spec(
    "NESTING_TOO_DEEP",
    400,
    "A value in the uploaded file nests lists or objects deeper than the appliance accepts.",
    "Flatten the nested values into columns; the message names the line or column.",
)
PORT_IN_USE = _spec(
    "PORT_IN_USE", 409, "A protocol port asked for is taken.", "Pick another port, or stop the run that holds it."
)
LIVE_RUN_LIMIT = _spec(
    "LIVE_RUN_LIMIT",
    409,
    "As many live runs as the appliance allows are already starting or running.",
    "Stop a run, or ask the administrator to raise [scada] max_runs / max_runs_per_tenant.",
)
LIVE_RUN_STATE = _spec(
    "LIVE_RUN_STATE",
    409,
    "The live run's state does not allow this: pause or resume at the wrong time, or a write or attack while paused.",
    "Read the run's status: pause a running run, resume a paused one, and resume before writing.",
)
INTERNAL = _spec(
    "INTERNAL", 500, "Something failed inside the appliance.", "Quote the correlation id to your administrator."
)
METRICS_UNAUTHORIZED = _spec(
    "METRICS_UNAUTHORIZED",
    401,
    "/metrics needs the metrics token, and none or a wrong one was sent.",
    "Send `Authorization: Bearer <token>` with the token set in `[metrics] token`.",
)
METRICS_LOOPBACK_ONLY = _spec(
    "METRICS_LOOPBACK_ONLY",
    403,
    "No metrics token is configured, so /metrics answers only on the loopback address.",
    "Scrape from the appliance itself, or set `[metrics] token` and send it as a bearer token.",
)
TLS_REQUIRED = _spec(
    "TLS_REQUIRED",
    500,
    "The API was asked to serve plain HTTP on an address other machines can reach.",
    'Leave `[server] tls = "auto"` (HTTPS), bind 127.0.0.1, or pass `--insecure-http` to accept cleartext.',
)
TLS_CONFIG_INVALID = _spec(
    "TLS_CONFIG_INVALID",
    500,
    "The API's TLS settings or certificate files cannot be used.",
    "Fix `[server] tls`, `tls_cert` and `tls_key` as the message says; `sealforge config show` shows them.",
)
WEBHOOK_URL_NOT_ALLOWED = _spec(
    "WEBHOOK_URL_NOT_ALLOWED",
    400,
    "The webhook URL is not a destination this appliance may send to: outside the allowed networks and"
    " hosts, not resolvable here, or not an http(s) URL.",
    "Use an address on the plant network, or have the operator add it to `[webhooks] allowed_networks`"
    " or `allowed_hosts`.",
)
WEBHOOK_NOT_FOUND = _spec(
    "WEBHOOK_NOT_FOUND",
    404,
    "No such webhook endpoint or delivery.",
    "Check the id with GET /v1/webhooks; endpoints of other tenants are invisible.",
)
WEBHOOK_LIMIT = _spec(
    "WEBHOOK_LIMIT",
    409,
    "The tenant already has as many webhook endpoints as the appliance allows.",
    "Delete an endpoint you no longer use, or raise `[webhooks] max_endpoints`.",
)
CONNECTOR_TARGET_NOT_ALLOWED = _spec(
    "CONNECTOR_TARGET_NOT_ALLOWED",
    400,
    "A connector's server or folder is outside what connectors may reach.",
    "Use a host on `[webhooks] allowed_networks` (or named in `allowed_hosts`), or a folder under "
    "`[connectors] folder_roots`.",
)
CONNECTOR_FAILED = _spec(
    "CONNECTOR_FAILED",
    502,
    "The connector's server could not be used; the message starts with the diagnosis (dns, refused, timeout, "
    "tls, auth, permission, not_found...).",
    "Run POST /v1/connectors/{id}/test, fix what its diagnosis names, and retry.",
)
UPDATES_UNAVAILABLE = _spec(
    "UPDATES_UNAVAILABLE",
    409,
    "This appliance does not run from the signed OS image (no release key at `[image] release_key`, or an"
    " os-release without IMAGE_ID=sealforge and IMAGE_SERIAL), so it takes no update bundles.",
    "Update an install outside the image with its own package tools; on the image, check `[image]`.",
)
UPDATE_BUNDLE_INVALID = _spec(
    "UPDATE_BUNDLE_INVALID",
    400,
    "The update bundle is not a Sealforge bundle, its signature does not verify with the release key, or a"
    " member does not match bundle.json; nothing was stored.",
    "Build the bundle with `make image-bundle` and the site's release key, and send the whole file unchanged.",
)
UPDATE_NOT_NEWER = _spec(
    "UPDATE_NOT_NEWER",
    409,
    "The bundle's release serial is not newer than the running release's; older releases are refused.",
    "Send a newer bundle; to go back on purpose, send it again with `allow_downgrade=true`.",
)
UPDATE_IN_PROGRESS = _spec(
    "UPDATE_IN_PROGRESS",
    409,
    "An update or a reboot is already queued for the appliance's updater.",
    "Wait until GET /v1/system/updates shows no pending request, then retry.",
)
UNAVAILABLE = _spec("UNAVAILABLE", 503, "A dependency of this route is not available.", "Retry later; see /livez.")


@dataclass(frozen=True)
class FieldError:
    field: str
    message: str

    def as_dict(self) -> dict[str, str]:
        return {"field": self.field, "message": self.message}


class AppError(Exception):
    """An error with a stable code, an HTTP status and a hint for the caller."""

    def __init__(
        self,
        spec: ErrorSpec,
        message: str | None = None,
        *,
        hint: str | None = None,
        details: list[FieldError] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message or spec.meaning)
        self.spec = spec
        self.message = message or spec.meaning
        self.hint = hint or spec.hint
        self.details = details or []
        self.headers = headers or {}

    @property
    def code(self) -> str:
        return self.spec.code

    @property
    def status(self) -> int:
        return self.spec.status

    def envelope(self, correlation_id: str) -> dict[str, Any]:
        return {
            "error": {
                "code": self.code,
                "message": self.message,
                "status": self.status,
                "hint": self.hint,
                "correlation_id": correlation_id,
                "details": [d.as_dict() for d in self.details],
            }
        }


def not_found(kind: str, ident: str) -> AppError:
    return AppError(NOT_FOUND, f"{kind} {ident!r} was not found.")


def validation(field: str, message: str) -> AppError:
    return AppError(VALIDATION_FAILED, f"{field}: {message}", details=[FieldError(field, message)])


def flatten_messages(messages: Any, prefix: str = "") -> list[FieldError]:
    """webargs/marshmallow nest messages by location and field; name each field by its path."""
    out: list[FieldError] = []
    if isinstance(messages, dict):
        for key, value in messages.items():
            name = str(key)
            if not prefix and name in {"json", "query", "form", "headers", "files", "view_args", "path"}:
                out.extend(flatten_messages(value, ""))
            else:
                out.extend(flatten_messages(value, f"{prefix}.{name}" if prefix else name))
    elif isinstance(messages, list | tuple):
        if all(isinstance(m, str) for m in messages):
            out.extend(FieldError(prefix or "body", str(m)) for m in messages)
        else:
            for item in messages:
                out.extend(flatten_messages(item, prefix))
    else:
        out.append(FieldError(prefix or "body", str(messages)))
    return out
