"""What happens around every request, in order: correlation id, body checks, authentication and
scope, rate limit, idempotency; and after it: stored replies, headers, and the audit entry.

Views only declare what they need (``requires``, ``accepts_body``); the rules live here once.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Callable
from typing import Any

import blake3
from flask import Flask, Response, current_app, g, request

from appliance import errors
from appliance.api import context, jsondepth
from appliance.api.extensions import BODY_ATTR, SCOPE_ATTR
from appliance.clock import now_iso
from appliance.errors import AppError, FieldError
from appliance.jobs.events import Recheck
from appliance.services import audit, idempotency, identity, ratelimit, tokens, ui_sessions
from appliance.services.principal import Principal

HSTS = "max-age=31536000"
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DENIALS = frozenset({401, 403, 429})
_CORRELATION_RE = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
_REPLAY_HEADERS = ("Content-Type", "Location", "X-Job-Id")
_UNSET = object()
KEY_CACHE = "sealforge_key_cache"  # app.extensions entry: this process's identity.KeyCache
# Views registered by flask-smorest or for static assets, which cannot carry a `requires` mark.
PUBLIC_ENDPOINTS = frozenset(
    {"api-docs.openapi_json", "api-docs.openapi_swagger_ui", "api-docs.openapi_redoc", "docs_asset", "ui.static"}
)
BACKGROUND_HEADER = "X-UI-Background"
FORM_MIMETYPE = "application/x-www-form-urlencoded"


def _view() -> Any:
    if request.endpoint is None:
        return None
    return current_app.view_functions.get(request.endpoint)


def _set_correlation_id() -> None:
    incoming = request.headers.get("X-Correlation-Id", "")
    g.correlation_id = incoming if _CORRELATION_RE.match(incoming) else "cor_" + secrets.token_hex(10)
    g.started = time.perf_counter()


def _check_body(view: Any) -> None:
    if request.method not in WRITE_METHODS or view is None:
        return
    kind = getattr(view, BODY_ATTR, "json")
    has_body = bool(request.content_length) or "chunked" in request.headers.get("Transfer-Encoding", "")
    if kind == "form":  # the web UI's forms: small, url-encoded, never a file
        limit = int(context.config()["server"]["max_body_bytes"])
        request.max_form_memory_size = limit
        if request.content_length and request.content_length > limit:
            raise AppError(errors.PAYLOAD_TOO_LARGE, f"the form is larger than {limit} bytes")
        if has_body and request.mimetype != FORM_MIMETYPE:
            raise AppError(
                errors.UNSUPPORTED_MEDIA_TYPE,
                f"this page takes {FORM_MIMETYPE}, not {request.mimetype or 'an untyped body'}",
            )
    if kind == "json":
        limit = int(context.config()["server"]["max_body_bytes"])
        if request.content_length and request.content_length > limit:
            raise AppError(errors.PAYLOAD_TOO_LARGE, f"the body is larger than {limit} bytes")
        if request.content_length is None and has_body:
            # A chunked body has no length to check up front: read at most one byte past the limit.
            request.max_content_length = limit + 1
            if len(request.get_data(cache=True)) > limit:
                raise AppError(errors.PAYLOAD_TOO_LARGE, f"the body is larger than {limit} bytes")
        if has_body and not (request.mimetype == "application/json" or request.mimetype.endswith("+json")):
            raise AppError(
                errors.UNSUPPORTED_MEDIA_TYPE,
                f"this route takes application/json, not {request.mimetype or 'an untyped body'}",
            )
        if has_body:
            jsondepth.check(request.get_data(cache=True), int(context.config()["server"]["max_json_depth"]))


def _authenticate() -> Principal | None:
    conn = context.get_db()
    api_key = request.headers.get("X-API-Key")
    if api_key:
        cache: identity.KeyCache = current_app.extensions[KEY_CACHE]
        who = cache.authenticate(conn, api_key, time.monotonic())
        if who is None:
            raise AppError(errors.UNAUTHENTICATED, "the API key is unknown or revoked")
        return who
    auth = request.headers.get("Authorization", "")
    if auth:
        scheme, _, token = auth.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AppError(errors.UNAUTHENTICATED, "use `Authorization: Bearer <token>`")
        cfg = context.config()["auth"]
        return tokens.authenticate_bearer(conn, token.strip(), context.keys_dir(), cfg["issuer"])
    cookie = request.cookies.get(ui_sessions.COOKIE)
    if cookie:
        return _session_principal(conn, cookie)
    return None


def credential_check() -> Callable[[], bool]:
    """A check, callable after this request has returned, that the credential it came with still
    opens the API. An event stream asks it every ``[streams] recheck_s``: without it a stream would
    outlive a revoked key, an expired token, a logout or an idle web session by up to a day.
    Web sessions are checked without counting as activity, so an open tab does not keep its
    session alive by itself."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    pool = app.extensions["sealforge_db_pool"]
    cfg = context.config()
    keys_dir = context.keys_dir()
    api_key = request.headers.get("X-API-Key")
    bearer = request.headers.get("Authorization", "").partition(" ")[2].strip()
    cookie = request.cookies.get(ui_sessions.COOKIE)

    def still_opens(conn: Any) -> bool:
        if api_key:
            return app.extensions[KEY_CACHE].authenticate(conn, api_key, time.monotonic()) is not None
        if bearer:
            tokens.authenticate_bearer(conn, bearer, keys_dir, cfg["auth"]["issuer"])
            return True
        if cookie:
            ui_sessions.authenticate(conn, cookie, cfg["ui"], activity=False)
            return True
        return False

    def check() -> bool:
        conn = pool.borrow()
        try:
            return still_opens(conn)
        except AppError:
            return False
        finally:
            pool.give_back(conn)

    return check


