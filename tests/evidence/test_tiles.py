"""The seal log as C2SP tlog-tiles: tile paths as the spec writes them, proofs from the stored tiles
equal to the full computation at every size up to 600 (tile edges 256, 257, 512 included), and a
tile client written here from the spec alone rebuilding the signed root over HTTP."""

from __future__ import annotations

import base64
import random
from pathlib import Path
from typing import Any

import pytest
from flask.testing import FlaskClient
from sealforge_verify import BLAKE3, SHA256, Hasher, MerkleTree
from sealforge_verify.note import parse_note

from appliance.evidence import keys as signing
from appliance.evidence import seal_log
from appliance.evidence.tiles import TileRef, TileTree, encode_index, parse_tile
from appliance.store.db import transaction
from tests.conftest import auth
from tests.evidence import rfc9162_reference as rfc


def append_leaves(db: Any, state_dir: Path, count: int, hasher: Hasher = SHA256) -> MerkleTree:
    """Append ``count`` leaves through ``seal_log.append`` (the appliance's own path, a checkpoint
    signed per leaf); returns the same leaves as an in-memory reference tree."""
    reference = MerkleTree(hasher=hasher)
    with transaction(db):
        seal_log.ensure_head(db, hasher)
        _row, signer = signing.active_signer(db, state_dir / "keys")
        for i in range(count):
            leaf = hasher.leaf(b"entry %d" % i)
            seal_log.append(db, leaf, signer)
            reference.append(leaf)
    return reference


@pytest.mark.parametrize(
    ("index", "text"),
    [
        (0, "000"),
        (7, "007"),
        (999, "999"),
        (1000, "x001/000"),
        (1234067, "x001/x234/067"),
        (10**9, "x001/x000/x000/000"),
    ],
)
def test_tile_index_is_encoded_in_three_digit_elements(index: int, text: str) -> None:
    assert encode_index(index) == text
    assert parse_tile(f"2/{text}") == TileRef(2, index)
    assert parse_tile(f"0/{text}.p/17") == TileRef(0, index, 17)
    assert TileRef(0, index, 17).path() == f"0/{text}.p/17" and TileRef(1, index).path() == f"1/{text}"


@pytest.mark.parametrize(
    "path",
    [
        "",
        "0",
        "0/",
        "0/1",
        "0/0001",
        "00/000",
        "64/000",
        "-1/000",
        "a/000",
        "0/x000/001",
        "0/001/000",
        "0/x1/000",
        "0/000.p/0",
        "0/000.p/256",
        "0/000.p/01",
        "0/000.p/",
        "0/000.p",
        "0/000/",
        "0/000.p/3/4",
    ],
)
def test_malformed_tile_paths_are_refused(path: str) -> None:
    with pytest.raises(ValueError):
        parse_tile(path)


