"""The appliance's Ed25519 signing keys: made on first need, rotated on demand, cached per process.

Why this shape: the private key is a file (``<state_dir>/keys/signing/<name>+<keyid>.key`` with
each ``/`` of the name written ``_``, mode 0600, the C2SP signer-key text), so the database never
holds a secret; its public half is a row in
``signing_keys``, which the API lists and an auditor's trust file is built from. Exactly one key is
active. Rotation retires it (its public half stays listed, so every bundle it signed still
verifies) and destroys its private file once the new key is committed.

Key name: the seal log's origin (``sealforge.local/seal-log/<appliance id>``), as tlog-checkpoint
says it SHOULD be, so tooling that looks a log's key up by origin finds it; the C2SP key id tells
rotated keys apart. Keys made before this rule are named ``sealforge-<appliance id>``: they are
not renamed (a key's name is part of its key id, so renaming is a new key), they keep signing until
the next rotation, and as retired keys they stay in the trust file, so everything they signed keeps
verifying (docs/decisions.md).
"""

from __future__ import annotations

import os
import sqlite3
import threading
from pathlib import Path
from typing import Any

from sealforge_verify import (
    SignerKey,
    VerifierKey,
    format_trust_file,
    generate_signer,
    load_signer,
    parse_verifier_key,
    save_signer,
)

from appliance.clock import now_iso
from appliance.evidence import seal_log
from appliance.store import seals as seals_store
from appliance.store.db import transaction

SIGNING_SUBDIR = "signing"

_cache: dict[str, SignerKey] = {}
_lock = threading.Lock()


def signing_dir(keys_dir: Path) -> Path:
    return keys_dir / SIGNING_SUBDIR


def key_path(keys_dir: Path, key_id: str) -> Path:
    """The private key file of ``key_id`` (``name+hex8``); a name's ``/`` become ``_`` (origins are paths)."""
    return signing_dir(keys_dir) / f"{key_id.replace('/', '_')}.key"


def _create(conn: sqlite3.Connection, keys_dir: Path) -> tuple[dict[str, Any], SignerKey]:
    """A new active key: the file first (so a committed row always has its file), then the row."""
    head = seal_log.ensure_head(conn)
    signer = generate_signer(head["origin"])
    folder = signing_dir(keys_dir)
    folder.mkdir(parents=True, exist_ok=True)
    os.chmod(keys_dir, 0o700)
    os.chmod(folder, 0o700)
    verifier = signer.verifier
    save_signer(signer, key_path(keys_dir, verifier.ref))
    row = {"key_id": verifier.ref, "name": verifier.name, "verifier_key": verifier.text, "created_at": now_iso()}
    seals_store.insert_signing_key(conn, row)
    with _lock:
        _cache[str(key_path(keys_dir, verifier.ref))] = signer
    return {**row, "retired_at": None}, signer


def _load(keys_dir: Path, key_id: str) -> SignerKey:
    path = key_path(keys_dir, key_id)
    with _lock:
        cached = _cache.get(str(path))
    if cached is not None:
        return cached
    try:
        signer = load_signer(path)
    except OSError as exc:
        raise RuntimeError(
            f"the active signing key {key_id} has no readable private key at {path} ({exc.strerror or exc}); "
            "restore it from a backup or run `sealforge admin keys rotate-signing`"
        ) from exc
    if signer.verifier.ref != key_id:
        raise RuntimeError(f"signing key file {path} holds {signer.verifier.ref}, not {key_id}")
    with _lock:
        _cache[str(path)] = signer
    return signer


def active_signer(conn: sqlite3.Connection, keys_dir: Path) -> tuple[dict[str, Any], SignerKey]:
    """The active key's row and signer, creating the first key if there is none.

    Call it inside a write transaction: two processes that both find no key then queue on the
    write lock instead of both creating one. The private key is read from disk once per process.
    """
    with transaction(conn):
        row = seals_store.active_signing_key(conn)
        if row is None:
            return _create(conn, keys_dir)
    return row, _load(keys_dir, row["key_id"])


def ensure_signing_key(conn: sqlite3.Connection, keys_dir: Path) -> dict[str, Any]:
    """Make sure an active key exists (bootstrap calls this); returns its public view."""
    row, _ = active_signer(conn, keys_dir)
    return public_view(row)


def rotate(conn: sqlite3.Connection, keys_dir: Path) -> dict[str, Any]:
    """Retire the active key and make a new one; the old private key file is deleted afterwards."""
    with transaction(conn):
        old = seals_store.active_signing_key(conn)
        if old is not None:
            seals_store.retire_signing_key(conn, old["key_id"], now_iso())
        new, _ = _create(conn, keys_dir)
    retired = None
    if old is not None:
        key_path(keys_dir, old["key_id"]).unlink(missing_ok=True)
        with _lock:
            _cache.pop(str(key_path(keys_dir, old["key_id"])), None)
        retired = public_view(next(r for r in seals_store.signing_keys(conn) if r["key_id"] == old["key_id"]))
    return {"active": public_view(new), "retired": retired}


def public_view(row: dict[str, Any]) -> dict[str, Any]:
    return {
        "key_id": row["key_id"],
        "name": row["name"],
        "verifier_key": row["verifier_key"],
        "created_at": row["created_at"],
        "active": row["retired_at"] is None,
        "retired_at": row["retired_at"],
    }


def list_public(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    return [public_view(r) for r in seals_store.signing_keys(conn)]


def trusted_verifiers(conn: sqlite3.Connection) -> list[VerifierKey]:
    """Every key this appliance has signed with: what it trusts when it verifies its own bundles."""
    return [parse_verifier_key(r["verifier_key"]) for r in seals_store.signing_keys(conn)]


def trust_file(conn: sqlite3.Connection) -> str:
    """Trust-file text for an auditor: every key, active and retired, one per line."""
    rows = seals_store.signing_keys(conn)
    if not rows:
        return ""
    head = seals_store.log_head(conn)
    comment = f"Sealforge appliance {head['appliance_id'] if head else '?'} seal log signing keys"
    keys = [parse_verifier_key(r["verifier_key"]) for r in rows]
    return format_trust_file(keys, comment, fingerprints=True)


def fingerprint(verifier_key: str) -> str:
    """SHA-256 of the raw Ed25519 public key, in groups of four hex digits: what an admin reads
    out to an auditor to confirm, over another channel, that a trust file holds this key."""
    return parse_verifier_key(verifier_key).fingerprint


def list_with_fingerprints(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """The public view of every signing key with its fingerprint (the admin page's list)."""
    return [public_view(r) | {"fingerprint": fingerprint(r["verifier_key"])} for r in seals_store.signing_keys(conn)]
