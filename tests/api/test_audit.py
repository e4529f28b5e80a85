"""The audit log records writes and denials, chained so an edited row is found."""

from __future__ import annotations

from typing import Any

import blake3
from click.testing import CliRunner
from flask.testing import FlaskClient

from appliance.cli.main import cli
from appliance.services import audit
from tests.conftest import auth


def entries(db: Any) -> list[dict[str, Any]]:
    return [dict(r) for r in db.execute("SELECT * FROM audit_log ORDER BY seq")]


def test_writes_and_denials_are_recorded(
    client: FlaskClient, db: Any, keys: dict[str, str], tenant: dict[str, Any]
) -> None:
    body = b'{"scopes": ["read"]}'
    client.post(
        "/v1/keys",
        data=body,
        content_type="application/json",
        headers={**auth(keys["admin"]), "X-Correlation-Id": "c-1"},
    )
    client.get("/v1/auth/whoami", headers=auth(keys["read"]))  # a read: not audited
    client.get("/v1/keys", headers=auth(keys["read"]))  # a denial
    client.get("/v1/keys")  # another denial
    rows = entries(db)
    assert [(r["method"], r["status"]) for r in rows] == [("POST", 201), ("GET", 403), ("GET", 401)]
    first = rows[0]
    assert first["tenant_id"] == tenant["id"] and first["caller"].startswith("key_")
    assert first["scope"] == "admin" and first["correlation_id"] == "c-1"
    assert first["body_blake3"] == blake3.blake3(body).hexdigest()
    assert rows[1]["caller"].startswith("key_") and rows[1]["scope"] == "read"
    assert rows[2]["caller"] is None and rows[2]["tenant_id"] is None
    assert audit.verify_chain(db).ok


def test_edited_row_breaks_the_chain(client: FlaskClient, db: Any, keys: dict[str, str], state_dir: Any) -> None:
    for _ in range(3):
        client.post("/v1/keys", json={"scopes": ["read"]}, headers=auth(keys["admin"]))
    runner = CliRunner()
    ok = runner.invoke(cli, ["admin", "audit", "verify", "--state-dir", str(state_dir)])
    assert ok.exit_code == 0, ok.output
    db.execute("UPDATE audit_log SET status = 200 WHERE seq = 2")
    report = audit.verify_chain(db)
    assert not report.ok and report.first_bad_seq == 2
    bad = runner.invoke(cli, ["admin", "audit", "verify", "--state-dir", str(state_dir)])
    assert bad.exit_code == 1 and '"first_bad_seq": 2' in bad.output


def test_deleted_row_breaks_the_chain(client: FlaskClient, db: Any, keys: dict[str, str]) -> None:
    for _ in range(3):
        client.post("/v1/keys", json={"scopes": ["read"]}, headers=auth(keys["admin"]))
    db.execute("DELETE FROM audit_log WHERE seq = 2")
    assert audit.verify_chain(db).first_bad_seq == 3
