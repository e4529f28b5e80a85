"""`sealforge admin …` and `sealforge config show`, run as real subprocesses where the output is
the contract (tools parse it)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from click.testing import CliRunner

from appliance.cli.main import cli


def sealforge(
    *args: str, env: dict[str, str] | None = None, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "appliance.cli.main", *args],
        capture_output=True,
        text=True,
        timeout=60,
        input=stdin,
        env={**os.environ, **(env or {})},
    )


def run(state_dir: Path, *args: str, stdin: str | None = None) -> Any:
    result = CliRunner().invoke(cli, [*args, "--state-dir", str(state_dir)], input=stdin)
    return result


def test_bootstrap_is_idempotent_across_processes(state_dir: Path) -> None:
    first = sealforge("admin", "bootstrap", "--state-dir", str(state_dir))
    second = sealforge("admin", "bootstrap", "--state-dir", str(state_dir))
    assert first.returncode == second.returncode == 0, first.stderr
    a, b = json.loads(first.stdout), json.loads(second.stdout)
    assert set(a) == {"tenant_id", "api_key", "tls_fingerprint"} and a == b
    assert a["api_key"].startswith("sl_live_")
    assert oct((state_dir / "keys" / "bootstrap.key").stat().st_mode & 0o777) == "0o600"


def test_bootstrap_replaces_a_revoked_key(state_dir: Path) -> None:
    first = json.loads(run(state_dir, "admin", "bootstrap").output)
    keys = json.loads(run(state_dir, "admin", "keys", "list", "--tenant", first["tenant_id"]).output)
    run(state_dir, "admin", "keys", "revoke", keys[0]["id"], "--tenant", first["tenant_id"])
    second = json.loads(run(state_dir, "admin", "bootstrap").output)
    assert second["tenant_id"] == first["tenant_id"] and second["api_key"] != first["api_key"]


def test_tenants_and_keys(state_dir: Path) -> None:
    tenant = json.loads(run(state_dir, "admin", "tenants", "create", "plant-7", "--credits", "50").output)
    assert tenant["id"].startswith("ten_") and tenant["credits"] == 50
    key = json.loads(
        run(state_dir, "admin", "keys", "create", "--tenant", tenant["id"], "--scopes", "read,generate").output
    )
    assert key["scopes"] == ["read", "generate"] and key["api_key"].startswith("sl_live_")
    listed = json.loads(run(state_dir, "admin", "keys", "list", "--tenant", tenant["id"]).output)
    assert [k["id"] for k in listed] == [key["id"]] and "api_key" not in listed[0]
    revoked = json.loads(run(state_dir, "admin", "keys", "revoke", key["id"], "--tenant", tenant["id"]).output)
    assert revoked["revoked_at"]
    names = [t["name"] for t in json.loads(run(state_dir, "admin", "tenants", "list").output)]
    assert names == ["plant-7"]


def test_users_create_reads_password_from_stdin(state_dir: Path) -> None:
    tenant = json.loads(run(state_dir, "admin", "tenants", "create", "t").output)
    result = run(
        state_dir,
        "admin",
        "users",
        "create",
        "--tenant",
        tenant["id"],
        "--email",
        "a@b.example",
        "--scopes",
        "read",
        "--password-stdin",
        stdin="a long enough password\n",
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["email"] == "a@b.example"


def test_bad_inputs_exit_with_messages(state_dir: Path) -> None:
    tenant = json.loads(run(state_dir, "admin", "tenants", "create", "t").output)
    dup = sealforge("admin", "tenants", "create", "t", "--state-dir", str(state_dir))
    assert dup.returncode == 1 and "CONFLICT" in dup.stderr
    bad_scope = sealforge(
        "admin", "keys", "create", "--tenant", tenant["id"], "--scopes", "root", "--state-dir", str(state_dir)
    )
    assert bad_scope.returncode == 1 and "unknown scope" in bad_scope.stderr
    no_tenant = sealforge(
        "admin", "keys", "create", "--tenant", "ten_nope", "--scopes", "read", "--state-dir", str(state_dir)
    )
    assert no_tenant.returncode == 1 and "NOT_FOUND" in no_tenant.stderr
    missing = sealforge("admin", "keys", "create", "--scopes", "read", "--state-dir", str(state_dir))
    assert missing.returncode == 2 and "--tenant" in missing.stderr
    negative = sealforge("admin", "tenants", "create", "x", "--credits", "-5", "--state-dir", str(state_dir))
    assert negative.returncode == 2
    short = run(
        state_dir,
        "admin",
        "users",
        "create",
        "--tenant",
        tenant["id"],
        "--email",
        "a@b.example",
        "--scopes",
        "read",
        "--password-stdin",
        stdin="short\n",
    )
    assert short.exit_code == 1 and "12 characters" in short.output


def test_config_show_reflects_env(state_dir: Path) -> None:
    shown = sealforge("config", "show", env={"SEALFORGE_SERVER_PORT": "9191", "SEALFORGE_STATE_DIR": str(state_dir)})
    cfg = json.loads(shown.stdout)
    assert cfg["server"]["port"] == 9191 and cfg["server"]["state_dir"] == str(state_dir)
    broken = sealforge("config", "show", env={"SEALFORGE_SERVER_PORT": "x"})
    assert broken.returncode == 2 and "SEALFORGE_SERVER_PORT" in broken.stderr


def test_worker_rejects_unknown_queue() -> None:
    result = sealforge("worker", "--queue", "turbo")
    assert result.returncode == 2 and "turbo" in result.stderr