def stream_recheck() -> Recheck:
    """What an event stream opened by this request asks, every ``[streams] recheck_s``, to go on."""
    return Recheck(credential_check(), float(context.config()["streams"]["recheck_s"]))


def _session_principal(conn: Any, cookie: str) -> Principal:
    """The web UI's session cookie, checked here like a key or a token, so a page and the API
    (the job event stream a page follows, a download) apply the same scopes. A write made with the
    cookie must echo the session's CSRF token; a page's background refresh (``X-UI-Background``)
    does not count as activity for the idle timeout."""
    session = ui_sessions.authenticate(
        conn, cookie, context.config()["ui"], activity=request.headers.get(BACKGROUND_HEADER) != "1"
    )
    g.ui_session = session
    if request.method in WRITE_METHODS:
        sent = request.headers.get(ui_sessions.CSRF_HEADER)
        if sent is None and request.mimetype == FORM_MIMETYPE:
            sent = request.form.get(ui_sessions.CSRF_FIELD)
        g.principal = session.principal  # a refused write still names its caller in the audit
        ui_sessions.check_csrf(session, sent)
    return session.principal


def _authorize(view: Any) -> None:
    needed = getattr(view, SCOPE_ATTR, _UNSET) if view is not None else None
    if request.endpoint in PUBLIC_ENDPOINTS:
        needed = None
    elif needed is _UNSET:
        needed = "admin"  # a view that forgot to declare a scope is closed, not open
    who = _authenticate() if needed is not None or request.headers.get("X-API-Key") else None
    g.principal = who
    if needed is None:
        return
    if who is None:
        raise AppError(errors.UNAUTHENTICATED)
    if not who.has(str(needed)):
        raise AppError(errors.FORBIDDEN, f"this route needs the `{needed}` scope")


def _rate_limit() -> None:
    cfg = context.config()["ratelimit"]
    if not cfg["enabled"]:
        return
    who: Principal | None = g.get("principal")
    owner = who.tenant_id if who else f"ip:{request.remote_addr}"
    bucket = f"{owner}|{request.endpoint or 'unmatched'}"
    decision = ratelimit.take(context.state_dir(), bucket, float(cfg["rate_per_s"]), int(cfg["burst"]))
    g.rate_remaining = decision.remaining
    if not decision.allowed:
        raise AppError(
            errors.RATE_LIMITED,
            f"over the limit of {cfg['rate_per_s']}/s (burst {cfg['burst']}) for this route",
            details=[
                FieldError("retry_after_s", str(decision.retry_after)),
                FieldError("reset_after_s", str(decision.reset_after)),
            ],
            headers={"Retry-After": str(decision.retry_after), "X-RateLimit-Reset": str(decision.reset_after)},
        )


