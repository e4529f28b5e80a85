"""OPC UA security of the plant server with real asyncua clients over loopback: the three
SignAndEncrypt policies with user names, an anonymous read-only None endpoint that refuses user
names, roles enforced per request, the client-certificate trust list, the reused server
certificate, and password checks that run off the event loop (a flood of bad logins does not stop
another client's reads, and a throttling authenticator is asked before each check)."""

from __future__ import annotations

import asyncio
import hashlib
import shutil
import socket
import stat
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from asyncua import Client, ua

from simulators import LivePlant
from simulators.protocols.certs import certificate_fingerprint, make_certificate
from simulators.protocols.opcua import OpcUaPlantServer
from simulators.protocols.opcua_auth import LoginThrottled, OpcUaSecurity, Role
from simulators.protocols.opcua_trust import TrustList
from tests.simulators.protocols.conftest import LoopThread, water_plant
from tests.simulators.protocols.opcua_client import configured_client, read_write_call

CLIENT_URI = "urn:sealforge:test-client"
USERS = {"viewer": ("view pw", Role.VIEWER), "operator": ("op pw", Role.OPERATOR), "admin": ("admin pw", Role.ADMIN)}
FREE_FAILURES = 5


class Accounts:
    """The authenticator a server is given: a real scrypt check per login, and a back-off after
    FREE_FAILURES failures of one user name (refused without checking, as the appliance does)."""

    def __init__(self) -> None:
        self.checked: Counter[str] = Counter()
        self.failures: Counter[str] = Counter()
        self.lock = threading.Lock()

    def __call__(self, username: str, password: str, source: str) -> Role | None:
        with self.lock:
            if self.failures[username] >= FREE_FAILURES:
                raise LoginThrottled(username)
            self.checked[username] += 1
        hashlib.scrypt(password.encode(), salt=b"sealforge-test", n=2**14, r=8, p=1)
        known = USERS.get(username)
        if known is None or known[0] != password:
            with self.lock:
                self.failures[username] += 1
            return None
        return known[1]


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("pki")
    for name in ("client", "stranger"):
        make_certificate(root / f"{name}.der", root / f"{name}.pem", CLIENT_URI, f"test {name}",
                         [socket.gethostname(), "localhost"], client=True)
    (root / "server" / "pki" / "trusted" / "certs").mkdir(parents=True)
    shutil.copy(root / "client.der", root / "server" / "pki" / "trusted" / "certs" / "client.der")
    return root


@pytest.fixture(scope="module")
def accounts() -> Accounts:
    return Accounts()


@pytest.fixture(scope="module")
def server(server_loop: LoopThread, pki: Path, accounts: Accounts) -> Iterator[OpcUaPlantServer]:
    security = OpcUaSecurity(allow_none=True, sign_encrypt=True, cert_dir=pki / "server", authenticate=accounts)
    server = OpcUaPlantServer(water_plant(), port=0, security=security)
    server_loop.run(server.start())
    yield server
    server_loop.run(server.stop())


async def _open(server: OpcUaPlantServer, pki: Path, user: str | None = None, password: str | None = None,
                policy: str | None = "Basic256Sha256", cert: str = "client") -> Client:
    """A connected client: `policy` SignAndEncrypt with the `cert` key pair (None: no security)."""
    client = await configured_client(server.endpoint, CLIENT_URI, pki, user, password, policy, cert)
    await client.connect()
    return client


async def _session(server: OpcUaPlantServer, pki: Path, **kw: object) -> dict[str, object]:
    """Connect, then try a read, a setpoint write and a method call; report what each gave."""
    client = await _open(server, pki, **kw)  # type: ignore[arg-type]
    try:
        return await read_write_call(client, "Start")
    finally:
        await client.disconnect()


