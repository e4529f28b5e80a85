"""The client's certificate pin, against a real TLS server on loopback that records every byte it
receives after the handshake: a wrong pin must fail before the request (and its API key) leaves."""

from __future__ import annotations

import asyncio
import socket
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sealforge_client import Client
from sealforge_client.cli import main
from sealforge_client.tls import normalize_pin, pinned_context, verify_setting

from appliance.services import tls

KEY = "sl_live_secret-that-must-not-leak"
ANSWER = b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"


@dataclass
class RecordingServer:
    """Accepts TLS connections one by one; stores what each sent after the handshake."""

    listener: socket.socket
    context: ssl.SSLContext
    received: list[bytes] = field(default_factory=list)
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.listener.getsockname()[1]}"

    def serve(self) -> None:
        while not self.done.is_set():
            try:
                raw, _ = self.listener.accept()
            except OSError:
                return
            with raw:
                raw.settimeout(5)
                try:
                    conn = self.context.wrap_socket(raw, server_side=True)
                except (ssl.SSLError, OSError):
                    self.received.append(b"")  # the client hung up during the handshake
                    continue
                data = b""
                try:
                    while b"\r\n\r\n" not in data:
                        chunk = conn.recv(65536)
                        if not chunk:
                            break
                        data += chunk
                    if data:
                        conn.sendall(ANSWER)
                except (ssl.SSLError, OSError):
                    pass
                self.received.append(data)


@pytest.fixture
def server(tmp_path: Path) -> Iterator[tuple[RecordingServer, tls.Certificate]]:
    certificate = tls.ensure_self_signed(tmp_path)
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(certificate.cert_path, certificate.key_path)
    listener = socket.create_server(("127.0.0.1", 0))
    recording = RecordingServer(listener, context)
    thread = threading.Thread(target=recording.serve, daemon=True)
    thread.start()
    yield recording, certificate
    recording.done.set()
    listener.shutdown(socket.SHUT_RDWR)  # wakes the blocked accept()
    listener.close()
    thread.join(timeout=5)


def wait_for_connections(recording: RecordingServer, count: int) -> None:
    deadline = time.monotonic() + 5
    while len(recording.received) < count and time.monotonic() < deadline:
        time.sleep(0.01)
    assert len(recording.received) >= count, recording.received


def test_a_wrong_pin_fails_before_any_request_byte(server: tuple[RecordingServer, tls.Certificate]) -> None:
    recording, certificate = server
    wrong = "00" * 32
    with Client(recording.url, api_key=KEY, pin_sha256=wrong) as sf, pytest.raises(httpx.ConnectError) as caught:
        sf.whoami()
    assert "not the pinned one" in str(caught.value) and certificate.fingerprint in str(caught.value)
    wait_for_connections(recording, 1)
    assert recording.received == [b""], "bytes reached a server whose certificate failed the pin"

    with Client(recording.url, api_key=KEY, pin_sha256=certificate.fingerprint.lower()) as sf:
        assert sf.whoami() == {}
    wait_for_connections(recording, 2)
    assert KEY.encode() in recording.received[1]


def test_the_pin_is_checked_on_the_async_memory_bio_path_too(server: tuple[RecordingServer, tls.Certificate]) -> None:
    recording, certificate = server

    async def fetch(pin: str) -> int:
        async with httpx.AsyncClient(verify=pinned_context(pin), headers={"X-API-Key": KEY}) as http:
            return (await http.get(f"{recording.url}/v1/auth/whoami")).status_code

    with pytest.raises(httpx.ConnectError, match="not the pinned one"):
        asyncio.run(fetch("11" * 32))
    assert asyncio.run(fetch(certificate.fingerprint)) == 200
    wait_for_connections(recording, 2)
    assert recording.received[0] == b"" and KEY.encode() in recording.received[1]


def test_a_pin_with_a_ca_file_checks_both(server: tuple[RecordingServer, tls.Certificate]) -> None:
    recording, certificate = server
    with Client(recording.url, api_key=KEY, ca_file=certificate.cert_path, pin_sha256=certificate.fingerprint) as sf:
        assert sf.whoami() == {}
    with Client(recording.url, api_key=KEY, ca_file=certificate.cert_path) as sf:
        assert sf.whoami() == {}


def test_cli_pin_and_ca_file_options(
    server: tuple[RecordingServer, tls.Certificate],
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    recording, certificate = server
    assert main(["--url", recording.url, "--api-key", KEY, "--pin", "22" * 32, "whoami"]) == 1
    assert "not the pinned one" in capsys.readouterr().err
    monkeypatch.setenv("SEALFORGE_PIN", certificate.fingerprint)
    assert main(["--url", recording.url, "--api-key", KEY, "whoami"]) == 0
    monkeypatch.delenv("SEALFORGE_PIN")
    monkeypatch.setenv("SEALFORGE_CA_FILE", str(certificate.cert_path))
    assert main(["--url", recording.url, "--api-key", KEY, "whoami"]) == 0
    wait_for_connections(recording, 3)
    assert recording.received[0] == b""


def test_bad_pins_and_cleartext_urls_are_refused(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert normalize_pin("ab:" * 31 + "AB") == "ab" * 32
    for bad in ("", "ab" * 31, "zz" * 32, "sha256//abc"):
        with pytest.raises(ValueError, match="64 hex digits"):
            normalize_pin(bad)
    with pytest.raises(ValueError, match="cleartext"):
        verify_setting("http://10.0.0.5:8080", None, "ab" * 32)
    with pytest.raises(ValueError, match="cleartext"):
        Client("http://10.0.0.5:8080", api_key=KEY, ca_file=tmp_path / "ca.pem")
    assert verify_setting("http://127.0.0.1:8080", None, None) is True
    assert main(["--url", "http://10.0.0.5:8080", "--api-key", KEY, "--pin", "ab" * 32, "whoami"]) == 2
    assert "cleartext" in capsys.readouterr().err
