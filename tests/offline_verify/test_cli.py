"""The ``sealforge-verify`` command as an auditor runs it: exit codes and output. The first test
runs it as a separate process (and the last its console script); the others call its ``main`` in
this process, the same code without a Python start-up per call (the ``cli`` fixture)."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest
from sealforge_verify.keys import format_trust_file, generate_signer
from sealforge_verify.merkle import MerkleTree
from sealforge_verify.sealing import make_checkpoint


def test_end_to_end_pass_text_and_json(factory, cli_process) -> None:  # type: ignore[no-untyped-def]
    cli = cli_process  # a separate process: its stdout, its exit status
    sealed = factory.build(artifacts={"rows.csv": b"x,y\n1,2\n"})
    proc = cli(sealed.bundle, "--trust", sealed.trust)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    for name in ("bundle_format", "trusted_key", "dsse_signature", "statement_shape", "inclusion_proof"):
        assert f"PASS  {name}" in proc.stdout
    assert "artifact_digest:rows.csv" in proc.stdout
    assert "SKIP  consistency" in proc.stdout
    assert "Result: VERIFIED" in proc.stdout
    proc = cli(sealed.bundle, "--trust", sealed.trust, "--json")
    assert proc.returncode == 0
    doc = json.loads(proc.stdout)
    assert doc["ok"] is True
    assert {c["name"]: c["ok"] for c in doc["checks"]}["checkpoint_signature"] is True
    assert {c["status"] for c in doc["checks"]} == {"pass", "skip"}


def test_artifacts_dir_and_tampered_artifact(factory, cli) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build(embed=False)
    skipped = cli(sealed.bundle, "--trust", sealed.trust)
    assert skipped.returncode == 0 and "NOT CHECKED" in skipped.stdout
    ok = cli(sealed.bundle, "--trust", sealed.trust, "--artifacts", sealed.artifacts_dir)
    assert ok.returncode == 0 and "PASS  artifact_digest:rows.csv" in ok.stdout
    (sealed.artifacts_dir / "rows.csv").write_bytes(b"tampered")
    bad = cli(sealed.bundle, "--trust", sealed.trust, "--artifacts", sealed.artifacts_dir, "--json")
    assert bad.returncode == 1
    failed = [c["name"] for c in json.loads(bad.stdout)["checks"] if c["status"] == "fail"]
    assert failed == ["artifact_digest:rows.csv"]


def test_flipped_byte_inside_the_tar_fails(factory, cli) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    data = bytearray(sealed.bundle.read_bytes())
    at = data.index(b'"payloadType"')
    data[at + 20] ^= 0x01
    sealed.bundle.write_bytes(bytes(data))
    proc = cli(sealed.bundle, "--trust", sealed.trust)
    assert proc.returncode == 1
    assert "FAIL  inclusion_proof" in proc.stdout and "NOT VERIFIED" in proc.stdout


def test_foreign_key_exits_1(factory, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build(signer=generate_signer("intruder"))
    proc = cli(sealed.bundle, "--trust", factory.trust)
    assert proc.returncode == 1
    assert "FAIL  trusted_key" in proc.stdout


def test_consistency_via_cli(factory, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    tree = MerkleTree()
    factory.filler(tree, 8)
    kept = tmp_path / "kept-checkpoint.txt"
    kept.write_bytes(make_checkpoint("sealforge.test/seal-log", tree, factory.signer))
    factory.filler(tree, 1000)
    sealed = factory.build(tree=tree)
    missing = cli(sealed.bundle, "--trust", sealed.trust, "--prev-checkpoint", kept)
    assert missing.returncode == 1 and "--consistency-proof" in missing.stdout
    proof = tmp_path / "proof.json"
    proof.write_text(
        json.dumps(
            {
                "from_size": 8,
                "to_size": len(tree),
                "hashes": [__import__("base64").b64encode(h).decode() for h in tree.consistency_proof(8)],
            }
        )
    )
    ok = cli(sealed.bundle, "--trust", sealed.trust, "--prev-checkpoint", kept, "--consistency-proof", proof)
    assert ok.returncode == 0, ok.stdout
    assert "PASS  consistency" in ok.stdout


def _usage_error(proc) -> str:  # type: ignore[no-untyped-def]
    assert proc.returncode == 2, (proc.returncode, proc.stdout, proc.stderr)
    lines = proc.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("sealforge-verify: error:"), proc.stderr
    return lines[0]


def test_truncated_text_and_missing_bundles_exit_2(factory, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    data = sealed.bundle.read_bytes()
    truncated = tmp_path / "truncated.tar"
    truncated.write_bytes(data[: len(data) // 3])
    assert "truncated" in _usage_error(cli(truncated, "--trust", sealed.trust))
    text = tmp_path / "notes.txt"
    text.write_text("this is not a bundle\n" * 50)
    assert "not a readable tar" in _usage_error(cli(text, "--trust", sealed.trust))
    assert "does not exist" in _usage_error(cli(tmp_path / "missing.tar", "--trust", sealed.trust))


@pytest.mark.parametrize(
    ("case", "message"),
    [
        ("no_trust_arg", "--trust"),
        ("missing_trust", "cannot read trust file"),
        ("bad_trust", "line 1"),
        ("artifacts_not_dir", "not a directory"),
        ("missing_prev", "cannot read --prev-checkpoint"),
        ("missing_proof", "cannot read --consistency-proof"),
    ],
)
def test_bad_usage_exits_2(factory, cli, tmp_path: Path, case: str, message: str) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    bad_trust = tmp_path / "bad-trust.txt"
    bad_trust.write_text("this is not a key\n")
    args: dict[str, list[object]] = {
        "no_trust_arg": [sealed.bundle],
        "missing_trust": [sealed.bundle, "--trust", tmp_path / "nope.txt"],
        "bad_trust": [sealed.bundle, "--trust", bad_trust],
        "artifacts_not_dir": [sealed.bundle, "--trust", sealed.trust, "--artifacts", sealed.trust],
        "missing_prev": [sealed.bundle, "--trust", sealed.trust, "--prev-checkpoint", tmp_path / "x"],
        "missing_proof": [sealed.bundle, "--trust", sealed.trust, "--consistency-proof", tmp_path / "x"],
    }
    assert message in _usage_error(cli(*args[case]))


def test_trust_file_with_several_keys(factory, cli, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    sealed = factory.build()
    trust = tmp_path / "rotation.txt"
    trust.write_text(format_trust_file([generate_signer("new").verifier, sealed.signer.verifier], "rotation"))
    assert cli(sealed.bundle, "--trust", trust).returncode == 0


def test_console_script_is_installed(tmp_path: Path) -> None:
    import subprocess

    script = Path(sys.executable).parent / "sealforge-verify"
    if not script.exists():
        pytest.skip("console script not installed in this environment")
    proc = subprocess.run([str(script), "--help"], capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert proc.returncode == 0 and "--prev-checkpoint" in proc.stdout
