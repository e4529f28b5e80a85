"""Bundle writing is deterministic; reading streams artifacts and rejects broken tars."""

from __future__ import annotations

import io
import os
import tarfile
import tracemalloc
from pathlib import Path

import pytest
from sealforge_verify.bundle import Bundle, BundleFormatError, read_bundle, write_bundle, write_members
from sealforge_verify.hashing import blake3_file, blake3_range, blake3_stream
from sealforge_verify.proofs import ConsistencyProof, InclusionProof

INCLUSION = InclusionProof(1, 3, (b"\x01" * 32, b"\x02" * 32))


def _write(dest: Path | io.BytesIO, artifacts: dict[str, bytes | Path] | None = None) -> None:
    write_bundle(
        dest,
        envelope=b'{"payload":"e30="}',
        inclusion=INCLUSION,
        checkpoint="o\n3\nAAAA\n\n— k AAAAAAAA\n",
        key_id="k+00000000",
        artifacts=artifacts,
        consistency=ConsistencyProof(1, 3, (b"\x03" * 32,)),
    )


def test_same_inputs_give_identical_bytes(tmp_path: Path) -> None:
    art = tmp_path / "big.bin"
    art.write_bytes(os.urandom(5000))
    a, b = tmp_path / "a.tar", tmp_path / "b.tar"
    _write(a, {"z.csv": b"z", "dir/big.bin": art, "a.csv": b"a"})
    os.utime(art, (1, 1))
    _write(b, {"a.csv": b"a", "dir/big.bin": art, "z.csv": b"z"})
    assert a.read_bytes() == b.read_bytes()
    with tarfile.open(a) as tf:
        infos = tf.getmembers()
    assert [i.name for i in infos] == sorted(i.name for i in infos)
    assert {(i.mtime, i.uid, i.gid, i.uname, i.gname, i.mode) for i in infos} == {(0, 0, 0, "", "", 0o644)}


def test_read_back_members_and_artifacts(tmp_path: Path) -> None:
    buf = io.BytesIO()
    _write(buf, {"data/rows.csv": b"1,2\n"})
    buf.seek(0)
    with read_bundle(buf) as bundle:
        assert bundle.envelope == b'{"payload":"e30="}'
        assert InclusionProof.from_json_bytes(bundle.inclusion) == INCLUSION
        assert bundle.key_id == b"k+00000000\n"
        assert ConsistencyProof.from_json_bytes(bundle.consistency or b"").from_size == 1
        assert bundle.artifacts == {"data/rows.csv": 4}
        assert bundle.problems == []
        with bundle.open_artifact("data/rows.csv") as fh:
            assert fh.read() == b"1,2\n"


def test_no_temp_file_left_behind(tmp_path: Path) -> None:
    _write(tmp_path / "b.tar")
    assert [p.name for p in tmp_path.iterdir()] == ["b.tar"]


def test_artifacts_are_streamed_not_loaded(tmp_path: Path) -> None:
    art = tmp_path / "big.bin"
    with open(art, "wb") as fh:
        for _ in range(48):
            fh.write(os.urandom(1024 * 1024))
    path = tmp_path / "b.tar"
    _write(path, {"big.bin": art})
    tracemalloc.start()
    try:
        with read_bundle(path) as bundle, bundle.open_artifact("big.bin") as stream:
            digest = blake3_stream(stream)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert digest == blake3_file(art)
    assert peak < 24 * 1024 * 1024, peak
    with read_bundle(path) as bundle:
        location = bundle.artifact_location("big.bin")
        assert location is not None and location[2] == art.stat().st_size
        assert blake3_range(*location) == digest


def _valid_tar(tmp_path: Path) -> bytes:
    path = tmp_path / "ok.tar"
    _write(path, {"a.csv": b"x" * 3000})
    return path.read_bytes()


@pytest.mark.parametrize("cut", ["0", "100", "512", "1500", "3000", "data_end", "one_zero_block"])
def test_truncated_tars_are_format_errors(tmp_path: Path, cut: str) -> None:
    data = _valid_tar(tmp_path)
    data_end = len(data.rstrip(b"\0"))
    data_end += -data_end % 512
    size = {"data_end": data_end, "one_zero_block": data_end + 512}.get(cut) or int(cut)
    (tmp_path / "t.tar").write_bytes(data[:size])
    with pytest.raises(BundleFormatError, match=r"truncated|empty"):
        read_bundle(tmp_path / "t.tar")


def test_corrupt_header_is_a_format_error(tmp_path: Path) -> None:
    data = bytearray(_valid_tar(tmp_path))
    with tarfile.open(fileobj=io.BytesIO(bytes(data))) as tf:
        second = tf.getmembers()[1].offset
    data[second + 10] ^= 0x20
    (tmp_path / "t.tar").write_bytes(bytes(data))
    with pytest.raises(BundleFormatError, match=r"corrupt header|truncated"):
        read_bundle(tmp_path / "t.tar")


@pytest.mark.parametrize("content", [b"", b"hello, I am a text file\n" * 100, b"\x1f\x8b" + b"\0" * 600])
def test_non_tars_are_format_errors(tmp_path: Path, content: bytes) -> None:
    (tmp_path / "x.tar").write_bytes(content)
    with pytest.raises(BundleFormatError):
        read_bundle(tmp_path / "x.tar")


def test_missing_member_and_missing_file(tmp_path: Path) -> None:
    write_members(tmp_path / "m.tar", {"envelope.json": b"{}", "checkpoint.txt": b"x"})
    with pytest.raises(BundleFormatError, match=r"lacks inclusion\.json, key_id\.txt"):
        read_bundle(tmp_path / "m.tar")
    with pytest.raises(BundleFormatError, match="cannot open"):
        read_bundle(tmp_path / "nope.tar")


def test_odd_members_are_reported_not_fatal(tmp_path: Path) -> None:
    buf = io.BytesIO()
    _write(buf, {"a.csv": b"a"})
    data = buf.getvalue().rstrip(b"\0")
    extra = io.BytesIO()
    with tarfile.open(fileobj=extra, mode="w") as tf:
        info = tarfile.TarInfo("notes.txt")
        info.size = 2
        tf.addfile(info, io.BytesIO(b"hi"))
        link = tarfile.TarInfo("artifacts/link")
        link.type = tarfile.SYMTYPE
        link.linkname = "/etc/passwd"
        tf.addfile(link)
    path = tmp_path / "odd.tar"
    path.write_bytes(data + b"\0" * (-len(data) % 512) + extra.getvalue())
    with read_bundle(path) as bundle:
        assert any("notes.txt" in p for p in bundle.problems)
        assert any("not a regular file" in p for p in bundle.problems)


def test_in_memory_bundle_and_bad_names() -> None:
    members = {"envelope.json": b"{}", "inclusion.json": b"{}", "checkpoint.txt": b"", "key_id.txt": b""}
    bundle = Bundle.from_members({**members, "artifacts/x": b"data"})
    assert bundle.artifacts == {"x": 4}
    assert bundle.open_artifact("x").read() == b"data"
    with pytest.raises(ValueError):
        _write(io.BytesIO(), {"../escape": b""})
    with pytest.raises(BundleFormatError, match="over the"):
        Bundle.from_members({**members, "key_id.txt": b"k" * 5000})