def test_endpoints_offer_three_policies_and_split_token_types(server: OpcUaPlantServer, pki: Path) -> None:
    async def endpoints() -> list[ua.EndpointDescription]:
        return await Client(server.endpoint).connect_and_get_server_endpoints()

    found = asyncio.run(endpoints())
    offered = {(e.SecurityPolicyUri.rsplit("#", 1)[1], e.SecurityMode): {t.TokenType for t in e.UserIdentityTokens}
               for e in found}
    secure = ua.MessageSecurityMode.SignAndEncrypt
    assert offered == {
        ("None", ua.MessageSecurityMode.None_): {ua.UserTokenType.Anonymous},
        ("Basic256Sha256", secure): {ua.UserTokenType.UserName},
        ("Aes128_Sha256_RsaOaep", secure): {ua.UserTokenType.UserName},
        ("Aes256_Sha256_RsaPss", secure): {ua.UserTokenType.UserName},
    }
    cert = server.certificate
    assert cert is not None and cert.created and cert.cert_path.parent == pki / "server"
    assert stat.S_IMODE(cert.key_path.stat().st_mode) == 0o600
    assert all(e.ServerCertificate == cert.cert_path.read_bytes() for e in found if e.SecurityMode == secure)


@pytest.mark.parametrize("policy", ["Basic256Sha256", "Aes128Sha256RsaOaep", "Aes256Sha256RsaPss"])
def test_each_secure_policy_with_a_password(server: OpcUaPlantServer, pki: Path, policy: str) -> None:
    got = asyncio.run(_session(server, pki, user="operator", password="op pw", policy=policy))
    assert got == {"read": pytest.approx(server.served[0].plant.read_tag("LIT101"), abs=0.1),
                   "write": "ok", "call": "ok"}


@pytest.mark.parametrize(("user", "expected"), [
    ("viewer", {"write": "BadUserAccessDenied", "call": "BadUserAccessDenied"}),
    ("operator", {"write": "ok", "call": "ok"}),
    ("admin", {"write": "ok", "call": "ok"}),
])
def test_roles_decide_writes_and_methods(server: OpcUaPlantServer, pki: Path, user: str,
                                         expected: dict[str, str]) -> None:
    before = server.served[0].plant.read_tag("LIC101.SP")
    got = asyncio.run(_session(server, pki, user=user, password=USERS[user][0]))
    assert {k: got[k] for k in ("write", "call")} == expected and isinstance(got["read"], float)
    if user == "viewer":
        assert server.served[0].plant.read_tag("LIC101.SP") == before


def test_none_endpoint_is_anonymous_and_read_only(server: OpcUaPlantServer, pki: Path) -> None:
    before = server.served[0].plant.read_tag("LIC101.SP")
    got = asyncio.run(_session(server, pki, policy=None))
    assert got["write"] == got["call"] == "BadUserAccessDenied" and isinstance(got["read"], float)
    assert server.served[0].plant.read_tag("LIC101.SP") == before


def test_user_names_refused_on_none_endpoint_without_a_password_check(server: OpcUaPlantServer, pki: Path,
                                                                       accounts: Accounts) -> None:
    checked = sum(accounts.checked.values())
    with pytest.raises(ua.uaerrors.BadIdentityTokenRejected):
        asyncio.run(_session(server, pki, user="operator", password="op pw", policy=None))
    assert sum(accounts.checked.values()) == checked


def test_anonymous_refused_on_secure_endpoint(server: OpcUaPlantServer, pki: Path) -> None:
    with pytest.raises(ua.uaerrors.BadIdentityTokenRejected):
        asyncio.run(_session(server, pki))


def test_wrong_password_and_unknown_user(server: OpcUaPlantServer, pki: Path) -> None:
    for user, password in (("viewer", "wrong"), ("nobody", "view pw")):
        with pytest.raises(ua.uaerrors.BadUserAccessDenied):
            asyncio.run(_session(server, pki, user=user, password=password))


