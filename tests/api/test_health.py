"""Liveness, readiness and metrics."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient


def test_healthz(client: FlaskClient) -> None:
    assert client.get("/healthz").get_json()["status"] == "ok"


def test_livez_reports_each_check(client: FlaskClient) -> None:
    body = client.get("/livez").get_json()
    assert body["ok"] is True
    assert set(body["checks"]) == {"database", "disk", "queues"}
    assert "default=0" in body["checks"]["queues"]["detail"]


class TestShortDisk:
    @pytest.fixture
    def app_config(self, state_dir: Path) -> dict[str, Any]:
        return {"server": {"state_dir": str(state_dir)}, "health": {"min_free_bytes": 1 << 62}}

    def test_livez_fails_when_disk_is_short(self, client: FlaskClient) -> None:
        response = client.get("/livez")
        assert response.status_code == 503
        assert response.get_json()["checks"]["disk"]["ok"] is False


def test_metrics_is_prometheus_text(client: FlaskClient) -> None:
    response = client.get("/metrics")
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.get_data(as_text=True)
    sample = re.compile(r"^[a-z_]+(\{[^}]*\})? [-0-9.e+]+$")
    for line in text.strip().splitlines():
        assert line.startswith("# ") or sample.match(line), line
    assert 'sealforge_queue_pending{queue="sim"} 0' in text
