"""flask-smorest, set up once: the Api, a Blueprint whose argument errors are 400, and schemas
shared by every resource (the error envelope and list pagination).

The request pipeline (``appliance.api.pipeline``) adds the same headers to every request and
answer; :class:`HeadersPlugin` declares them once for every operation of the OpenAPI document, so
generated clients see them without each view repeating them.
"""

from __future__ import annotations

import http
import threading
from collections.abc import Callable
from typing import Any, TypeVar

import marshmallow as ma
from apispec import BasePlugin
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from flask_smorest.spec import openapi_cli
from flask_smorest.utils import prepare_response
from webargs.flaskparser import FlaskParser

from appliance.api.aliases import SPEC_EXTENSION

F = TypeVar("F", bound=Callable[..., Any])

SCOPE_ATTR = "_sealforge_scope"
BODY_ATTR = "_sealforge_body"
SECURITY_SCHEMES = ("ApiKey", "Bearer")
DEFAULT_PAGE_LIMIT = 20
MAX_PAGE_LIMIT = 200
"""Items per list page when ``limit`` is not given, and the most a client may ask for."""


class ErrorDetailSchema(ma.Schema):
    field = ma.fields.String()
    message = ma.fields.String()


class ErrorBodySchema(ma.Schema):
    code = ma.fields.String(metadata={"description": "Stable UPPER_SNAKE code; see GET /v1/errors"})
    message = ma.fields.String()
    status = ma.fields.Integer()
    hint = ma.fields.String()
    correlation_id = ma.fields.String()
    details = ma.fields.List(ma.fields.Nested(ErrorDetailSchema))


class ErrorEnvelopeSchema(ma.Schema):
    error = ma.fields.Nested(ErrorBodySchema)


class Parser(FlaskParser):
    """Validation failures are 400 in this API, not webargs' default 422."""

    DEFAULT_VALIDATION_STATUS = 400


class Blueprint(_Blueprint):
    ARGUMENTS_PARSER = Parser()


