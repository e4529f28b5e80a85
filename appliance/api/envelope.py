"""The single place where errors become the JSON envelope.

Covers our own ``AppError``, every werkzeug HTTP error (404 route, 405, 413, webargs' 400s) and
anything unexpected (500, logged with the correlation id). Never HTML, and never a server path
or a traceback: every message is scrubbed here, on the one way out.
"""

from __future__ import annotations

import logging
from typing import Any

from flask import Flask, Response, g, jsonify
from werkzeug.exceptions import HTTPException

from appliance import errors
from appliance.errors import AppError, FieldError, flatten_messages
from appliance.scrub import scrub

log = logging.getLogger("sealforge.api")

_BY_STATUS = {
    400: errors.BAD_REQUEST,
    401: errors.UNAUTHENTICATED,
    403: errors.FORBIDDEN,
    404: errors.ROUTE_NOT_FOUND,
    405: errors.METHOD_NOT_ALLOWED,
    409: errors.CONFLICT,
    413: errors.PAYLOAD_TOO_LARGE,
    415: errors.UNSUPPORTED_MEDIA_TYPE,
    429: errors.RATE_LIMITED,
}


def from_http_exception(exc: HTTPException) -> AppError:
    status = exc.code or 500
    data = getattr(exc, "data", None) or {}
    messages = data.get("messages") or data.get("errors")
    if status == 400 and messages:
        details = flatten_messages(messages)
        if any("Invalid JSON body" in d.message for d in details):
            return AppError(errors.MALFORMED_JSON, details=[FieldError("body", "Invalid JSON body.")])
        summary = "; ".join(f"{d.field}: {d.message}" for d in details[:5])
        return AppError(errors.VALIDATION_FAILED, summary or None, details=details)
    spec = _BY_STATUS.get(status, errors.INTERNAL if status >= 500 else errors.BAD_REQUEST)
    message = data.get("message") or exc.description or spec.meaning
    headers: dict[str, str] = {}
    valid_methods = getattr(exc, "valid_methods", None)
    if status == 405 and valid_methods:
        headers["Allow"] = ", ".join(sorted(valid_methods))
    return AppError(spec, message, headers=headers)


def _scrubbed(body: dict[str, Any], spec: errors.ErrorSpec) -> dict[str, Any]:
    """No answer carries a server path or a traceback, whatever text a library put in the error."""
    err = body["error"]
    err["message"] = scrub(str(err["message"])) or spec.meaning
    err["hint"] = scrub(str(err["hint"])) or spec.hint
    err["details"] = [{"field": scrub(str(d["field"])), "message": scrub(str(d["message"]))} for d in err["details"]]
    return body


def render(error: AppError) -> Response:
    body = _scrubbed(error.envelope(getattr(g, "correlation_id", "-")), error.spec)
    if error.status == 500 and body["error"]["code"] == "INTERNAL":
        body["error"]["message"] = errors.INTERNAL.meaning
    response = jsonify(body)
    response.status_code = error.status
    for name, value in error.headers.items():
        response.headers[name] = value
    return response


def register(app: Flask) -> None:
    @app.errorhandler(AppError)
    def _app_error(exc: AppError) -> Response:
        return render(exc)

    @app.errorhandler(HTTPException)
    def _http_error(exc: HTTPException) -> Response:
        return render(from_http_exception(exc))

    @app.errorhandler(Exception)
    def _unexpected(exc: Exception) -> Response:
        log.exception("unhandled error (correlation id %s)", getattr(g, "correlation_id", "-"))
        return render(AppError(errors.INTERNAL))
