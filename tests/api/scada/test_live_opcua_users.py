"""A live run's OPC UA server with Basic256Sha256 SignAndEncrypt admits the appliance's own users
(email + password of the run's tenant) and refuses a wrong password or another tenant's user."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any

import pytest
from asyncua import Client, ua
from flask.testing import FlaskClient

from appliance.services import identity
from simulators.protocols.certs import make_certificate
from tests.api.scada.test_live_runs import running, start_run
from tests.conftest import auth, free_port, wait_for

CLIENT_URI = "urn:sealforge:test-hmi"
PASSWORD = "a long operator password"


async def read_level(endpoint: str, pki: Path, user: str, password: str) -> float:
    client = Client(endpoint)
    client.application_uri = CLIENT_URI
    await client.set_security_string(f"Basic256Sha256,SignAndEncrypt,{pki / 'client.der'},{pki / 'client.pem'}")
    client.set_user(user)
    client.set_password(password)
    async with client:
        ns = await client.get_namespace_index("urn:sealforge:sim:water")
        return float(await client.get_node(ua.NodeId("LIT101", ns)).read_value())  # type: ignore[arg-type]


@pytest.mark.heavy
def test_opcua_logins_are_appliance_users(client: FlaskClient, db: Any, keys: dict[str, str],
                                          tenant: dict[str, Any], start_worker: Any, tmp_path: Path) -> None:
    identity.create_user(db, tenant["id"], "operator@plant.example", PASSWORD, "read")
    other = identity.create_tenant(db, "globex")
    identity.create_user(db, other["id"], "intruder@globex.example", PASSWORD, "read")
    make_certificate(tmp_path / "client.der", tmp_path / "client.pem", CLIENT_URI, "test hmi",
                     [socket.gethostname(), "localhost"], client=True)
    trusted = tmp_path / "var" / "pki" / "opcua" / "trusted" / "certs"  # the state dir's trust list
    trusted.mkdir(parents=True)
    (trusted / "hmi.der").write_bytes((tmp_path / "client.der").read_bytes())
    start_worker("sim")
    headers = auth(keys["generate"])
    run = start_run(client, headers, opcua={"port": free_port(), "security": "sign_encrypt"})
    run = running(client, headers, run["id"])
    endpoint = run["opcua"]["endpoint"]
    try:
        assert asyncio.run(read_level(endpoint, tmp_path, "operator@plant.example", PASSWORD)) > 0
        for user, password in (("operator@plant.example", "wrong password"), ("intruder@globex.example", PASSWORD)):
            with pytest.raises(ua.uaerrors.BadUserAccessDenied):
                asyncio.run(read_level(endpoint, tmp_path, user, password))
    finally:
        client.post(f"/v1/scada/runs/{run['id']}/stop", headers=headers)
        wait_for(client, headers, run["job_id"], {"succeeded", "failed", "canceled"}, timeout=60)
