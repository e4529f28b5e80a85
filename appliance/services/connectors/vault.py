"""Connector credentials at rest: AES-256-GCM under `keys/connectors.key`.

The appliance must hand the password back to the client library, so a hash will not do. The key
is 32 random bytes made at first need (mode 0600, `state_secret`), apart from the webhooks' key so
one can be rotated without the other. The connector id is the associated data: a sealed blob
copied onto another connector's row does not open, and a database copied without the key dir
yields no secrets.
"""

from __future__ import annotations

import base64
import json
import os
from pathlib import Path
from typing import Any

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from appliance.services.secrets import state_secret

KEY_FILE = "connectors.key"
VERSION = "v1"


def seal(keys_dir: Path, connector_id: str, credentials: dict[str, Any]) -> str:
    nonce = os.urandom(12)
    plain = json.dumps(credentials, sort_keys=True).encode()
    sealed = AESGCM(state_secret(keys_dir, KEY_FILE)).encrypt(nonce, plain, connector_id.encode())
    return f"{VERSION}:" + base64.b64encode(nonce + sealed).decode()


def open_credentials(keys_dir: Path, connector_id: str, stored: str | None) -> dict[str, Any]:
    if not stored:
        return {}
    version, _, payload = stored.partition(":")
    if version != VERSION:
        raise ValueError(f"unknown sealed-credentials version {version!r}")
    raw = base64.b64decode(payload)
    plain = AESGCM(state_secret(keys_dir, KEY_FILE)).decrypt(raw[:12], raw[12:], connector_id.encode())
    loaded: dict[str, Any] = json.loads(plain)
    return loaded
