"""What the appliance's console shows at every boot: how to reach it and what to trust.

The image has no login and no default password, so the console (serial and screen) is where a site
learns, by physical access alone, what it needs to take the box over:

- a setup key (scope `operator`, the tenant `default`), made at first boot and shown at each boot
  until it is revoked (`DELETE /v1/keys/{id}` with it or any admin key); with it the site makes the
  web UI's first admin user at `/setup`, and its own keys and grants credits over the API;
- the SHA-256 fingerprint of the API's TLS certificate (made here before the API's first start, so
  the console and the API show the same one) for clients to pin;
- the seal-signing key's fingerprint, which an auditor's trust file must match.

Run by sealforge-console.service as the `sealforge` user, before the API and workers start. It writes
the banner to the file named by its argument; the unit's root step copies that file to the
console devices and deletes it, so the setup key never reaches the journal.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from appliance.config import load_config
from appliance.evidence import keys as signing
from appliance.services import identity, tls
from appliance.store import identity as identity_store
from appliance.store.open import open_db

SETUP_KEY_FILE = "setup.key"
"""In <state>/keys/ (0600): the setup key's plaintext. Its existence also marks that one was made,
so a revoked setup key is never replaced by a new one (a site that wants one again resets the data
partition)."""

WIDTH = 72


def _setup_key(conn: Any, keys_dir: Path) -> tuple[dict[str, Any], bool]:
    """The setup key record and whether it still works; made (with the tenant) on first boot."""
    path = keys_dir / SETUP_KEY_FILE
    if path.exists():
        record: dict[str, Any] = json.loads(path.read_text())
        principal = identity.authenticate_key(conn, record["api_key"])
        return record, principal is not None
    # The tenant may exist when an earlier boot stopped between the two steps.
    tenant = identity_store.tenant_by_name(conn, identity.DEFAULT_TENANT) or identity.create_tenant(
        conn, identity.DEFAULT_TENANT
    )
    key = identity.create_key(conn, tenant["id"], ["operator"], name="console setup key", allow_operator=True)
    record = {"tenant_id": tenant["id"], "key_id": key["id"], "api_key": key["api_key"]}
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        json.dump(record, f)
    return record, True


def _addresses() -> list[str]:
    """The box's global IPv4 addresses, for the URL line (empty when the network is not up)."""
    out = subprocess.run(
        ["ip", "-4", "-o", "addr", "show", "scope", "global"], capture_output=True, text=True, check=False
    ).stdout
    return [line.split()[3].split("/")[0] for line in out.splitlines() if len(line.split()) > 3]


def banner(cfg: dict[str, Any]) -> str:
    state = Path(cfg["server"]["state_dir"])
    keys_dir = state / "keys"
    keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
    conn = open_db(state)
    setup, active = _setup_key(conn, keys_dir)
    signer = signing.ensure_signing_key(conn, keys_dir)
    signer_fp = signing.fingerprint(signer["verifier_key"])
    certificate = tls.prepare(cfg)
    port = cfg["server"]["port"]
    scheme = "https" if certificate else "http"
    urls = [f"{scheme}://{a}:{port}/" for a in _addresses()] or [f"{scheme}://<this box's address>:{port}/"]
    lines = [
        "=" * WIDTH,
        "Sealforge appliance",
        "API and web UI: " + "  ".join(urls),
        f"TLS certificate SHA-256: {certificate.fingerprint if certificate else 'none (tls off)'}",
        f"Seal signing key {signer['key_id']} fingerprint: {signer_fp}",
    ]
    if active:
        lines += [
            f"Setup key (operator, tenant {setup['tenant_id']}; shown here until revoked):",
            f"  {setup['api_key']}",
            f"  Web UI first admin: {urls[0]}setup  (paste this key there)",
            '  Make your own keys:  POST /v1/keys  {"scopes": ["admin"], "name": "..."}',
            '  Grant credits:       POST /v1/billing/topup  {"credits": 1000}',
            f"  Then revoke it:      DELETE /v1/keys/{setup['key_id']}",
            "  (header: X-API-Key: <key>; pin the TLS fingerprint above)",
        ]
    else:
        lines.append(f"Setup key {setup['key_id']}: revoked (use the site's own keys).")
    lines += [
        "Network: /var/lib/sealforge/network/*.network on the data partition, else DHCP.",
        "=" * WIDTH,
    ]
    return "\n".join(lines) + "\n"


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print("usage: sealforge-console.py BANNER_FILE", file=sys.stderr)
        return 2
    text = banner(load_config())
    fd = os.open(argv[1], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    print("console banner written (setup key not logged)")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