def test_unknown_client_certificate_lands_in_rejected_until_trusted(server: OpcUaPlantServer, pki: Path,
                                                                    accounts: Accounts) -> None:
    trust = TrustList(pki / "server" / "pki")
    checked = sum(accounts.checked.values())
    with pytest.raises(ua.uaerrors.BadCertificateUntrusted):
        asyncio.run(_session(server, pki, user="operator", password="op pw", cert="stranger"))
    assert sum(accounts.checked.values()) == checked  # never reached the password check
    rejected = [c for c in trust.list() if c.status == "rejected"]
    assert [c.subject for c in rejected] == ["O=Sealforge,CN=test stranger"]
    assert rejected[0].sha256 == certificate_fingerprint(pki / "stranger.der")

    assert trust.trust(rejected[0].thumbprint.lower()).status == "trusted"
    assert asyncio.run(_session(server, pki, user="operator", password="op pw", cert="stranger"))["write"] == "ok"
    trust.reject(rejected[0].thumbprint)
    with pytest.raises(ua.uaerrors.BadCertificateUntrusted):
        asyncio.run(_session(server, pki, user="operator", password="op pw", cert="stranger"))
    with pytest.raises(KeyError):
        trust.trust("00" * 20)


def test_login_flood_does_not_stop_other_clients_and_is_throttled(server: OpcUaPlantServer, pki: Path,
                                                                   accounts: Accounts) -> None:
    """20 concurrent bad logins for one account: an open session keeps reading all along, and only
    the first FREE_FAILURES reach the password check."""

    async def flood() -> tuple[int, int, list[BaseException | None]]:
        reader = await _open(server, pki, user="viewer", password="view pw")
        ns = await reader.get_namespace_index("urn:sealforge:sim:water")
        level = reader.get_node(ua.NodeId("LIT101", ns))  # type: ignore[arg-type]
        done = asyncio.Event()
        reads = {"before": 0, "during": 0}

        async def keep_reading(phase: str, until: asyncio.Event | float) -> None:
            while not (until.is_set() if isinstance(until, asyncio.Event) else time.monotonic() > until):
                await level.read_value()
                reads[phase] += 1

        async def bad_login() -> BaseException | None:
            try:
                await _open(server, pki, user="operator", password="guess")
            except Exception as exc:
                return exc
            return None

        await keep_reading("before", time.monotonic() + 0.5)
        during = asyncio.create_task(keep_reading("during", done))
        results = await asyncio.gather(*(bad_login() for _ in range(20)))
        done.set()
        await during
        await reader.disconnect()
        return reads["before"], reads["during"], list(results)

    checked_before = accounts.checked["operator"]
    before, during, results = asyncio.run(flood())
    assert all(isinstance(r, ua.uaerrors.BadUserAccessDenied) for r in results), results
    assert before > 0 and during > 0  # the open session was answered while the logins were checked
    assert accounts.checked["operator"] - checked_before <= FREE_FAILURES
    assert server.logins["throttled"] >= 20 - FREE_FAILURES


def test_certificate_is_reused_on_restart(server_loop: LoopThread, pki: Path, server: OpcUaPlantServer,
                                          accounts: Accounts) -> None:
    assert server.certificate is not None
    before = certificate_fingerprint(server.certificate.cert_path)
    security = OpcUaSecurity(allow_none=False, sign_encrypt=True, cert_dir=pki / "server", authenticate=accounts)
    again = OpcUaPlantServer(LivePlant("chemical"), port=0, security=security)
    server_loop.run(again.start())
    try:
        assert again.certificate is not None and not again.certificate.created
        assert certificate_fingerprint(again.certificate.cert_path) == before
        with pytest.raises(ua.UaError):  # no None endpoint unless asked for
            asyncio.run(_open(again, pki, policy=None))
    finally:
        server_loop.run(again.stop())


def test_security_options_are_checked() -> None:
    with pytest.raises(ValueError, match="authenticate"):
        OpcUaSecurity(cert_dir="/tmp/x")
    with pytest.raises(ValueError, match="at least one"):
        OpcUaSecurity(allow_none=False, sign_encrypt=False)