def _idempotency() -> Response | None:
    if request.method != "POST":  # checked first: every GET would otherwise look up two headers
        return None
    key = request.headers.get("Idempotency-Key") or request.headers.get("X-Idempotency-Key")
    who: Principal | None = g.get("principal")
    if key is None or who is None:
        return None
    if getattr(_view(), BODY_ATTR, "json") == "json":
        body_hash = blake3.blake3(request.get_data(cache=True)).hexdigest()
    else:  # uploads are streamed, never held in memory: fingerprint what describes them instead
        described = f"{request.query_string.decode()}|{request.content_type}|{request.content_length}"
        body_hash = blake3.blake3(described.encode()).hexdigest()
    ttl_s = float(context.config()["idempotency"]["ttl_h"]) * 3600
    replay = idempotency.begin(context.get_db(), who.tenant_id, key, request.method, request.path, body_hash, ttl_s)
    if replay is not None:
        response = Response(replay.body, status=replay.status, headers=replay.headers)
        response.headers["Idempotent-Replayed"] = "true"
        return response
    g.idempotency_key = key
    return None


def before_request() -> Response | None:
    _set_correlation_id()
    view = _view()
    denied: AppError | None = None
    try:
        _authorize(view)
    except AppError as exc:
        g.setdefault("principal", None)  # a 403 keeps the caller, so the audit names who was denied
        denied = exc
    _rate_limit()  # also for denied callers, by address, so keys cannot be guessed at full speed
    if denied is not None:
        raise denied
    _check_body(view)
    return _idempotency()


def _store_idempotent(response: Response) -> None:
    key = g.pop("idempotency_key", None)
    if key is None:
        return
    who: Principal = g.principal
    headers = {h: response.headers[h] for h in _REPLAY_HEADERS if h in response.headers}
    body = b"" if response.is_streamed else response.get_data()
    idempotency.finish(context.get_db(), who.tenant_id, key, response.status_code, headers, body)


def _audit(response: Response) -> None:
    if request.method not in WRITE_METHODS and response.status_code not in DENIALS:
        return
    who: Principal | None = g.get("principal")
    body = request.get_data(cache=True) if getattr(_view(), BODY_ATTR, "json") == "json" else b""
    audit.record(
        context.get_db(),
        {
            "at": now_iso(),
            "tenant_id": who.tenant_id if who else None,
            "caller": who.caller if who else None,
            "scope": ",".join(who.granted) if who else None,
            "method": request.method,
            "path": request.path,
            "status": response.status_code,
            "body_blake3": g.get("body_blake3") or blake3.blake3(body).hexdigest(),
            "correlation_id": g.correlation_id,
        },
    )


def _deprecation(response: Response) -> None:
    for prefix, sunset in (context.config().get("deprecations") or {}).items():
        if request.path.startswith(prefix):
            response.headers["Deprecation"] = "true"
            response.headers["Sunset"] = time.strftime(
                "%a, %d %b %Y 00:00:00 GMT", time.strptime(str(sunset), "%Y-%m-%d")
            )
            response.headers["X-Sunset"] = str(sunset)
            break


def after_request(response: Response) -> Response:
    if "correlation_id" not in g:
        _set_correlation_id()
    _store_idempotent(response)
    _audit(response)
    _deprecation(response)
    response.headers["X-Correlation-Id"] = g.correlation_id
    if request.scheme == "https":  # gunicorn sets wsgi.url_scheme; never sent over plain HTTP (RFC 6797)
        response.headers["Strict-Transport-Security"] = HSTS
    if "rate_remaining" in g:
        response.headers["X-Rate-Limit-Remaining"] = str(g.rate_remaining)
    return response


def install(app: Flask) -> None:
    app.extensions[KEY_CACHE] = identity.KeyCache(float(app.config["SEALFORGE"]["auth"]["key_cache_s"]))
    app.before_request(before_request)
    app.after_request(after_request)
