"""The API's URL rules: werkzeug's, with the URL *builder* compiled on first use, not at start.

Why: werkzeug compiles two Python functions per rule (via ``ast``) so that ``url_for`` can build
that rule's URLs. The API has about 140 rules with its `/v1/client/` and trailing-slash aliases,
and building those functions was about 40 % of `create_app`, paid by every gunicorn worker at
boot and by every test that makes an app, while the API builds a URL for only a handful of rules
(its `Location` and `_links` headers). Matching is untouched: it does not use the builders.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule


class LazyBuilderRule(Rule):
    """A `Rule` whose builder functions are compiled the first time a URL is built from it."""

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        compiled: list[Callable[..., tuple[str, str]]] = []
        compile_now = super()._compile_builder

        def build(rule: Rule, *args: Any, **kwargs: Any) -> tuple[str, str]:
            if not compiled:
                compiled.append(compile_now(append_unknown).__get__(rule, None))
            return compiled[0](*args, **kwargs)

        return build
