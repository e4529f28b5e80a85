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


class Users(dict[str, str]):
    """The email of a user of each scope (`read`, `generate`, `admin`) of the `acme` tenant, all with
    PASSWORD, made on first use: a password hash is a deliberate tenth of a second of scrypt."""

    def __init__(self, db: Any, tenant_id: str) -> None:
        super().__init__()
        self.db, self.tenant_id = db, tenant_id

    def __missing__(self, scope: str) -> str:
        email = identity.create_user(self.db, self.tenant_id, f"{scope}@plant.example", PASSWORD, [scope])["email"]
        self[scope] = email
        return str(email)


@pytest.fixture
def users(db: Any, tenant: dict[str, Any]) -> Users:
    return Users(db, tenant["id"])


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
