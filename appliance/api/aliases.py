"""The seed-compatible surface: every /v1/<resource> route also answers under /v1/client/<resource>.

The alias is a second URL rule pointing at the same endpoint, so it shares the handler, schema,
scope and limits; nothing is copied. Aliases are left out of the OpenAPI document on purpose.
"""

from __future__ import annotations

from flask import Flask

CLIENT_PREFIX = "/v1/client/"


def add_client_aliases(app: Flask) -> None:
    for rule in list(app.url_map.iter_rules()):
        path = rule.rule
        if not path.startswith("/v1/") or path.startswith(CLIENT_PREFIX):
            continue
        methods = sorted((rule.methods or set()) - {"HEAD", "OPTIONS"})
        app.add_url_rule(CLIENT_PREFIX + path[len("/v1/") :], endpoint=rule.endpoint, methods=methods)
