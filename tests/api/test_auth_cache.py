"""The per-process API-key cache never outlives a change, and rate limits hold across processes.

Each API process keeps a key's lookup for `[auth] key_cache_s` seconds; revocations and scope
changes must still take effect on the very next request, also when another process (a second app,
the admin CLI, a plain SQL writer) made them. The caches are set to an hour here, so only the
generation check can be what drops a cached key.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from flask.testing import FlaskClient

from appliance.api.auth.schemas import WhoamiSchema
from appliance.api.pipeline import KEY_CACHE
from appliance.services import identity
from appliance.store.db import db_path
from tests.conftest import auth

ROOT = Path(__file__).resolve().parents[2]
HOUR = 3600.0


@pytest.fixture
def app_config(state_dir: Path) -> dict[str, Any]:
    return {
        "server": {"state_dir": str(state_dir)},
        "ratelimit": {"burst": 10_000, "rate_per_s": 10_000.0},
        "auth": {"key_cache_s": HOUR},
    }


def cached_callers(app: Flask) -> set[str]:
    """Key ids this app's cache holds now (read from its state, to show the test used the cache)."""
    cache: identity.KeyCache = app.extensions[KEY_CACHE]
    return {who.caller for who, _expires in cache._state[1].values()}


def whoami(client: FlaskClient, key: str) -> Any:
    return client.get("/v1/auth/whoami", headers=auth(key))


def cache_key(app: Flask, client: FlaskClient, key: str, key_id: str) -> None:
    for _ in range(2):
        assert whoami(client, key).status_code == 200
    assert key_id in cached_callers(app)


