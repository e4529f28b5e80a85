"""OPC UA Basic256Sha256 SignAndEncrypt with username/password, and the reused server certificate."""

from __future__ import annotations

import asyncio
import socket
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncua import Client, ua

from simulators import LivePlant
from simulators.protocols.certs import certificate_fingerprint, make_certificate
from simulators.protocols.opcua import OpcUaPlantServer
from simulators.protocols.opcua_auth import OpcUaSecurity
from tests.simulators.protocols.conftest import LoopThread

USERS = {"operator": "correct horse"}
CLIENT_URI = "urn:sealforge:test-client"


def check(username: str, password: str) -> bool:
    return USERS.get(username) == password


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    make_certificate(root / "client.der", root / "client.pem", CLIENT_URI, "test client",
                     [socket.gethostname(), "localhost"], client=True)
    return root


@pytest.fixture(scope="module")
def secure(server_loop: LoopThread, pki: Path) -> Iterator[OpcUaPlantServer]:
    security = OpcUaSecurity(allow_none=False, sign_encrypt=True, cert_dir=pki / "server", authenticate=check,
                             allow_anonymous=False)
    server = OpcUaPlantServer(LivePlant("chemical"), port=0, security=security)
    server_loop.run(server.start())
    yield server
    server_loop.run(server.stop())


async def _connect(server: OpcUaPlantServer, pki: Path, user: str | None, password: str | None,
                   secure: bool = True) -> float:
    client = Client(server.endpoint)
    client.application_uri = CLIENT_URI
    if secure:
        await client.set_security_string(f"Basic256Sha256,SignAndEncrypt,{pki / 'client.der'},{pki / 'client.pem'}")
    if user is not None:
        client.set_user(user)
        client.set_password(password or "")
    async with client:
        ns = await client.get_namespace_index("urn:sealforge:sim:chemical")
        return float(await client.get_node(ua.NodeId("TT101", ns)).read_value())  # type: ignore[arg-type]


def test_sign_and_encrypt_with_password(secure: OpcUaPlantServer, pki: Path) -> None:
    value = asyncio.run(_connect(secure, pki, "operator", "correct horse"))
    assert value == pytest.approx(secure.served[0].plant.read_tag("TT101"))


@pytest.mark.parametrize(("user", "password", "use_security", "error"), [
    ("operator", "wrong", True, ua.uaerrors.BadUserAccessDenied),
    ("nobody", "correct horse", True, ua.uaerrors.BadUserAccessDenied),
    (None, None, True, ua.uaerrors.BadIdentityTokenRejected),  # anonymous is off
    ("operator", "correct horse", False, ua.UaError),  # no unsecured endpoint is offered
])
def test_refused(secure: OpcUaPlantServer, pki: Path, user: str | None, password: str | None, use_security: bool,
                 error: type[Exception]) -> None:
    with pytest.raises(error):
        asyncio.run(_connect(secure, pki, user, password, use_security))


def test_endpoints_and_certificate_files(secure: OpcUaPlantServer, pki: Path) -> None:
    async def endpoints() -> list[ua.EndpointDescription]:
        return await Client(secure.endpoint).connect_and_get_server_endpoints()

    found = asyncio.run(endpoints())
    assert {(e.SecurityPolicyUri.rsplit("#", 1)[1], e.SecurityMode) for e in found} == {
        ("Basic256Sha256", ua.MessageSecurityMode.SignAndEncrypt)}
    tokens = {t.TokenType for e in found for t in e.UserIdentityTokens}
    assert tokens == {ua.UserTokenType.UserName}
    cert = secure.certificate
    assert cert is not None and cert.created and cert.cert_path.parent == pki / "server"
    assert stat.S_IMODE(cert.key_path.stat().st_mode) == 0o600
    assert found[0].ServerCertificate == cert.cert_path.read_bytes()


def test_certificate_is_reused_on_restart(server_loop: LoopThread, pki: Path, secure: OpcUaPlantServer) -> None:
    assert secure.certificate is not None
    before = certificate_fingerprint(secure.certificate.cert_path)
    security = OpcUaSecurity(allow_none=True, sign_encrypt=True, cert_dir=pki / "server", authenticate=check)
    again = OpcUaPlantServer(LivePlant("chemical"), port=0, security=security)
    server_loop.run(again.start())
    try:
        assert again.certificate is not None and not again.certificate.created
        assert certificate_fingerprint(again.certificate.cert_path) == before
        assert asyncio.run(_connect(again, pki, None, None, secure=False)) > 0  # lab mode: None + anonymous
    finally:
        server_loop.run(again.stop())
