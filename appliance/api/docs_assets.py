"""Swagger UI and ReDoc assets, served by the appliance itself: the site has no internet.

The files come from the drf-spectacular-sidecar wheel, which ships both as plain static files; we
read the files only and never import the package (it is a Django app).
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from flask import Flask, abort, send_from_directory
from flask.typing import ResponseReturnValue

ASSETS_URL = "/assets/"


def assets_root() -> Path | None:
    spec = importlib.util.find_spec("drf_spectacular_sidecar")
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))) / "static" / "drf_spectacular_sidecar"


def configure(app: Flask) -> None:
    """Point flask-smorest's /docs and /redoc pages at the local copies."""
    app.config.update(
        OPENAPI_URL_PREFIX="/",
        OPENAPI_JSON_PATH="openapi.json",
        OPENAPI_SWAGGER_UI_PATH="/docs",
        OPENAPI_SWAGGER_UI_URL=f"{ASSETS_URL}swagger-ui-dist/",
        OPENAPI_REDOC_PATH="/redoc",
        OPENAPI_REDOC_URL=f"{ASSETS_URL}redoc/bundles/redoc.standalone.js",
    )
    root = assets_root()

    def asset(filename: str) -> ResponseReturnValue:
        if root is None or filename.endswith(".map"):
            abort(404)
        return send_from_directory(root, filename, max_age=86400)

    app.add_url_rule(f"{ASSETS_URL}<path:filename>", "docs_asset", asset)
