"""The seed-compatible surface: every /v1/<resource> route also answers under /v1/client/<resource>,
and every route answers with or without a trailing slash.

The alias is a second URL rule pointing at the same endpoint, so it shares the handler, schema,
scope and limits; nothing is copied. The trailing slash is one werkzeug setting on every rule
(``strict_slashes = False``): ``/v1/client/preview/`` then matches the ``/v1/preview`` rule itself,
with no redirect (a 308 would make clients resend POST bodies) and no second rule. Neither form
doubles the paths of the OpenAPI document: the spec names each operation once, under ``/v1/``,
and carries the rule in ``x-path-aliases`` (see :data:`SPEC_EXTENSION`) and its description.
"""

from __future__ import annotations

from typing import Any

from flask import Flask

CLIENT_PREFIX = "/v1/client/"
NATIVE_PREFIX = "/v1/"
SPEC_EXTENSION: dict[str, Any] = {
    "x-path-aliases": [
        {
            "pattern": "/v1/client/{path}",
            "same_as": "/v1/{path}",
            "description": "Every /v1/ operation also answers under /v1/client/, with the same handler, "
            "parameters, scopes and answers.",
        },
        {
            "pattern": "{path}/",
            "same_as": "{path}",
            "description": "Every path also answers with one trailing slash, without a redirect.",
        },
    ]
}
"""The alias rules as a top-level extension of the OpenAPI document, for tools and readers."""


def add_client_aliases(app: Flask) -> None:
    """Add the /v1/client/ rule of every /v1/ rule, then let every rule take a trailing slash."""
    for rule in list(app.url_map.iter_rules()):
        path = rule.rule
        if not path.startswith(NATIVE_PREFIX) or path.startswith(CLIENT_PREFIX):
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        app.add_url_rule(CLIENT_PREFIX + path[len(NATIVE_PREFIX) :], endpoint=rule.endpoint, methods=methods)
    for rule in app.url_map.iter_rules():
        rule.strict_slashes = False  # read by the matcher on every request; see the module docstring
