"""Failed logins back off per account and per source address, before any password is hashed."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient

from appliance.services import identity
from appliance.store.audit import iter_entries

PASSWORD = "correct horse battery"
EMAIL = "eng@plant.example"


@pytest.fixture(autouse=True)
def throttle_config(request: pytest.FixtureRequest, app_config: dict[str, Any]) -> None:
    """Each test's [auth] back-off settings (see ``throttle``), set before the app is made."""
    app_config["auth"] = dict(getattr(request, "param", {}))


def throttle(**settings: float) -> pytest.MarkDecorator:
    return pytest.mark.parametrize("throttle_config", [settings], indirect=True, ids=["throttle"])


def _login(client: FlaskClient, email: str, password: str, source: str = "127.0.0.1") -> Any:
    return client.post(
        "/v1/auth/login", json={"email": email, "password": password}, environ_base={"REMOTE_ADDR": source}
    )


def _wait_until(check: Callable[[], bool], timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if check():
            return
        time.sleep(0.05)
    raise AssertionError("condition not met before the deadline")


@pytest.fixture
def user(app_config: dict[str, Any], db: Any, tenant: dict[str, Any]) -> dict[str, Any]:
    return identity.create_user(db, tenant["id"], EMAIL, PASSWORD, "read")


slow_backoff = throttle(login_free_attempts=3, login_backoff_base_s=30.0, login_backoff_max_s=60.0)


@slow_backoff
def test_a_flood_of_wrong_passwords_turns_into_429_with_retry_after(
    client: FlaskClient, user: dict[str, Any], db: Any
) -> None:
    statuses = []
    for _ in range(200):
        response = _login(client, EMAIL, "wrong password!")
        statuses.append(response.status_code)
        if response.status_code == 429:
            body = response.get_json()["error"]
            assert body["code"] == "LOGIN_THROTTLED" and body["hint"]
            assert 1 <= int(response.headers["Retry-After"]) <= 60
    assert statuses[:3] == [401, 401, 401]
    assert set(statuses[3:]) == {429}
    refused = _login(client, EMAIL, PASSWORD)
    assert refused.status_code == 429, "the right password is refused while the account is throttled"
    assert refused.get_json()["error"]["code"] == "LOGIN_THROTTLED"
    denials = [e for e in iter_entries(db) if e["path"] == "/v1/auth/login" and e["status"] == 429]
    assert len(denials) == 198


@slow_backoff
def test_scrypt_is_not_run_for_a_throttled_login(
    client: FlaskClient, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    for _ in range(3):
        assert _login(client, EMAIL, "wrong password!").status_code == 401
    calls = _count_scrypt(monkeypatch)
    assert _login(client, EMAIL, PASSWORD).status_code == 429
    assert calls == []


@throttle(login_free_attempts=2, login_backoff_base_s=2.0, login_backoff_max_s=2.0)
def test_the_right_password_works_again_after_the_wait(
    app_config: dict[str, Any], client: FlaskClient, user: dict[str, Any]
) -> None:
    for _ in range(2):
        assert _login(client, EMAIL, "wrong password!").status_code == 401
    first = _login(client, EMAIL, PASSWORD)
    assert first.status_code == 429 and first.headers["Retry-After"] in {"1", "2"}
    _wait_until(lambda: _login(client, EMAIL, PASSWORD).status_code == 200)
    # the success cleared the account's count: the free attempts are back
    for _ in range(2):
        assert _login(client, EMAIL, "wrong password!").status_code == 401


@throttle(login_free_attempts=100, login_source_free_attempts=4, login_backoff_base_s=30.0)
def test_one_source_spraying_many_accounts_is_throttled(
    app_config: dict[str, Any], client: FlaskClient, user: dict[str, Any]
) -> None:
    sprayer, other = "10.0.0.7", "10.0.0.8"
    for n in range(4):
        assert _login(client, f"victim{n}@plant.example", "guess", sprayer).status_code == 401
    blocked = _login(client, "victim9@plant.example", "guess", sprayer)
    assert blocked.status_code == 429 and blocked.get_json()["error"]["code"] == "LOGIN_THROTTLED"
    assert _login(client, EMAIL, PASSWORD, sprayer).status_code == 429
    assert _login(client, "victim9@plant.example", "guess", other).status_code == 401
    assert _login(client, EMAIL, PASSWORD, other).status_code == 200


@throttle(login_free_attempts=3, login_source_free_attempts=100, login_backoff_base_s=30.0)
def test_one_account_is_throttled_from_every_source(
    app_config: dict[str, Any], client: FlaskClient, user: dict[str, Any]
) -> None:
    for n in range(3):
        assert _login(client, EMAIL, "wrong password!", f"10.0.1.{n}").status_code == 401
    assert _login(client, EMAIL, PASSWORD, "10.0.1.99").status_code == 429
    assert _login(client, "someone.else@plant.example", "guess", "10.0.1.99").status_code == 401


def _count_scrypt(monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, int, int]]:
    """Record each scrypt run's cost parameters; the real function still runs."""
    calls: list[tuple[int, int, int]] = []
    real = hashlib.scrypt

    def counting(password: bytes, **kwargs: Any) -> bytes:
        calls.append((kwargs["n"], kwargs["r"], kwargs["p"]))
        return real(password, **kwargs)

    monkeypatch.setattr(hashlib, "scrypt", counting)
    return calls


def test_an_unknown_email_runs_the_same_scrypt_as_a_known_one(
    client: FlaskClient, user: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    calls = _count_scrypt(monkeypatch)
    assert _login(client, EMAIL, "wrong password!").status_code == 401
    known = list(calls)
    calls.clear()
    unknown = _login(client, "nobody@plant.example", "wrong password!")
    assert unknown.status_code == 401 and unknown.get_json()["error"]["code"] == "INVALID_CREDENTIALS"
    assert calls == known == [(2**14, 8, 1)]


_OTHER_PROCESS = """
import json, sys
from appliance.api import create_app
app = create_app(json.loads(sys.argv[1]))
client = app.test_client()
statuses = [client.post("/v1/auth/login", json={"email": sys.argv[2], "password": "wrong password!"}).status_code
            for _ in range(3)]
print(json.dumps(statuses))
"""


@slow_backoff
def test_the_count_is_shared_with_another_process(
    app_config: dict[str, Any], client: FlaskClient, user: dict[str, Any], state_dir: Path
) -> None:
    done = subprocess.run(
        [sys.executable, "-c", _OTHER_PROCESS, json.dumps(app_config), EMAIL],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout.strip().splitlines()[-1]) == [401, 401, 401]
    assert _login(client, EMAIL, PASSWORD).status_code == 429
    assert (state_dir / "login_throttle.db").exists(), "the count lives in the state dir, not the main database"


@slow_backoff
def test_the_operator_can_unblock_an_account_from_the_cli(
    client: FlaskClient, user: dict[str, Any], state_dir: Path
) -> None:
    from click.testing import CliRunner

    from appliance.cli.main import cli

    for _ in range(3):
        assert _login(client, EMAIL, "wrong password!").status_code == 401
    assert _login(client, EMAIL, PASSWORD).status_code == 429
    runner = CliRunner()
    usage = runner.invoke(cli, ["admin", "logins", "unblock", "--state-dir", str(state_dir)])
    assert usage.exit_code == 2
    out = runner.invoke(cli, ["admin", "logins", "unblock", "--email", EMAIL.upper(), "--state-dir", str(state_dir)])
    assert out.exit_code == 0 and json.loads(out.output) == {"cleared": [f"account:{EMAIL}"]}
    assert _login(client, EMAIL, PASSWORD).status_code == 200
