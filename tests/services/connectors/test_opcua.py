"""The OPC UA connector against the appliance's own OPC UA simulator (a live water plant served by
`simulators.protocols.opcua`, keeping history) over loopback: browse the address space, record tags
by subscription for a window while the plant runs, import a time range by HistoryRead paged with
continuation points, and the diagnoses. Then the secured endpoints: Basic256Sha256 and
Aes256_Sha256_RsaPss SignAndEncrypt with the connector's own client certificate, refused until the
server trusts it, user names and passwords, a pinned server certificate."""

from __future__ import annotations

import csv
import io
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from appliance.services.connectors import environment
from appliance.services.connectors.base import ConnectorError
from appliance.services.connectors.opcua import OpcUaConnector
from appliance.services.connectors.opcua_security import complete_credentials
from tests.connector_servers import RunningPlant, _free_port

HISTORIAN = ("historian", "historian-pw")


@pytest.fixture(scope="module")
def running() -> Iterator[RunningPlant]:
    plant = RunningPlant(history_values=5000)  # more than the module's tests last: nothing drops out mid-test
    yield plant
    plant.close()


def _connector(url: str, settings: dict[str, Any] | None = None, **credentials: Any) -> OpcUaConnector:
    return OpcUaConnector(
        {"endpoint_url": url, **(settings or {})},
        credentials,
        environment({"webhooks": {}, "connectors": {"timeout_s": 5}}),
    )


def _rows(chunks: Iterator[bytes]) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(b"".join(chunks).decode())))


def _wait_for_history(running: RunningPlant, tag: str, values: int) -> None:
    from asyncua import ua

    node_id = ua.NodeId(tag, running.server.namespace_index())  # type: ignore[arg-type]
    assert running.server.history is not None
    deadline = time.monotonic() + 30
    while running.server.history.count(node_id) < values and time.monotonic() < deadline:
        time.sleep(0.1)


def test_browse_and_record(running: RunningPlant) -> None:
    con = _connector(running.server.endpoint)
    assert con.test()["objects"] >= 2
    top = con.browse("", None, 50)
    water = next(e for e in top.entries if e.name == "water")
    folders = con.browse(water.path, None, 100)
    p101 = next(e for e in folders.entries if e.name == "P101")
    inside = {e.name: e for e in con.browse(p101.path, None, 100).entries}
    assert inside["P101.RUN"].kind == "variable" and inside["Start"].kind == "method"
    first = con.browse(water.path, None, 2)
    assert len(first.entries) == 2 and first.next_cursor == "2"
    ns = running.server.namespace_index()
    stream = con.read(
        {"nodes": [f"ns={ns};s=LIT101", f"ns={ns};s=FIT101"], "duration_s": 1.5, "publishing_interval_ms": 100}
    )
    lines = [line for line in b"".join(stream.chunks).decode().splitlines() if line]
    assert lines[0] == "time,node,name,value,status"
    names = {line.split(",")[2] for line in lines[1:]}
    assert names == {"LIT101", "FIT101"} and len(lines) > 3


def test_diagnoses(running: RunningPlant) -> None:
    with pytest.raises(ConnectorError) as refused:
        _connector(f"opc.tcp://127.0.0.1:{_free_port()}/").test()
    assert refused.value.diagnosis == "refused"
    with pytest.raises(ConnectorError) as unknown:
        _connector(running.server.endpoint).browse("ns=2;s=NO_SUCH_NODE", None, 10)
    assert unknown.value.diagnosis == "not_found"
    with pytest.raises(ConnectorError) as login:
        _connector(running.server.endpoint, username="intruder", password="guess").test()
    assert login.value.diagnosis in ("auth", "tls")
    with pytest.raises(ConnectorError) as outside:
        _connector("opc.tcp://8.8.8.8:4840/")
    assert outside.value.diagnosis == "not_allowed"


def test_closing_ends_the_window(running: RunningPlant) -> None:
    ns = running.server.namespace_index()
    stream = _connector(running.server.endpoint).read({"nodes": [f"ns={ns};s=LIT101"], "duration_s": 3600})
    assert next(stream.chunks).startswith(b"time,node")
    stream.close()  # ends the hour-long window now: what was recorded is drained, then the stream ends
    assert all(chunk.count(b",") == 4 for chunk in stream.chunks if chunk)


