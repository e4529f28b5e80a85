"""Flask's JSON provider, made unable to write ``NaN`` or ``Infinity`` (see ``appliance.jsonsafe``).

Every JSON answer of the API (flask-smorest responses, ``jsonify``, the error envelope) goes
through ``app.json``, so this one class covers them all. Keys keep their insertion order.
"""

from __future__ import annotations

from typing import Any

from flask.json.provider import DefaultJSONProvider

from appliance import jsonsafe


class FiniteJSONProvider(DefaultJSONProvider):
    """Keys stay in insertion order; ``NaN``/``±Infinity`` become ``null``."""

    sort_keys = False

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        return jsonsafe.dumps(obj, super().dumps, **kwargs)
