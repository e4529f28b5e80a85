"""The committed openapi.json is the live spec; the docs pages load nothing from outside."""

from __future__ import annotations

import json
import re
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from flask import Flask
from flask.testing import FlaskClient

from appliance.api import create_app, openapi_document

ROOT = Path(__file__).resolve().parents[2]


def test_committed_spec_matches_live(app: Flask) -> None:
    committed = (ROOT / "openapi.json").read_text()
    assert committed == openapi_document(app), "run `make openapi` and commit openapi.json"


def test_spec_is_openapi_31_with_security(client: FlaskClient) -> None:
    spec = client.get("/openapi.json").get_json()
    assert spec["openapi"] == "3.1.0"
    assert set(spec["components"]["securitySchemes"]) == {"ApiKey", "Bearer"}
    assert spec["paths"]["/v1/auth/whoami"]["get"]["security"] == [{"ApiKey": ["read"]}, {"Bearer": ["read"]}]
    assert "security" not in spec["paths"]["/healthz"]["get"]


def test_docs_pages_use_only_local_assets(client: FlaskClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).get_data(as_text=True)
        urls = re.findall(r'(?:src|href)="([^"]+)"', html)
        assert urls, page
        for url in urls:
            assert url.startswith("/assets/"), url
            assert client.get(url).status_code == 200, url


def test_source_maps_are_not_served(client: FlaskClient) -> None:
    assert client.get("/assets/swagger-ui-dist/swagger-ui-bundle.js.map").status_code == 404
    assert json.loads(client.get("/assets/../pyproject.toml").get_data() or b"{}").get("error")


def test_first_reads_from_many_threads_all_get_the_whole_document(app: Flask, app_config: dict[str, Any]) -> None:
    """The document is built on its first read (`appliance.api.extensions.Api`); requests that
    ask for it together in a threaded worker wait for the whole of it, never a half-built one."""
    threads = 8
    start = threading.Barrier(threads)

    def read() -> str:
        start.wait()
        return openapi_document(app)

    with ThreadPoolExecutor(threads) as pool:
        documents = list(pool.map(lambda _: read(), range(threads)))
    alone = openapi_document(create_app(app_config))  # another app, read by one thread
    assert documents == [alone] * threads
    assert json.loads(alone)["paths"]["/v1/auth/whoami"]["get"]["responses"]["429"]
