"""`radmah_sdk` (and the native clients under it) against a real appliance on loopback: the API
in a subprocess, real workers, and a real HTTP proxy in front that fails or cuts on cue.

The published SDK page's examples run as written, with only the base URL (RADMAH_BASE_URL) and
the key substituted."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import blake3
import httpx
import pandas as pd
import pytest
from radmah_sdk import AsyncRadMahClient, Job, RadMahClient
from sealforge_client import NO_RETRY, Client, RetryPolicy, SealforgeError

from tests.conftest import mock_schema
from tests.sdk.appliance_proxy import Appliance, running_appliance, running_proxy

FAST_RETRY = RetryPolicy(backoff_s=0.01)
SDK_DIR = Path(__file__).resolve().parents[2] / "sdk"


@pytest.fixture(scope="module")
def appliance(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Appliance]:
    with running_appliance(tmp_path_factory.mktemp("appliance")) as running:
        yield running


@pytest.fixture
def client(appliance: Appliance, monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Iterator[RadMahClient]:
    """The page's `RadMahClient(api_key=...)`, the appliance's address from the environment; run in tmp_path."""
    monkeypatch.setenv("RADMAH_BASE_URL", appliance.url)
    monkeypatch.chdir(tmp_path)
    with RadMahClient(api_key=appliance.key) as sdk:
        yield sdk


@pytest.fixture(scope="module")
def table_job(appliance: Appliance) -> dict[str, Any]:
    """A succeeded mock job of one Parquet table, made with the native client."""
    with Client(appliance.url, api_key=appliance.key) as native:
        job = native.submit("mock", {"schema": mock_schema(3000), "format": "parquet"}, seed=5)
        return native.wait(job["id"], timeout=120)


def test_the_page_examples_with_a_description(client: RadMahClient) -> None:
    try:
        job = client.jobs.create(rows=100_000, description="customer transaction records")
    except SealforgeError as exc:
        if exc.status == 400:
            pytest.skip(f"this appliance does not take a job from a description yet ({exc.code}: {exc.message})")
        raise
    job.wait()
    assert job.status == "succeeded", job.data
    assert job.id.startswith("job_")
    assert client.jobs.get(job_id=job.id).status == "succeeded"
    assert job.id in [j.id for j in client.jobs.list(limit=10)]
    df = job.to_dataframe()
    assert len(df) > 0
    job.download("output.csv")
    assert pd.read_csv("output.csv").shape == df.shape
    artifacts = client.artifacts.list(job_id=job.id)
    if any("artifact_type" not in a.data for a in artifacts):
        pytest.skip("this appliance's artifacts have no artifact_type yet (another #15 helper adds it)")
    for a in artifacts:
        assert a.artifact_type and len(a.content_hash) == 64
    client.artifacts.download(artifact_id=artifacts[0].id, path="artifact.bin")
    assert blake3.blake3(Path("artifact.bin").read_bytes()).hexdigest() == artifacts[0].content_hash
    rerun = client.jobs.rerun(job_id=job.id)
    rerun.wait()
    assert [a.content_hash for a in client.artifacts.list(job_id=rerun.id)] == [a.content_hash for a in artifacts]


def test_the_page_examples_on_a_schema_job(client: RadMahClient, table_job: dict[str, Any]) -> None:
    """The same calls on a job made from a schema, so they are covered whatever the description support."""
    job = client.jobs.get(job_id=table_job["id"])
    assert isinstance(job, Job) and job.status == "succeeded" and job.rows == 3000
    assert job.wait(timeout_seconds=300) is job
    assert job.id in [j.id for j in client.jobs.list(limit=10)]
    assert len(client.jobs.list(limit=1)) == 1
    df = job.to_dataframe()
    assert list(df.columns) == ["id", "flow", "site"] and len(df) == 3000
    job.download("output.csv")  # converted from the Parquet artifact
    pd.testing.assert_frame_equal(pd.read_csv("output.csv"), df)
    job.download("output.parquet")  # streamed as it is
    pd.testing.assert_frame_equal(pd.read_parquet("output.parquet"), df)
    (artifact,) = client.artifacts.list(job_id=job.id)
    path = client.artifacts.download(artifact_id=artifact.id, path="artifact.bin")
    assert blake3.blake3(path.read_bytes()).hexdigest() == artifact.content_hash
    assert Path("output.parquet").read_bytes() == path.read_bytes()
    rerun = client.jobs.rerun(job_id=job.id)
    assert rerun.wait(timeout_seconds=120).status == "succeeded"
    assert [a.content_hash for a in client.artifacts.list(job_id=rerun.id)] == [artifact.content_hash]
    with pytest.raises(ValueError, match=r"\.csv or \.parquet"):
        job.download("output.xlsx")


def test_wait_raises_timeout_error_and_cancel(client: RadMahClient) -> None:
    # the gpu queue has no worker in this appliance: the job stays queued
    job = client.jobs.create(kind="mock", params={"schema": mock_schema(10)}, queue="gpu")
    with pytest.raises(TimeoutError, match=job.id):
        job.wait(timeout_seconds=0.5)
    assert job.refresh().status == "queued"
    assert client.jobs.cancel(job_id=job.id).status == "canceled"
    assert job.wait(timeout_seconds=5).status == "canceled"


def test_base_url_and_key_from_the_environment(appliance: Appliance, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("RADMAH_BASE_URL", raising=False)
    monkeypatch.delenv("SEALFORGE_URL", raising=False)
    with pytest.raises(ValueError, match="RADMAH_BASE_URL or SEALFORGE_URL"):
        RadMahClient(api_key=appliance.key)
    monkeypatch.setenv("SEALFORGE_URL", appliance.url)
    monkeypatch.setenv("SEALFORGE_API_KEY", appliance.key)
    with RadMahClient() as sdk:
        assert sdk.base_url == appliance.url
        assert isinstance(sdk.jobs.list(limit=5), list)


def test_a_submit_is_retried_past_two_failures_with_one_idempotency_key(appliance: Appliance) -> None:
    with Client(appliance.url, api_key=appliance.key) as direct:
        before = len(list(direct.jobs()))
    with running_proxy(appliance.url, {"/v1/jobs": ["503", "429"]}) as proxy:
        with RadMahClient(api_key=appliance.key, base_url=proxy.url, retry=FAST_RETRY) as sdk:
            job = sdk.jobs.create(kind="mock", params={"schema": mock_schema(10)}, seed=1)
            assert job.wait(timeout_seconds=120).status == "succeeded"
        posts = [s for s in proxy.requests_to("/v1/jobs") if s.method == "POST"]
        assert [(s.answered, s.status) for s in posts] == [("503", 503), ("429", 429), ("forwarded", 202)]
        keys = {s.headers.get("Idempotency-Key") for s in posts}
        assert len(keys) == 1 and None not in keys
    with Client(appliance.url, api_key=appliance.key) as direct:
        assert len(list(direct.jobs())) == before + 1
    with running_proxy(appliance.url, {"/v1/auth/whoami": ["503"]}) as proxy:
        with (
            Client(proxy.url, api_key=appliance.key, retry=NO_RETRY) as native,
            pytest.raises(SealforgeError) as caught,
        ):
            native.whoami()
        assert caught.value.status == 503


def test_a_cut_download_resumes_where_it_stopped(
    appliance: Appliance, table_job: dict[str, Any], tmp_path: Path
) -> None:
    with Client(appliance.url, api_key=appliance.key) as direct:
        (artifact,) = direct.artifacts(table_job["id"])
        whole = direct.read_bytes(artifact["id"])
    half = len(whole) // 2
    with running_proxy(appliance.url, {"/download": ["cut"]}) as proxy:
        with RadMahClient(api_key=appliance.key, base_url=proxy.url, retry=FAST_RETRY) as sdk:
            path = sdk.artifacts.download(artifact_id=artifact["id"], path=tmp_path / "table.parquet")
        first, second = proxy.requests_to("/download")
    assert path.read_bytes() == whole and not (tmp_path / "table.parquet.partial").exists()
    assert (first.answered, first.status) == ("cut", 200)
    assert second.headers["Range"] == f"bytes={half}-" and second.headers["If-Range"] == f'"{artifact["blake3"]}"'
    assert second.status == 206


def test_the_download_route_serves_ranges(appliance: Appliance, table_job: dict[str, Any]) -> None:
    headers = {"X-API-Key": appliance.key}
    with Client(appliance.url, api_key=appliance.key) as direct:
        (artifact,) = direct.artifacts(table_job["id"])
    url = f"{appliance.url}/v1/artifacts/{artifact['id']}/download"
    whole = httpx.get(url, headers=headers)
    assert whole.headers["Accept-Ranges"] == "bytes" and whole.headers["ETag"] == f'"{artifact["blake3"]}"'
    size = len(whole.content)
    tail = httpx.get(url, headers={**headers, "Range": "bytes=100-", "If-Range": whole.headers["ETag"]})
    assert tail.status_code == 206 and tail.content == whole.content[100:]
    assert tail.headers["Content-Range"] == f"bytes 100-{size - 1}/{size}"
    stale = httpx.get(url, headers={**headers, "Range": "bytes=100-", "If-Range": '"another"'})
    assert stale.status_code == 200 and stale.content == whole.content
    past = httpx.get(url, headers={**headers, "Range": f"bytes={size}-"})
    assert past.status_code == 416 and past.headers["Content-Range"] == f"bytes */{size}"


def test_the_async_client_through_failures_and_a_cut(
    appliance: Appliance, table_job: dict[str, Any], tmp_path: Path
) -> None:
    async def scenario(base_url: str) -> tuple[str, pd.DataFrame, Path]:
        async with AsyncRadMahClient(api_key=appliance.key, base_url=base_url, retry=FAST_RETRY) as sdk:
            job = await sdk.jobs.create(kind="mock", params={"schema": mock_schema(50), "format": "csv"}, seed=2)
            await job.wait(timeout_seconds=120)
            listed = await sdk.jobs.list(limit=200)
            assert job.id in [j.id for j in listed]
            (artifact,) = await sdk.artifacts.list(job_id=job.id)
            path = await sdk.artifacts.download(artifact_id=artifact.id, path=tmp_path / "async.csv")
            assert blake3.blake3(path.read_bytes()).hexdigest() == artifact.content_hash
            frame = await job.to_dataframe()
            return job.status, frame, path

    with running_proxy(appliance.url, {"/v1/jobs": ["503", "503"], "/download": ["cut"]}) as proxy:
        status, frame, path = asyncio.run(scenario(proxy.url))
        posts = [s for s in proxy.requests_to("/v1/jobs") if s.method == "POST"]
        downloads = proxy.requests_to("/download")
    assert status == "succeeded" and len(frame) == 50
    pd.testing.assert_frame_equal(pd.read_csv(path), frame)
    assert [s.status for s in posts] == [503, 503, 202] and len({s.headers["Idempotency-Key"] for s in posts}) == 1
    assert [(s.answered, s.status) for s in downloads] == [("cut", 200), ("forwarded", 206), ("forwarded", 200)]
    assert downloads[1].headers["Range"] == f"bytes={path.stat().st_size // 2}-"


def test_pip_install_into_a_bare_venv_pulls_no_server_dependency(tmp_path: Path) -> None:
    venv = tmp_path / "venv"
    # Barer than a user's venv: not even pip. This interpreter's pip installs into it (`--python`),
    # resolving as the venv's own pip would, without ensurepip copying pip into the venv first
    # (about 5 s of CPU, a quarter of this test).
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", str(python)]
    build = tmp_path / "sdk"  # a copy, so pip's build leaves nothing in the checkout
    subprocess.run(["cp", "-r", str(SDK_DIR), str(build)], check=True)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONPATH", "VIRTUAL_ENV")}
    subprocess.run([*pip, "install", "-q", str(build)], check=True, env=env, capture_output=True)
    listed = subprocess.run([*pip, "list", "--format=freeze"], check=True, env=env, capture_output=True,
                            text=True).stdout.lower()
    names = {line.split("==")[0] for line in listed.splitlines()}
    assert "sealforge-client" in names and "httpx" in names
    assert not names & {"flask", "sdv", "torch", "pandas", "pyarrow", "sealforge", "marshmallow", "gunicorn"}, names
    probe = (
        "import radmah_sdk, sealforge_client, sys; assert 'flask' not in sys.modules; print(radmah_sdk.RadMahClient)"
    )
    out = subprocess.run([str(python), "-c", probe], check=True, env=env, capture_output=True, text=True, cwd=tmp_path)
    assert "RadMahClient" in out.stdout
    typed = list((venv / "lib").glob("python3*/site-packages/*/py.typed"))
    assert {p.parent.name for p in typed} >= {"radmah_sdk", "sealforge_client"}
