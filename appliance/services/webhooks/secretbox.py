"""Endpoint secrets at rest: encrypted with the appliance's own key, since they must be read back.

An API key can be stored as a hash because the appliance only ever compares it; a webhook secret
is what the appliance signs with, so it has to be recoverable. It is sealed with AES-256-GCM under
`keys/webhooks.key` (32 random bytes, mode 0600, made at first need like `jwt.secret`), with the
endpoint id as associated data, so a copied database without the key dir yields no secrets and a
sealed secret moved onto another endpoint's row does not open. Opened secrets are cached by their
sealed form (the deliverer signs every attempt; a rotation seals a new one).
"""

from __future__ import annotations

import base64
import functools
import os
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from appliance.services.secrets import state_secret

KEY_FILE = "webhooks.key"
VERSION = "v1"


def _key(keys_dir: Path) -> bytes:
    return state_secret(keys_dir, KEY_FILE)


def seal(keys_dir: Path, endpoint_id: str, secret: str) -> str:
    nonce = os.urandom(12)
    sealed = AESGCM(_key(keys_dir)).encrypt(nonce, secret.encode(), endpoint_id.encode())
    return f"{VERSION}:" + base64.b64encode(nonce + sealed).decode()


@functools.lru_cache(maxsize=4096)
def open_secret(keys_dir: Path, endpoint_id: str, stored: str) -> str:
    version, _, payload = stored.partition(":")
    if version != VERSION:
        raise ValueError(f"unknown sealed-secret version {version!r}")
    raw = base64.b64decode(payload)
    return AESGCM(_key(keys_dir)).decrypt(raw[:12], raw[12:], endpoint_id.encode()).decode()