def test_history_read_pages_through_a_range(running: RunningPlant) -> None:
    _wait_for_history(running, "LIT101", 12)
    ns = running.server.namespace_index()
    con = _connector(running.server.endpoint)
    source: dict[str, Any] = {"nodes": [f"ns={ns};s=LIT101", f"ns={ns};s=FIT101"], "mode": "history", "page_values": 5}
    stream = con.read({**source, "start": "2023-12-31T00:00:00Z"})
    rows = _rows(stream.chunks)
    level = [r for r in rows if r["name"] == "LIT101"]
    flow = [r for r in rows if r["name"] == "FIT101"]
    assert len(level) >= 12 and len(flow) >= 12 and len(rows) == len(level) + len(flow)
    assert [r["node"] for r in rows] == [f"ns={ns};s=LIT101"] * len(level) + [f"ns={ns};s=FIT101"] * len(flow)
    times = [r["time"] for r in level]
    assert times == sorted(set(times)) and times[0].startswith("2024-01-01T")  # the plant's simulated clock
    read: dict[str, Any] = stream.description["read"]
    assert read["values"] == len(rows) and read["pages"] >= len(level) // 5 + len(flow) // 5
    # a range inside: exactly the values between its ends, both included
    inside = _rows(con.read({**source, "nodes": source["nodes"][:1], "start": times[2], "end": times[8]}).chunks)
    assert [r["time"] for r in inside] == times[2:9]
    assert [r["value"] for r in inside] == [r["value"] for r in level[2:9]]


def test_history_diagnoses_and_cancel(running: RunningPlant) -> None:
    from asyncua import ua

    _wait_for_history(running, "LIT101", 12)
    ns = running.server.namespace_index()
    con = _connector(running.server.endpoint)
    clock = running.server.served[0].map.time_node_id
    with pytest.raises(ConnectorError) as none_kept:
        list(con.read({"nodes": [f"ns={ns};s={clock}"], "mode": "history", "start": "2024-01-01T00:00:00Z"}).chunks)
    assert none_kept.value.diagnosis == "invalid" and "keeps no history" in none_kept.value.message
    with pytest.raises(ConnectorError) as unknown:
        list(con.read({"nodes": ["ns=2;s=NO_SUCH_TAG"], "mode": "history", "start": "2024-01-01T00:00:00Z"}).chunks)
    assert unknown.value.diagnosis == "not_found"
    stream = con.read(
        {"nodes": [f"ns={ns};s=LIT101"], "mode": "history", "start": "2024-01-01T00:00:00Z", "page_values": 1}
    )
    chunks = iter(stream.chunks)
    assert next(chunks).startswith(b"time,node")
    assert next(c for c in chunks if c).count(b",") == 4  # the first value: the read is under way
    stream.close()  # a cancel between pages: the rest of the range is not read
    rest = [c for c in chunks if c]
    read, kept = stream.description["read"], running.server.history
    assert kept is not None and read["values"] == 1 + len(rest)
    assert read["pages"] < kept.count(ua.NodeId("LIT101", ns))  # type: ignore[arg-type]


def test_bad_history_sources() -> None:
    from appliance.services.connectors.opcua import Source

    for source, field in (
        ({"nodes": ["ns=2;s=A"], "mode": "history"}, "start"),
        ({"nodes": ["ns=2;s=A"], "mode": "history", "start": "2024-01-01T00:00:00"}, "start"),
        (
            {"nodes": ["ns=2;s=A"], "mode": "history", "start": "2024-01-02T00:00:00Z", "end": "2024-01-01T00:00:00Z"},
            "end",
        ),
        ({"nodes": ["ns=2;s=A"], "start": "2024-01-01T00:00:00Z"}, "start"),
        ({"nodes": ["ns=2;s=A"], "mode": "history", "start": "yesterday"}, "start"),
    ):
        assert field in Source().validate(source), source


# -- secured sessions ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def secured(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningPlant]:
    from simulators.protocols.opcua_auth import OpcUaSecurity, Role

    root = tmp_path_factory.mktemp("opcua-secured")

    def authenticate(user: str, password: str, _source: str) -> Role | None:
        return Role.VIEWER if (user, password) == HISTORIAN else None

    security = OpcUaSecurity(
        allow_none=False, sign_encrypt=True, cert_dir=root / "server", authenticate=authenticate, pki_dir=root / "pki"
    )
    plant = RunningPlant(security=security, history_values=600)
    yield plant
    plant.close()


def _secured(running: RunningPlant, policy: str, credentials: dict[str, Any], **settings: Any) -> OpcUaConnector:
    full = {"security_policy": policy, **settings}
    return _connector(running.server.endpoint, full, **credentials)


