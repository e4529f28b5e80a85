"""Hashing of stored secrets: API keys, refresh tokens and passwords.

API keys and refresh tokens carry 190+ bits of randomness, so a fast BLAKE3 hash is enough and
keeps key lookup cheap on every request. Passwords are low-entropy, so they get scrypt.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
from pathlib import Path

import blake3

from appliance.fsutil import write_atomic

KEY_PREFIX = "sl_live_"
_SCRYPT_N, _SCRYPT_R, _SCRYPT_P = 2**14, 8, 1


_state_secrets: dict[tuple[str, str], bytes] = {}


def state_secret(keys_dir: Path, name: str, size: int = 32) -> bytes:
    """A random secret kept in ``keys_dir/name`` (mode 0600, the dir 0700), made at first need.

    Several processes may ask at once at first start: the exclusive atomic write lets the first
    writer win and every other one read what it wrote. Cached per process, since it is read on
    every token check or signature."""
    cache_key = (str(keys_dir), name)
    cached = _state_secrets.get(cache_key)
    if cached:
        return cached
    path = keys_dir / name
    if not path.exists():
        keys_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        write_atomic(path, secrets.token_bytes(size), 0o600, exclusive=True)
    secret = path.read_bytes()
    if len(secret) != size:
        raise ValueError(f"{path} must hold {size} bytes")
    _state_secrets[cache_key] = secret
    return secret


def new_api_key() -> str:
    return KEY_PREFIX + secrets.token_urlsafe(32)


def new_opaque_token() -> str:
    return secrets.token_urlsafe(32)


def token_hash(token: str) -> str:
    return blake3.blake3(token.encode()).hexdigest()


def hash_password(password: str) -> str:
    salt = os.urandom(16)
    digest = hashlib.scrypt(password.encode(), salt=salt, n=_SCRYPT_N, r=_SCRYPT_R, p=_SCRYPT_P, dklen=32)
    b64 = base64.b64encode
    return f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}${b64(salt).decode()}${b64(digest).decode()}"


# A well-formed hash of no one's password, with the same parameters as real ones, so an unknown
# account costs a login the same scrypt run as a known one and timing does not reveal which it was.
DUMMY_PASSWORD_HASH = f"scrypt${_SCRYPT_N}${_SCRYPT_R}${_SCRYPT_P}$c2VhbGZvcmdlLWR1bW15IQ==$" + "A" * 43 + "="


def check_password(password: str, stored: str) -> bool:
    try:
        _, n, r, p, salt, digest = stored.split("$")
        got = hashlib.scrypt(password.encode(), salt=base64.b64decode(salt), n=int(n), r=int(r), p=int(p), dklen=32)
    except (ValueError, TypeError):
        return False
    return hmac.compare_digest(got, base64.b64decode(digest))
