"""Every RFC 9162 vector in shared/testdata, with SHA-256 plugged into the tree code."""

from __future__ import annotations

import base64
import json
from pathlib import Path

import pytest
from sealforge_verify.merkle import SHA256, ProofError, verify_consistency, verify_inclusion


def _b64(text: str) -> bytes:
    return base64.b64decode(text)


def test_inclusion_vector(inclusion_vector: Path) -> None:
    v = json.loads(inclusion_vector.read_text())
    proof = [_b64(p) for p in v["proof"] or []]
    args = (SHA256, v["leafIdx"], v["treeSize"], _b64(v["leafHash"]), proof, _b64(v["root"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_inclusion(*args)
    else:
        verify_inclusion(*args)


def test_consistency_vector(consistency_vector: Path) -> None:
    v = json.loads(consistency_vector.read_text())
    proof = [_b64(p) for p in v["proof"] or []]
    args = (SHA256, v["size1"], v["size2"], proof, _b64(v["root1"]), _b64(v["root2"]))
    if v["wantErr"]:
        with pytest.raises(ProofError):
            verify_consistency(*args)
    else:
        verify_consistency(*args)


def test_all_vectors_are_present(testdata_dir: Path) -> None:
    base = testdata_dir / "rfc9162"
    inclusion = list((base / "inclusion").rglob("*.json"))
    consistency = list((base / "consistency").rglob("*.json"))
    assert len(inclusion) >= 90 and len(consistency) >= 90
    happy = [p for p in inclusion + consistency if not json.loads(p.read_text())["wantErr"]]
    assert len(happy) >= 10