def run_python(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        capture_output=True,
        text=True,
        cwd=ROOT,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout


def test_revocation_through_the_api_drops_a_cached_key(
    app: Flask, client: FlaskClient, db: Any, tenant: dict[str, Any], keys: dict[str, str]
) -> None:
    victim = identity.create_key(db, tenant["id"], ["read"], name="victim")
    cache_key(app, client, victim["api_key"], victim["id"])
    revoked = client.delete(f"/v1/keys/{victim['id']}", headers=auth(keys["admin"]))
    assert revoked.status_code == 200 and revoked.get_json()["revoked_at"]
    denied = whoami(client, victim["api_key"])
    assert denied.status_code == 401
    assert denied.get_json()["error"]["code"] == "UNAUTHENTICATED"
    assert whoami(client, keys["read"]).status_code == 200  # other keys are looked up again and still work


def test_revocation_by_a_second_app_drops_the_first_apps_cached_key(
    app: Flask, client: FlaskClient, db: Any, tenant: dict[str, Any], keys: dict[str, str], app_config: dict[str, Any]
) -> None:
    from appliance.api import create_app

    victim = identity.create_key(db, tenant["id"], ["generate"], name="victim")
    cache_key(app, client, victim["api_key"], victim["id"])
    other = create_app(app_config).test_client()
    assert other.delete(f"/v1/keys/{victim['id']}", headers=auth(keys["admin"])).status_code == 200
    assert whoami(client, victim["api_key"]).status_code == 401


def test_revocation_by_the_admin_cli_in_another_process_is_immediate(
    app: Flask, client: FlaskClient, db: Any, tenant: dict[str, Any], state_dir: Path
) -> None:
    victim = identity.create_key(db, tenant["id"], ["read"], name="victim")
    cache_key(app, client, victim["api_key"], victim["id"])
    revoke_args = ["--tenant", tenant["id"], "--state-dir", str(state_dir)]
    result = subprocess.run(
        [sys.executable, "-m", "appliance.cli.main", "admin", "keys", "revoke", victim["id"], *revoke_args],
        capture_output=True,
        text=True,
        cwd=ROOT,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["revoked_at"]
    assert whoami(client, victim["api_key"]).status_code == 401


def test_a_scope_change_from_another_process_applies_to_a_cached_key(
    app: Flask, client: FlaskClient, db: Any, tenant: dict[str, Any], state_dir: Path
) -> None:
    """No service changes a key's scopes today; any writer of `api_keys` (here a plain SQL UPDATE in
    another process) must still reach every cache, because triggers, not services, bump the count."""
    key = identity.create_key(db, tenant["id"], ["admin"], name="demoted")
    cache_key(app, client, key["api_key"], key["id"])
    assert client.get("/v1/keys", headers=auth(key["api_key"])).status_code == 200
    run_python(
        f"""
        import sqlite3
        conn = sqlite3.connect({str(db_path(state_dir))!r}, timeout=10)
        conn.execute("UPDATE api_keys SET scopes = 'read' WHERE id = ?", ({key["id"]!r},))
        conn.commit()
        """
    )
    forbidden = client.get("/v1/keys", headers=auth(key["api_key"]))
    assert forbidden.status_code == 403
    assert forbidden.get_json()["error"]["code"] == "INSUFFICIENT_SCOPE"
    assert whoami(client, key["api_key"]).get_json()["scopes"] == ["read"]


def test_unknown_keys_are_never_cached(app: Flask, client: FlaskClient, db: Any, tenant: dict[str, Any]) -> None:
    guess = "sl_live_" + "x" * 43
    assert whoami(client, guess).status_code == 401
    assert cached_callers(app) == set()


def test_whoami_answers_what_its_schema_documents(client: FlaskClient, keys: dict[str, str]) -> None:
    """whoami skips the marshmallow dump; the answer must be exactly what the dump would give."""
    body = whoami(client, keys["generate"]).get_json()
    assert body == WhoamiSchema().dump(body)
    assert list(body) == ["tenant_id", "caller", "kind", "scopes", "effective_scopes"]
    assert body["scopes"] == ["generate"] and body["effective_scopes"] == ["read", "generate"]


RATE_LIMITED_CLIENT = """
import json, sys
from appliance.api import create_app
app = create_app({{"server": {{"state_dir": {state!r}}}, "ratelimit": {{"burst": {burst}, "rate_per_s": 0.001}}}})
client = app.test_client()
print(json.dumps([client.get("/v1/auth/whoami", headers={{"X-API-Key": {key!r}}}).status_code for _ in range({n})]))
"""


def test_rate_limits_hold_across_processes_sharing_a_state_dir(
    db: Any, tenant: dict[str, Any], keys: dict[str, str], state_dir: Path
) -> None:
    """Two API processes racing on one tenant's bucket grant exactly its burst between them."""
    burst, per_process = 30, 40
    code = RATE_LIMITED_CLIENT.format(state=str(state_dir), burst=burst, key=keys["read"], n=per_process)
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", code],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=ROOT,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        for _ in range(2)
    ]
    statuses: list[int] = []
    for proc in procs:
        out, err = proc.communicate(timeout=120)
        assert proc.returncode == 0, err
        statuses += json.loads(out.strip().splitlines()[-1])
    assert statuses.count(200) == burst
    assert statuses.count(429) == 2 * per_process - burst


def test_a_bucket_spent_in_one_process_is_spent_in_the_next(
    db: Any, tenant: dict[str, Any], keys: dict[str, str], state_dir: Path
) -> None:
    first = RATE_LIMITED_CLIENT.format(state=str(state_dir), burst=5, key=keys["read"], n=3)
    second = RATE_LIMITED_CLIENT.format(state=str(state_dir), burst=5, key=keys["read"], n=4)
    assert json.loads(run_python(first).splitlines()[-1]) == [200, 200, 200]
    assert json.loads(run_python(second).splitlines()[-1]) == [200, 200, 429, 429]


def test_the_generation_moves_with_every_key_change(db: Any, tenant: dict[str, Any], state_dir: Path) -> None:
    from appliance.store import identity as identity_store

    start = identity_store.auth_generation(db)
    key = identity.create_key(db, tenant["id"], ["read"])
    assert identity_store.auth_generation(db) == start  # a new key cannot be in anyone's cache
    identity.revoke_key(db, tenant["id"], key["id"])
    assert identity_store.auth_generation(db) == start + 1
    with sqlite3.connect(db_path(state_dir)) as other:
        other.execute("DELETE FROM api_keys WHERE id = ?", (key["id"],))
    assert identity_store.auth_generation(db) == start + 2
