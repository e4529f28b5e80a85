"""Fixtures of the web UI's tests: users of each scope and a logged-in test client."""

from __future__ import annotations

import re
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.services import identity

PASSWORD = "correct horse battery staple"
CSRF_FIELD = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
def users(db: Any, tenant: dict[str, Any]) -> dict[str, str]:
    """An email per scope (`read`, `generate`, `admin`) of the `acme` tenant, all with PASSWORD."""
    emails = {}
    for scope in ("read", "generate", "admin"):
        email = f"{scope}@plant.example"
        identity.create_user(db, tenant["id"], email, PASSWORD, [scope])
        emails[scope] = email
    return emails


def form_token(html: str) -> str:
    match = CSRF_FIELD.search(html)
    assert match, "the page has no CSRF field"
    return match.group(1)


def log_in(client: FlaskClient, email: str, password: str = PASSWORD) -> Any:
    token = form_token(client.get("/login").get_data(as_text=True))
    return client.post("/login", data={"email": email, "password": password, "csrf_token": token})


def session_client(app: Flask, email: str) -> tuple[FlaskClient, str]:
    """A client logged in as ``email`` and the session's CSRF token (read from a page, as a browser would)."""
    client = app.test_client()
    assert log_in(client, email).status_code == 303
    return client, form_token(client.get("/").get_data(as_text=True))