def test_secured_sessions_with_the_connectors_own_certificate(secured: RunningPlant, tmp_path: Path) -> None:
    settings = {"security_policy": "Basic256Sha256"}
    credentials = complete_credentials(settings, {"username": HISTORIAN[0], "password": HISTORIAN[1]}, {})
    assert credentials["client_certificate"].startswith("-----BEGIN CERTIFICATE-----")
    con = _secured(secured, "Basic256Sha256", credentials, security_mode="SignAndEncrypt")
    with pytest.raises(ConnectorError) as untrusted:
        con.test()  # the server has never seen this certificate: it keeps it in `rejected` and refuses it
    assert untrusted.value.diagnosis == "tls"
    trust = secured.server.trust
    assert trust is not None
    rejected = [c for c in trust.list() if c.status == "rejected"]
    assert len(rejected) == 1 and rejected[0].thumbprint in untrusted.value.message
    trust.trust(rejected[0].thumbprint)  # what an operator does on the server
    answer = con.test()
    assert answer["security_policy"] == "Basic256Sha256" and answer["security_mode"] == "SignAndEncrypt"
    assert answer["client_certificate"]["thumbprint"] == rejected[0].thumbprint
    pinned = answer["server_certificate_sha256"]
    rsa_pss = _secured(secured, "Aes256_Sha256_RsaPss", credentials, server_certificate_sha256=pinned)
    assert rsa_pss.test()["security_policy"] == "Aes256_Sha256_RsaPss"
    assert "water" in {e.name for e in rsa_pss.browse("", None, 50).entries}
    _wait_for_history(secured, "LIT101", 3)
    ns = secured.server.namespace_index()
    rows = _rows(
        rsa_pss.read({"nodes": [f"ns={ns};s=LIT101"], "mode": "history", "start": "2024-01-01T00:00:00Z"}).chunks
    )
    assert len(rows) >= 3 and all(r["status"] and r["value"] for r in rows)


def test_secured_diagnoses(secured: RunningPlant) -> None:
    settings = {"security_policy": "Basic256Sha256"}
    credentials = complete_credentials(settings, {"username": HISTORIAN[0], "password": "wrong"}, {})
    trust = secured.server.trust
    assert trust is not None
    with pytest.raises(ConnectorError):
        _secured(secured, "Basic256Sha256", credentials).test()
    trust.trust(next(c.thumbprint for c in trust.list() if c.status == "rejected"))
    with pytest.raises(ConnectorError) as wrong:
        _secured(secured, "Basic256Sha256", credentials).test()
    assert wrong.value.diagnosis == "auth" and "wrong" not in wrong.value.message
    with pytest.raises(ConnectorError) as sign_only:
        _secured(secured, "Basic256Sha256", credentials, security_mode="Sign").test()
    assert sign_only.value.diagnosis == "tls" and "offers no Basic256Sha256 Sign endpoint" in sign_only.value.message
    with pytest.raises(ConnectorError) as other_server:
        _secured(secured, "Basic256Sha256", credentials, server_certificate_sha256="ab" * 32).test()
    assert other_server.value.diagnosis == "tls" and "not the pinned one" in other_server.value.message
    with pytest.raises(ConnectorError) as plain:
        _connector(secured.server.endpoint).test()  # anonymous over None: this server offers no None endpoint
    assert plain.value.diagnosis == "tls" and "no endpoint without security" in plain.value.message


def test_sign_mode_against_a_server_that_offers_it(tmp_path: Path) -> None:
    """The appliance's server offers SignAndEncrypt only; asyncua's own server offers Sign here."""
    from asyncua import Server, ua

    from simulators.protocols.certs import ensure_server_certificate
    from tests.simulators.protocols.conftest import LoopThread

    loop, port = LoopThread(), _free_port()

    async def start() -> Server:
        server = Server()
        await server.init()
        server.set_endpoint(f"opc.tcp://127.0.0.1:{port}/sign/")
        pair = ensure_server_certificate(tmp_path, "urn:sealforge:test-server", ["127.0.0.1"])
        await server.load_certificate(str(pair.cert_path))
        await server.load_private_key(str(pair.key_path))
        server.set_security_policy([ua.SecurityPolicyType.Basic256Sha256_Sign])
        await server.start()
        return server

    server = loop.run(start())
    try:
        settings = {"security_policy": "Basic256Sha256", "security_mode": "Sign"}
        credentials = complete_credentials(settings, {}, {})
        url = f"opc.tcp://127.0.0.1:{port}/sign/"
        answer = _connector(url, settings, **credentials).test()
        assert (answer["security_policy"], answer["security_mode"]) == ("Basic256Sha256", "Sign")
        with pytest.raises(ConnectorError) as encrypted:
            _connector(url, {**settings, "security_mode": "SignAndEncrypt"}, **credentials).test()
        assert encrypted.value.diagnosis == "tls" and "SignAndEncrypt endpoint" in encrypted.value.message
    finally:
        loop.run(server.stop())
        loop.close()
