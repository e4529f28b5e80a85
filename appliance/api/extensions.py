"""flask-smorest, set up once: the Api, a Blueprint whose argument errors are 400, and schemas
shared by every resource (the error envelope and list pagination)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import marshmallow as ma
from flask_smorest import Api as _Api
from flask_smorest import Blueprint as _Blueprint
from webargs.flaskparser import FlaskParser

F = TypeVar("F", bound=Callable[..., Any])

SCOPE_ATTR = "_sealforge_scope"
BODY_ATTR = "_sealforge_body"
SECURITY: list[dict[str, list[str]]] = [{"ApiKey": []}, {"Bearer": []}]
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


class Api(_Api):
    ERROR_SCHEMA = ErrorEnvelopeSchema

    def _register_error_handlers(self) -> None:
        """Error handlers are registered by ``appliance.api.envelope`` instead."""


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
            manual["security"] = SECURITY
            manual.setdefault("description", "")
            manual["description"] = (manual["description"] + f"\n\nScope: `{scope}`.").strip()
            func._apidoc = {**doc, "manual_doc": manual}  # type: ignore[attr-defined]
        return func

    return mark


def accepts_body(kind: str) -> Callable[[F], F]:
    """Declare what a POST body may be: ``json`` (default) or ``raw`` (uploads)."""

    def mark(func: F) -> F:
        setattr(func, BODY_ATTR, kind)
        return func

    return mark
