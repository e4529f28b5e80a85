"""Fixtures for the offline verifier tests: the shared test vectors, and a bundle factory.

The factory builds real bundles with the package's own writer side (keys generated per test, a
small seal log), so every end-to-end test exercises the same code the appliance will call.
"""

from __future__ import annotations

import hashlib
import io
import os
import subprocess
import sys
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
from sealforge_verify.bundle import read_bundle
from sealforge_verify.hashing import blake3_stream
from sealforge_verify.keys import format_trust_file, generate_signer
from sealforge_verify.merkle import MerkleTree
from sealforge_verify.note import SignerKey
from sealforge_verify.sealing import build_bundle, log_leaf_hash, make_checkpoint, seal_statement
from sealforge_verify.statement import build_statement

from tests.verifier_cli import run_in_process

ORIGIN = "sealforge.test/seal-log"


def find_testdata_dir() -> Path:
    """``shared/testdata`` beside the repository root (in CI, a copy beside the clone)."""
    return (Path(__file__).resolve().parents[2] / ".." / "shared" / "testdata").resolve()


@pytest.fixture(scope="session")
def testdata_dir() -> Path:
    path = find_testdata_dir()
    assert path.is_dir(), f"shared test data not found at {path}"
    return path


def _vector_files(kind: str) -> list[Path]:
    return sorted((find_testdata_dir() / "rfc9162" / kind).rglob("*.json"))


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    """One test case per RFC 9162 vector file (``inclusion_vector`` / ``consistency_vector``)."""
    for kind in ("inclusion", "consistency"):
        fixture = f"{kind}_vector"
        if fixture in metafunc.fixturenames:
            files = _vector_files(kind)
            base = find_testdata_dir() / "rfc9162"
            metafunc.parametrize(fixture, files, ids=[str(f.relative_to(base)) for f in files])


@dataclass
class Sealed:
    """A bundle on disk plus everything that went into it."""

    bundle: Path
    trust: Path
    artifacts_dir: Path
    signer: SignerKey
    tree: MerkleTree
    leaf_index: int
    envelope: bytes
    statement: dict[str, object]
    artifacts: dict[str, bytes]
    checkpoint: bytes

    def members(self) -> dict[str, bytes]:
        """Raw bytes of every tar member, artifacts included."""
        with read_bundle(self.bundle) as b:
            out = dict(b.members)
            for name in b.artifacts:
                with b.open_artifact(name) as fh:
                    out["artifacts/" + name] = fh.read()
        return out


class BundleFactory:
    """Builds seal logs and bundles under one test's ``tmp_path``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.signer = generate_signer("sealforge-test")
        self.trust = root / "trust.txt"
        self.trust.write_text(format_trust_file([self.signer.verifier], "test appliance key"))
        self._count = 0

    def filler(self, tree: MerkleTree, n: int, tag: str = "other") -> None:
        """Append ``n`` leaves standing for other jobs' envelopes."""
        for _ in range(n):
            tree.append_data(f"{tag}-{len(tree)}".encode())

    def build(
        self,
        *,
        before: int = 2,
        after: int = 2,
        artifacts: dict[str, bytes] | None = None,
        embed: bool = True,
        signer: SignerKey | None = None,
        tree: MerkleTree | None = None,
        consistency_from: int | None = None,
        layout: str = "annotated",
        digests: dict[str, dict[str, str]] | None = None,
    ) -> Sealed:
        """A bundle whose envelope is leaf ``before`` of a tree of ``before + 1 + after`` leaves.

        Subjects are laid out as the appliance seals them now (``annotated``: SHA-256 in the digest
        set, BLAKE3 in the annotations) or as older appliances did: ``digest_set`` (both in the
        digest set) or ``blake3`` (BLAKE3 alone, before SHA-256 was added). ``digests`` replaces
        the computed digests by name."""
        assert layout in ("annotated", "digest_set", "blake3"), layout
        self._count += 1
        signer = signer or self.signer
        arts = (
            {"rows.csv": b"a,b\n1,2\n3,4\n", "report/summary.json": b'{"rows": 2}'} if artifacts is None else artifacts
        )
        subjects: dict[str, dict[str, str]] = {n: {"blake3": blake3_stream(io.BytesIO(d))} for n, d in arts.items()}
        if layout != "blake3":
            for n, d in arts.items():
                subjects[n]["sha256"] = hashlib.sha256(d).hexdigest()
        subjects.update(digests or {})
        statement = build_statement(
            subjects,
            {"contract": {"kind": "mock", "seed": self._count}, "job": {"id": f"job_{self._count}"}},
        )
        if layout == "digest_set":
            for subject in statement["subject"]:
                subject["digest"]["blake3"] = subject.pop("annotations")["blake3"]
        envelope = seal_statement(statement, signer)
        tree = tree if tree is not None else MerkleTree()
        self.filler(tree, before)
        index = tree.append(log_leaf_hash(envelope))
        self.filler(tree, after)
        checkpoint = make_checkpoint(ORIGIN, tree, signer)
        art_dir = self.root / f"artifacts-{self._count}"
        for name, data in arts.items():
            (art_dir / name).parent.mkdir(parents=True, exist_ok=True)
            (art_dir / name).write_bytes(data)
        path = self.root / f"bundle-{self._count}.tar"
        build_bundle(
            path,
            envelope=envelope,
            tree=tree,
            leaf_index=index,
            checkpoint=checkpoint,
            signer=signer,
            artifacts=arts if embed else None,
            consistency_from=consistency_from,
        )
        return Sealed(path, self.trust, art_dir, signer, tree, index, envelope, statement, arts, checkpoint)


@pytest.fixture
def factory(tmp_path: Path) -> BundleFactory:
    return BundleFactory(tmp_path)


CliRunner = Callable[..., subprocess.CompletedProcess[str]]


@pytest.fixture
def cli_process(tmp_path: Path) -> CliRunner:
    """Run ``python -m sealforge_verify.cli ARGS...`` as a separate process in ``tmp_path``: for the
    tests about the process itself (its streams, its exit status through ``sys.exit``)."""

    def run(*args: str | os.PathLike[str]) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "sealforge_verify.cli", *map(str, args)],
            capture_output=True,
            text=True,
            cwd=tmp_path,
            timeout=120,
        )

    return run


@pytest.fixture
def cli(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> CliRunner:
    """The command's ``main(ARGS)`` in this process, in ``tmp_path`` (see tests/verifier_cli.py)."""
    monkeypatch.chdir(tmp_path)
    return run_in_process
