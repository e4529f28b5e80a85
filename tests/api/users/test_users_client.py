"""The Python client's user methods (sync and async) against the real app over an in-process WSGI
transport: what a script on a site without a shell on the box uses to manage its people."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import httpx
import pytest
from flask import Flask
from sealforge_client import Client, SealforgeError
from sealforge_client.aio import AsyncClient

from tests.live_appliance import api_process

PASSWORD = "correct horse battery staple"


def test_the_client_makes_lists_disables_and_resets_users(app: Flask, keys: dict[str, str]) -> None:
    sdk = Client("http://sealforge.test", api_key=keys["admin"], transport=httpx.WSGITransport(app=app))
    made = sdk.create_user("Eng@Plant.example", PASSWORD, ["generate"])
    assert made["email"] == "eng@plant.example" and made["scopes"] == ["generate"]
    assert [u["id"] for u in sdk.users()] == [made["id"]]
    assert sdk.disable_user(made["id"])["disabled"] is True
    assert sdk.enable_user(made["id"])["disabled"] is False
    assert sdk.set_user_password(made["id"], "a brand new passphrase")["id"] == made["id"]
    with pytest.raises(SealforgeError) as refused:
        sdk.create_user("ops@plant.example", PASSWORD, ["operator"])
    assert refused.value.status == 400 and refused.value.code == "VALIDATION_FAILED"
    with pytest.raises(SealforgeError) as odd:
        sdk.disable_user("usr_x/../../keys")  # escaped into one path segment: no such user, not another route
    assert odd.value.code in ("NOT_FOUND", "ROUTE_NOT_FOUND") and odd.value.status == 404
    reader = Client("http://sealforge.test", api_key=keys["read"], transport=httpx.WSGITransport(app=app))
    with pytest.raises(SealforgeError) as scope:
        list(reader.users())
    assert scope.value.code == "INSUFFICIENT_SCOPE"


def test_the_async_client_does_the_same(tmp_path: Path) -> None:
    """Against a real API process on loopback (the async client has no in-process transport for WSGI)."""
    from appliance.cli.release import release
    from appliance.services import identity
    from appliance.store.open import open_db

    state = tmp_path / "var"
    db = open_db(state)
    tenant = identity.create_tenant(db, "acme")
    key = identity.create_key(db, tenant["id"], ["admin"])["api_key"]
    release(state)

    async def scenario(url: str) -> tuple[Any, ...]:
        async with AsyncClient(url, api_key=key) as sdk:
            made = await sdk.create_user("ops@plant.example", PASSWORD)
            listed = [u["email"] async for u in sdk.users()]
            off = await sdk.disable_user(made["id"])
            on = await sdk.enable_user(made["id"])
            reset = await sdk.set_user_password(made["id"], "a brand new passphrase")
            return made, listed, off, on, reset

    with api_process(state, tmp_path / "api.log") as api:
        made, listed, off, on, reset = asyncio.run(scenario(api.url))
    assert made["scopes"] == ["read"] and listed == ["ops@plant.example"]
    assert off["disabled"] is True and on["disabled"] is False and reset["sessions_ended"] == 0