IDEMPOTENCY_HEADERS = ("Idempotency-Key", "X-Idempotency-Key")
EVERY_RESPONSE_HEADERS = ("X-Correlation-Id", "X-Rate-Limit-Remaining")
RATE_LIMITED_RESPONSE = "TOO_MANY_REQUESTS"
HEADERS: dict[str, dict[str, Any]] = {
    "X-Correlation-Id": {
        "description": "The request's correlation id (the caller's own when it sent a valid one); quote it to support.",
        "schema": {"type": "string"},
    },
    "X-Rate-Limit-Remaining": {
        "description": "Requests left in this tenant's bucket for this route (absent when rate limiting is off).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-Job-Id": {
        "description": "The id of the job this answer started or waits on.",
        "schema": {"type": "string"},
    },
    "Retry-After": {
        "description": "Seconds to wait before asking again (429: until a request is allowed; 202: until the "
        "result may be ready).",
        "schema": {"type": "integer", "minimum": 0},
    },
    "X-RateLimit-Reset": {
        "description": "Seconds until this tenant's bucket for this route is full again.",
        "schema": {"type": "integer", "minimum": 0},
    },
}
"""Response headers the pipeline or the views send, declared once as OpenAPI components."""


def scoped_security(scope: str) -> list[dict[str, list[str]]]:
    """Either scheme, with the scope it needs (OpenAPI 3.1 allows role names for non-OAuth schemes)."""
    return [{scheme: [scope]} for scheme in SECURITY_SCHEMES]


class HeadersPlugin(BasePlugin):
    """Declares on every operation what the pipeline does on every request: the idempotency headers
    a POST accepts, the headers every answer carries, and the 429 of the rate limiter."""

    def operation_helper(
        self, path: str | None = None, operations: dict[str, Any] | None = None, **kwargs: Any
    ) -> None:
        for method, operation in (operations or {}).items():
            if not isinstance(operation, dict):
                continue
            responses = operation.setdefault("responses", {})
            if method == "post":
                parameters = operation.setdefault("parameters", [])
                parameters.extend(IDEMPOTENCY_HEADERS)
            for status, response in responses.items():
                if not isinstance(response, dict) or "$ref" in response:
                    continue  # component responses carry their own headers (Api._register_responses)
                headers = response.setdefault("headers", {})
                names = list(EVERY_RESPONSE_HEADERS)
                if str(status) == "202":
                    names += ["X-Job-Id", "Retry-After"]
                for name in names:
                    headers.setdefault(name, name)
            responses.setdefault("429", RATE_LIMITED_RESPONSE)


class Api(_Api):
    """flask-smorest's Api, building the OpenAPI document when the spec is first read.

    Registering a blueprint makes its routes at once; building its part of the OpenAPI document
    (a third of `create_app`, paid by every worker at boot and every test's app) waits until
    something reads ``spec`` (/openapi.json, the docs pages, `sealforge openapi`), then runs in
    registration order, so the document is the same as if built eagerly. The document's own start
    (the plugins, a component response per HTTP status with the error schema resolved, the shared
    headers and parameters: another fifth of `create_app`) waits for that first read too, and
    runs before the blueprints' parts, in the order flask-smorest gives it."""

    ERROR_SCHEMA = ErrorEnvelopeSchema
    _undocumented: list[tuple[Any, str, Any]]

    @property
    def spec(self) -> Any:
        state = self.__dict__
        if not state.get("_spec_complete", True):
            # One thread builds and the others wait for the whole document (a gthread worker's first
            # /openapi.json requests may come together); re-entrant: the document's start reads `spec`.
            with state["_spec_lock"]:
                self._complete_spec()
                if not state.get("_starting"):
                    state["_spec_complete"] = True
        return state.get("_spec")

    @spec.setter
    def spec(self, value: Any) -> None:
        self.__dict__["_spec"] = value

    def _complete_spec(self) -> None:
        """Start the document on its first read, then document the blueprints not yet in it."""
        state = self.__dict__
        options = state.pop("_spec_options", None)
        if options is not None:
            state["_starting"] = True
            try:
                self._build_spec(**options)
            finally:
                del state["_starting"]
        pending = state.get("_undocumented")
        if pending and not state.get("_starting"):  # the start reads spec too: blueprints after it
            state["_undocumented"] = []
            for blp, name, parameters in pending:
                blp.register_views_in_doc(self, self._app, self._spec, name=name, parameters=parameters)
                self._spec.tag({"name": name, "description": blp.description})

    def register_blueprint(self, blp: Any, *, parameters: Any = None, **options: Any) -> None:
        name = options.get("name", blp.name)
        self._app.extensions["flask-smorest"]["blp_name_to_api"][name] = self
        self._app.register_blueprint(blp, **options)
        self.__dict__.setdefault("_undocumented", []).append((blp, name, parameters))
        self.__dict__["_spec_complete"] = False

    def _register_error_handlers(self) -> None:
        """Error handlers are registered by ``appliance.api.envelope`` instead."""

    def _init_spec(self, **options: Any) -> None:
        """Keep the spec's options for its first read (see the class docstring); flask-smorest's
        `flask openapi` command group is added now, as its own `_init_spec` would."""
        self.__dict__["_spec_options"] = options
        self.__dict__["_spec_lock"] = threading.RLock()
        self.__dict__["_spec_complete"] = False
        self._app.cli.add_command(openapi_cli)

    def _build_spec(self, *, extra_plugins: Any = None, **options: Any) -> None:
        """The plain flask-smorest spec, plus the header plugin, the shared header and parameter
        components and the alias rules (:data:`appliance.api.aliases.SPEC_EXTENSION`)."""
        super()._init_spec(extra_plugins=[HeadersPlugin(), *(extra_plugins or ())], **{**SPEC_EXTENSION, **options})
        for name, header in HEADERS.items():
            self.spec.components.header(name, header, lazy=True)
        for name in IDEMPOTENCY_HEADERS:
            self.spec.components.parameter(
                name,
                "header",
                {
                    "required": False,
                    "schema": {"type": "string", "maxLength": 255},
                    "description": "Makes the POST safe to retry: the first answer is kept 24 h and replayed "
                    "(`Idempotent-Replayed: true`); the same key with another body is 409. "
                    + (
                        "X-Idempotency-Key is a synonym."
                        if name == "Idempotency-Key"
                        else "Synonym of Idempotency-Key."
                    ),
                },
                lazy=True,
            )

    def _register_responses(self) -> None:
        """flask-smorest's error responses (one per status, and DEFAULT_ERROR), each declaring the
        headers every answer carries; 429 also declares when to retry."""
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if not (100 <= status < 200) and status not in (204, 304):
                response["schema"] = self.ERROR_SCHEMA
            response["headers"] = {name: name for name in EVERY_RESPONSE_HEADERS}
            if status == 429:
                response["headers"].update({"Retry-After": "Retry-After", "X-RateLimit-Reset": "X-RateLimit-Reset"})
            prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {
            "description": "Default error response",
            "schema": self.ERROR_SCHEMA,
            "headers": {name: name for name in EVERY_RESPONSE_HEADERS},
        }
        prepare_response(response, self.spec, self.DEFAULT_RESPONSE_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)


class PageArgsSchema(ma.Schema):
    limit = ma.fields.Integer(load_default=DEFAULT_PAGE_LIMIT, validate=ma.validate.Range(min=1, max=MAX_PAGE_LIMIT))
    after = ma.fields.String(load_default=None, validate=ma.validate.Length(max=64))


def page_schema(item: type[ma.Schema], name: str) -> type[ma.Schema]:
    """The list envelope ``{data, count, has_more, next_after}`` around ``item``."""
    return type(
        name,
        (ma.Schema,),
        {
            "data": ma.fields.List(ma.fields.Nested(item)),
            "count": ma.fields.Integer(),
            "has_more": ma.fields.Boolean(),
            "next_after": ma.fields.String(allow_none=True),
        },
    )


def requires(scope: str | None) -> Callable[[F], F]:
    """Declare the scope a view needs (``None``: public). The request pipeline enforces it."""

    def mark(func: F) -> F:
        setattr(func, SCOPE_ATTR, scope)
        if scope is not None:
            doc = getattr(func, "_apidoc", {})
            manual = dict(doc.get("manual_doc", {}))
            manual["security"] = scoped_security(scope)
            manual.setdefault("description", "")
            manual["description"] = (manual["description"] + f"\n\nScope: `{scope}`.").strip()
            func._apidoc = {**doc, "manual_doc": manual}  # type: ignore[attr-defined]
        return func

    return mark


def accepts_body(kind: str) -> Callable[[F], F]:
    """Declare what a POST body may be: ``json`` (default), ``form`` (the web UI's url-encoded forms)
    or ``raw`` (uploads)."""

    def mark(func: F) -> F:
        setattr(func, BODY_ATTR, kind)
        return func

    return mark
