"""Benchmark: ``sealforge-verify`` on a bundle with a large artifact, beside plain hashing tools.

Builds, in a temp dir, a bundle whose one artifact is N MB of random data (passed with
``--artifacts``, or inside the tar with ``--embed``), then times the verifier as a subprocess and,
on the same file, ``sha256sum`` and ``b3sum`` when installed (Python's hashlib.sha256 when
neither is). Prints each time and the ratio verifier / peer. Goal: 1 GB verifies in ≤ 3 s.
Also times the Merkle log over 10,000 leaves (root, inclusion and consistency proofs; 100
inclusion proofs from a built tree).

    .venv/bin/python bench/verify.py [--size-mb 1024] [--repeat 3] [--embed]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from sealforge_verify.hashing import blake3_file
from sealforge_verify.keys import format_trust_file, generate_signer
from sealforge_verify.merkle import BLAKE3, MerkleTree, consistency_proof, inclusion_proof, root_hash
from sealforge_verify.sealing import build_bundle, log_leaf_hash, make_checkpoint, seal_statement
from sealforge_verify.statement import build_statement

GOAL_SECONDS_PER_GB = 3.0
CHUNK = 16 * 1024 * 1024


def write_random(path: Path, size_mb: int) -> None:
    with open(path, "wb") as fh:
        left = size_mb * 1024 * 1024
        while left:
            n = min(CHUNK, left)
            fh.write(os.urandom(n))
            left -= n


def build(workdir: Path, size_mb: int, embed: bool) -> tuple[Path, Path, Path, Path]:
    """Returns (bundle, trust file, artifacts dir, artifact path)."""
    art_dir = workdir / "artifacts"
    art_dir.mkdir()
    artifact = art_dir / "telemetry.bin"
    write_random(artifact, size_mb)
    signer = generate_signer("bench.sealforge")
    statement = build_statement({artifact.name: blake3_file(artifact)}, {"bench": {"size_mb": size_mb}})
    envelope = seal_statement(statement, signer)
    tree = MerkleTree()
    for i in range(999):
        tree.append_data(b"other seal %d" % i)
    index = tree.append(log_leaf_hash(envelope))
    bundle = workdir / "bundle.tar"
    build_bundle(
        bundle,
        envelope=envelope,
        tree=tree,
        leaf_index=index,
        checkpoint=make_checkpoint("bench.sealforge/seal-log", tree, signer),
        signer=signer,
        artifacts={artifact.name: artifact} if embed else None,
    )
    trust = workdir / "trust.txt"
    trust.write_text(format_trust_file([signer.verifier]))
    return bundle, trust, art_dir, artifact


def verifier_command() -> list[str]:
    script = Path(sys.executable).parent / "sealforge-verify"
    return [str(script)] if script.exists() else [sys.executable, "-m", "sealforge_verify.cli"]


def timed(run: Callable[[], None], repeat: int) -> list[float]:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        run()
        times.append(time.perf_counter() - start)
    return times


def command(args: list[str]) -> Callable[[], None]:
    def run() -> None:
        subprocess.run(args, check=True, stdout=subprocess.DEVNULL)

    return run


def python_sha256(path: Path) -> Callable[[], None]:
    def run() -> None:
        h = hashlib.sha256()
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                h.update(chunk)

    return run


def merkle_timing(repeat: int) -> str:
    leaves = [BLAKE3.leaf(i.to_bytes(4, "big")) for i in range(10_000)]
    tree = MerkleTree(leaves)
    tree.root()

    def from_lists() -> None:
        root_hash(leaves)
        inclusion_proof(7_777, leaves)
        consistency_proof(6_000, leaves)

    def from_tree() -> None:
        for i in range(0, 10_000, 100):
            tree.inclusion_proof(i)

    lists_s, tree_s = statistics.median(timed(from_lists, repeat)), statistics.median(timed(from_tree, repeat))
    return (
        f"merkle, 10,000 leaves: root + inclusion + consistency {lists_s:.3f} s; "
        f"100 inclusion proofs from the tree {tree_s:.3f} s"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size-mb", type=int, default=1024, help="artifact size in MiB (default 1024)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per tool; the median is reported")
    parser.add_argument("--embed", action="store_true", help="put the artifact inside the tar")
    args = parser.parse_args()

    with tempfile.TemporaryDirectory(prefix="sealforge-bench-") as tmp:
        workdir = Path(tmp)
        start = time.perf_counter()
        bundle, trust, art_dir, artifact = build(workdir, args.size_mb, args.embed)
        print(f"built {args.size_mb} MiB artifact and bundle in {time.perf_counter() - start:.1f} s ({workdir})")
        verify_args = [*verifier_command(), str(bundle), "--trust", str(trust)]
        if not args.embed:
            verify_args += ["--artifacts", str(art_dir)]
        check = subprocess.run(verify_args, capture_output=True, text=True)
        if check.returncode != 0:
            print(check.stdout, check.stderr, sep="\n")
            return 1

        tools: list[tuple[str, Callable[[], None]]] = [("sealforge-verify", command(verify_args))]
        peers = [name for name in ("sha256sum", "b3sum") if shutil.which(name)]
        tools += [(name, command([name, str(artifact)])) for name in peers]
        if not peers:
            tools.append(("python hashlib.sha256", python_sha256(artifact)))

        results = {name: timed(run, args.repeat) for name, run in tools}
        ours = statistics.median(results["sealforge-verify"])
        mode = "embedded in the tar" if args.embed else "via --artifacts"
        print(f"artifact {mode}; {args.repeat} run(s) each, median wall time, file in page cache")
        print(f"{'tool':<24}{'median s':>10}{'best s':>10}{'MiB/s':>10}{'verify/peer':>13}")
        for name, times in results.items():
            med = statistics.median(times)
            ratio = "" if name == "sealforge-verify" else f"{ours / med:.2f}x"
            print(f"{name:<24}{med:>10.3f}{min(times):>10.3f}{args.size_mb / med:>10.0f}{ratio:>13}")
        per_gb = ours * 1024 / args.size_mb
        verdict = "meets" if per_gb <= GOAL_SECONDS_PER_GB else "MISSES"
        print(f"scaled to 1 GiB: {per_gb:.2f} s; {verdict} the goal of {GOAL_SECONDS_PER_GB:.0f} s")
        print(merkle_timing(args.repeat))
    return 0


if __name__ == "__main__":
    sys.exit(main())
