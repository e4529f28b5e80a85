"""/metrics counts tenants, keys, users and audit entries, so it is not open to the LAN.

No `[metrics] token`: loopback clients only (403 METRICS_LOOPBACK_ONLY otherwise). With a token:
`Authorization: Bearer <token>` from everyone, loopback included (401 METRICS_UNAUTHORIZED).
"""

from __future__ import annotations

import itertools
import threading
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient
from werkzeug.serving import make_server

from tests.conftest import auth, free_port

TOKEN = "m3tr1cs-" + "x" * 40


def remote(addr: str) -> dict[str, Any]:
    """What gunicorn puts in the WSGI environ for a peer at ``addr``."""
    return {"REMOTE_ADDR": addr}


def test_without_token_remote_clients_are_refused(client: FlaskClient, keys: dict[str, str]) -> None:
    for addr, headers in itertools.product(
        ["10.1.2.3", "192.168.0.20", "fe80::1", "::ffff:10.0.0.9", "0.0.0.0", ""],
        [{}, auth(keys["admin"])],  # an API key does not open it either
    ):
        response = client.get("/metrics", environ_base=remote(addr), headers=headers)
        assert response.status_code == 403, addr
        body = response.get_json()
        assert body["error"]["code"] == "METRICS_LOOPBACK_ONLY"
        assert "sealforge_tenants" not in response.get_data(as_text=True)


def test_without_token_loopback_clients_read_it(client: FlaskClient) -> None:
    for addr in ["127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"]:
        response = client.get("/metrics", environ_base=remote(addr))
        assert response.status_code == 200, addr
        assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")


class TestWithToken:
    @pytest.fixture
    def app_config(self, state_dir: Path) -> dict[str, Any]:
        return {"server": {"state_dir": str(state_dir)}, "metrics": {"token": TOKEN}}

    def test_token_is_required_from_everywhere(self, client: FlaskClient) -> None:
        wrong = [{}, {"Authorization": "Bearer wrong"}, {"Authorization": TOKEN},
                 {"Authorization": f"Basic {TOKEN}"}, {"Authorization": f"Bearer {TOKEN}x"}]
        for addr, headers in itertools.product(["127.0.0.1", "10.1.2.3"], wrong):
            response = client.get("/metrics", environ_base=remote(addr), headers=headers)
            assert response.status_code == 401, (addr, headers)
            assert response.get_json()["error"]["code"] == "METRICS_UNAUTHORIZED"
            assert response.headers["WWW-Authenticate"].startswith("Bearer")

    def test_right_token_reads_it(self, client: FlaskClient) -> None:
        for addr in ["127.0.0.1", "10.1.2.3", "2001:db8::7"]:
            response = client.get("/metrics", environ_base=remote(addr), headers={"Authorization": f"Bearer {TOKEN}"})
            assert response.status_code == 200, addr
            assert "sealforge_queue_pending" in response.get_data(as_text=True)

    def test_denials_are_audited(self, client: FlaskClient, db: Any) -> None:
        client.get("/metrics", environ_base=remote("10.1.2.3"))
        row = db.execute("SELECT path, status FROM audit_log ORDER BY rowid DESC LIMIT 1").fetchone()
        assert (row["path"], row["status"]) == ("/metrics", 401)


@pytest.fixture
def live_server(app: Flask) -> Iterator[str]:
    port = free_port()
    server = make_server("127.0.0.1", port, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{port}"
    server.shutdown()
    thread.join(timeout=5)


class TestRealServer:
    @pytest.fixture
    def app_config(self, state_dir: Path) -> dict[str, Any]:
        return {"server": {"state_dir": str(state_dir)}, "metrics": {"token": TOKEN}}

    def test_over_http(self, live_server: str) -> None:
        with pytest.raises(urllib.error.HTTPError) as denied:
            urllib.request.urlopen(f"{live_server}/metrics", timeout=5)
        assert denied.value.code == 401
        request = urllib.request.Request(f"{live_server}/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        with urllib.request.urlopen(request, timeout=5) as response:
            assert response.status == 200
            assert b"sealforge_queue_pending" in response.read()