@pytest.mark.parametrize("hasher", [SHA256, BLAKE3], ids=["sha256", "blake3"])
def test_proofs_from_tiles_equal_the_full_computation(db: Any, state_dir: Path, hasher: Hasher) -> None:
    total = 600 if hasher is SHA256 else 300
    reference = append_leaves(db, state_dir, total, hasher)
    rng = random.Random(18)
    edges = {1, 2, 255, 256, 257, 511, 512, 513, total}
    for size in range(1, total + 1):
        tiled = TileTree(db, hasher, size)
        assert tiled.root() == reference.root(size), size
        indexes = {0, size - 1, size // 2, rng.randrange(size)} | ({*range(size)} if size in edges else set())
        for i in indexes:
            assert tiled.inclusion_proof(i) == reference.inclusion_proof(i, size), (i, size)
        olds = {1, size, max(1, size - 1), size // 2 or 1, rng.randint(1, size)} | (
            {*range(1, size + 1)} if size in edges else set()
        )
        for old in olds:
            assert tiled.consistency_proof(old) == reference.consistency_proof(old, size), (old, size)
    assert seal_log.tree(db, total).root() == reference.root()


def _get(client: FlaskClient, url: str, headers: dict[str, str]) -> bytes:
    response = client.get(url, headers=headers)
    assert response.status_code == 200, (url, response.get_data(as_text=True)[:300])
    return response.get_data()


def _tile_url(level: int, index: int, width: int) -> str:
    """The spec's path, built here independently of the appliance's encoder."""
    digits = f"{index:0{3 * max(1, (len(str(index)) + 2) // 3)}d}"
    elements = [digits[i : i + 3] for i in range(0, len(digits), 3)]
    path = "/".join(["x" + e for e in elements[:-1]] + [elements[-1]])
    return f"/v1/seals/log/tile/{level}/{path}" + (f".p/{width}" if width < 256 else "")


def _fetch_level(client: FlaskClient, headers: dict[str, str], level: int, count: int) -> list[bytes]:
    """All ``count`` hashes of one level: its full tiles, then the partial one (tlog-tiles)."""
    out: list[bytes] = []
    for n in range(count // 256 + (1 if count % 256 else 0)):
        width = min(256, count - n * 256)
        data = _get(client, _tile_url(level, n, width), headers)
        assert len(data) == 32 * width
        out += [data[i : i + 32] for i in range(0, len(data), 32)]
    return out


def test_a_tile_client_rebuilds_the_checkpoint_root_over_http(
    client: FlaskClient, db: Any, state_dir: Path, keys: dict[str, str]
) -> None:
    headers = auth(keys["read"])
    append_leaves(db, state_dir, 70)
    early = _get(client, "/v1/seals/log/tile/0/000.p/70", headers)
    append_leaves(db, state_dir, 530)  # 600 leaves in all: two full level-0 tiles, one partial
    response = client.get("/v1/seals/log/checkpoint", headers=headers)
    assert response.status_code == 200 and response.headers["Content-Type"] == "text/plain; charset=utf-8"
    assert response.headers["Cache-Control"] == "no-cache"
    assert response.get_data() == _get(client, "/v1/seals/checkpoint?format=text", headers)  # cosignatures too
    origin, size_text, root_b64, *extensions = parse_note(response.get_data()).text.splitlines()
    assert extensions == []  # a SHA-256 log's checkpoint is a plain standard one
    size = int(size_text)
    assert size == 600
    leaves = _fetch_level(client, headers, 0, size)
    level1 = _fetch_level(client, headers, 1, size >> 8)
    assert level1 == [rfc.mth(leaves[i * 256 : (i + 1) * 256]) for i in range(size >> 8)]
    assert rfc.mth(leaves) == base64.b64decode(root_b64)
    assert early == b"".join(leaves[:70])  # a partial tile a past checkpoint needed stays served
    full = client.get("/v1/seals/log/tile/0/001", headers=headers)
    assert full.headers["Content-Type"] == "application/octet-stream"
    assert full.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert origin.startswith("sealforge.local/seal-log/")


@pytest.mark.parametrize(
    ("url", "status", "code"),
    [
        ("/v1/seals/log/tile/0/002", 404, "NOT_FOUND"),  # full tile 2 needs 768 leaves
        ("/v1/seals/log/tile/0/002.p/89", 404, "NOT_FOUND"),  # the log has 88 leaves in tile 2
        ("/v1/seals/log/tile/1/000", 404, "NOT_FOUND"),  # level 1 has two hashes
        ("/v1/seals/log/tile/2/000.p/1", 404, "NOT_FOUND"),
        ("/v1/seals/log/tile/entries/000", 404, "NOT_FOUND"),
        ("/v1/seals/log/tile/0/0001", 400, "VALIDATION_FAILED"),
        ("/v1/seals/log/tile/0/000.p/300", 400, "VALIDATION_FAILED"),
        ("/v1/seals/log/tile/64/000", 400, "VALIDATION_FAILED"),
        ("/v1/seals/log/tile/0/x000/000", 400, "VALIDATION_FAILED"),
    ],
)
def test_tiles_the_log_does_not_have_are_refused(
    client: FlaskClient, db: Any, state_dir: Path, keys: dict[str, str], url: str, status: int, code: str
) -> None:
    append_leaves(db, state_dir, 600)
    response = client.get(url, headers=auth(keys["read"]))
    assert response.status_code == status, response.get_data(as_text=True)
    assert response.get_json()["error"]["code"] == code
    assert client.get("/v1/seals/log/tile/1/000.p/2", headers=auth(keys["read"])).status_code == 200


def test_tiles_need_a_key_and_an_empty_log_has_no_checkpoint(client: FlaskClient, keys: dict[str, str]) -> None:
    assert client.get("/v1/seals/log/checkpoint").status_code == 401
    assert client.get("/v1/seals/log/tile/0/000.p/1").status_code == 401
    for url in ("/v1/seals/log/checkpoint", "/v1/seals/log/tile/0/000.p/1"):
        response = client.get(url, headers=auth(keys["read"]))
        assert response.status_code == 404 and response.get_json()["error"]["code"] == "NOT_FOUND"
