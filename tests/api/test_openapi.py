"""The committed openapi.json is the live spec; the docs pages load nothing from outside."""

from __future__ import annotations

import json
import re
from pathlib import Path

from flask import Flask
from flask.testing import FlaskClient

from appliance.api import openapi_document

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
