"""Signing keys on disk (bootstrap, mode 0600, the CLI) and the streamed tar, which must be the
verifier's own tar byte for byte."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import stat
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner
from sealforge_verify import parse_trust_file, write_members

from appliance.cli.main import cli
from appliance.evidence import keys as signing
from appliance.evidence.tarstream import TarStream


def test_bootstrap_creates_the_signing_key_once(state_dir: Path) -> None:
    runner = CliRunner()
    for _ in range(2):
        result = runner.invoke(cli, ["admin", "bootstrap", "--state-dir", str(state_dir)])
        assert result.exit_code == 0, result.output
        assert set(json.loads(result.output)) == {"tenant_id", "api_key", "tls_fingerprint"}
    folder = state_dir / "keys" / "signing"
    files = os.listdir(folder)
    assert len(files) == 1 and files[0].startswith("sealforge.local_seal-log_") and files[0].endswith(".key")
    assert stat.S_IMODE((folder / files[0]).stat().st_mode) == 0o600
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700
    assert (folder / files[0]).read_text().startswith("PRIVATE+KEY+sealforge.local/seal-log/")

    listed = runner.invoke(cli, ["admin", "keys", "signing", "--state-dir", str(state_dir)])
    keys = json.loads(listed.output)
    assert [k["key_id"].replace("/", "_") + ".key" for k in keys] == files and keys[0]["active"]
    trust = runner.invoke(cli, ["admin", "keys", "signing", "--trust-file", "--state-dir", str(state_dir)])
    assert [k.ref for k in parse_trust_file(trust.output)] == [keys[0]["key_id"]]
    # the trust anchor carries its fingerprint, which anyone can recompute from the key line alone
    key_line = trust.output.splitlines()[-1]
    raw = base64.b64decode(key_line.split("+", 2)[2])[1:]
    fingerprint = " ".join(hashlib.sha256(raw).hexdigest()[i : i + 4] for i in range(0, 64, 4))
    assert keys[0]["fingerprint"] == fingerprint
    assert f"# {keys[0]['name']} fingerprint (SHA-256): {fingerprint}\n{key_line}" in trust.output


def test_rotation_before_any_key_just_creates_one(state_dir: Path) -> None:
    result = CliRunner().invoke(cli, ["admin", "keys", "rotate-signing", "--state-dir", str(state_dir)])
    assert result.exit_code == 0, result.output
    answer = json.loads(result.output)
    assert answer["retired"] is None and answer["active"]["active"] is True


def test_the_private_key_is_read_once_per_process(db: Any, state_dir: Path, monkeypatch: Any) -> None:
    row, first = signing.active_signer(db, state_dir / "keys")
    signing._cache.clear()
    calls = []
    real = signing.load_signer

    def counting(path: Any) -> Any:
        calls.append(path)
        return real(path)

    monkeypatch.setattr(signing, "load_signer", counting)
    for _ in range(3):
        again_row, again = signing.active_signer(db, state_dir / "keys")
        assert again_row["key_id"] == row["key_id"] and again.verifier == first.verifier
    assert len(calls) == 1


@pytest.mark.parametrize(
    "sizes",
    [[0], [1], [511, 512, 513], [10240], [3 * 1024 * 1024 + 7]],
)
def test_streamed_tar_is_byte_identical_to_the_verifiers(tmp_path: Path, sizes: list[int]) -> None:
    members: dict[str, Any] = {"envelope.json": b'{"a":1}', "key_id.txt": b"k+00000000\n"}
    for i, size in enumerate(sizes):
        path = tmp_path / f"f{i}"
        path.write_bytes(os.urandom(size))
        members[f"artifacts/dir {i}/naïve-{i}.bin"] = path
    stream = TarStream(members)
    streamed = b"".join(stream)
    expected = io.BytesIO()
    write_members(expected, {k: v if isinstance(v, bytes) else str(v) for k, v in members.items()})
    assert len(streamed) == stream.size
    assert streamed == expected.getvalue()


def test_streamed_tar_refuses_bad_names_and_shrinking_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError):
        TarStream({"../escape": b"x"})
    path = tmp_path / "f"
    path.write_bytes(b"x" * 1000)
    stream = TarStream({"artifacts/f": path})
    path.write_bytes(b"x" * 10)
    with pytest.raises(OSError, match="shrank"):
        b"".join(stream)
