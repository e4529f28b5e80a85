"""`AsyncRadMahClient`: `RadMahClient` for asyncio (``await client.jobs.create(...)``,
``await job.wait()``), on `sealforge_client.AsyncClient`."""

from __future__ import annotations

import builtins
from pathlib import Path
from typing import Any

from sealforge_client import AsyncClient, RetryPolicy
from sealforge_client.tables import read_table_bytes, table_format, write_table

from radmah_sdk._common import DEFAULT_POLL_SECONDS, Artifact, create_body, pick_table, resolve


class AsyncJob:
    """`radmah_sdk.Job` with awaitable calls; ``id``, ``status`` and ``data`` are plain attributes."""

    def __init__(self, client: AsyncClient, data: dict[str, Any]) -> None:
        self._client = client
        self.data = data

    def __repr__(self) -> str:
        return f"AsyncJob(id={self.id!r}, status={self.status!r})"

    @property
    def id(self) -> str:
        return str(self.data.get("id") or self.data["job_id"])

    @property
    def status(self) -> str:
        return str(self.data["status"])

    @property
    def kind(self) -> str:
        return str(self.data.get("kind", ""))

    @property
    def error(self) -> dict[str, Any] | None:
        return self.data.get("error")

    async def refresh(self) -> AsyncJob:
        self.data = await self._client.job(self.id)
        return self

    async def wait(self, timeout_seconds: float | None = None, poll_seconds: float = DEFAULT_POLL_SECONDS) -> AsyncJob:
        """Poll (every 2 s) until the job ends; raises `TimeoutError` after ``timeout_seconds``."""
        self.data = await self._client.wait(self.id, timeout=timeout_seconds, poll=poll_seconds, max_poll=poll_seconds)
        return self

    async def artifacts(self) -> builtins.list[Artifact]:
        return [Artifact.from_dict(a) for a in await self._client.artifacts(self.id)]

    async def to_dataframe(self, table: str | None = None) -> Any:
        artifact = pick_table(await self._client.artifacts(self.id), table, self.id)
        return read_table_bytes(artifact["name"], await self._client.read_bytes(artifact["id"]))

    async def download(self, path: str | Path, table: str | None = None) -> Path:
        """`Job.download`: CSV or Parquet by ``path``'s suffix, streamed when no conversion is needed."""
        target = Path(path)
        want = table_format(target)
        if want not in ("csv", "parquet", "jsonl"):
            raise ValueError(f"{target.name}: say the format with the suffix .csv or .parquet")
        artifact = pick_table(await self._client.artifacts(self.id), table, self.id)
        if table_format(artifact["name"]) == want:
            return await self._client.download(artifact["id"], target)
        frame = read_table_bytes(artifact["name"], await self._client.read_bytes(artifact["id"]))
        return write_table(frame, target)


class AsyncJobs:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def create(
        self,
        rows: int | None = None,
        description: str | None = None,
        *,
        kind: str | None = None,
        dataset_id: str | None = None,
        params: dict[str, Any] | None = None,
        seed: int | None = None,
        queue: str | None = None,
        idempotency_key: str | None = None,
    ) -> AsyncJob:
        body = create_body(rows, description, kind, dataset_id, params)
        data = await self._client.submit(
            body["kind"],
            body["params"],
            seed=seed,
            inputs=body["inputs"],
            description=body["description"],
            rows=body["rows"],
            queue=queue,
            idempotency_key=idempotency_key,
        )
        return AsyncJob(self._client, data)

    async def get(self, job_id: str) -> AsyncJob:
        return AsyncJob(self._client, await self._client.job(job_id))

    async def list(
        self, limit: int = 20, status: str | None = None, kind: str | None = None, order: str = "desc"
    ) -> builtins.list[AsyncJob]:
        """Up to ``limit`` of the tenant's jobs, most recent first (``order="asc"``: oldest first)."""
        jobs = self._client.jobs(status=status, kind=kind, limit=limit, order=order)
        return [AsyncJob(self._client, d) async for d in jobs]

    async def cancel(self, job_id: str) -> AsyncJob:
        return AsyncJob(self._client, await self._client.cancel(job_id))

    async def rerun(self, job_id: str) -> AsyncJob:
        return AsyncJob(self._client, await self._client.rerun(job_id))


class AsyncArtifacts:
    def __init__(self, client: AsyncClient) -> None:
        self._client = client

    async def list(self, job_id: str) -> builtins.list[Artifact]:
        return [Artifact.from_dict(a) for a in await self._client.artifacts(job_id)]

    async def get(self, artifact_id: str) -> Artifact:
        return Artifact.from_dict(await self._client.artifact(artifact_id))

    async def download(self, artifact_id: str, path: str | Path) -> Path:
        return await self._client.download(artifact_id, path)


class AsyncRadMahClient:
    """`RadMahClient` for asyncio; same arguments and environment variables. Use ``async with``."""

    def __init__(
        self,
        api_key: str | None = None,
        base_url: str | None = None,
        *,
        token: str | None = None,
        timeout: float = 30.0,
        retry: RetryPolicy | None = None,
        ca_file: str | Path | None = None,
        pin_sha256: str | None = None,
    ) -> None:
        url, key = resolve(api_key, base_url, token)
        self.base_url = url.rstrip("/")
        self.native = AsyncClient(url, key, token, timeout, ca_file=ca_file, pin_sha256=pin_sha256, retry=retry)
        self.jobs = AsyncJobs(self.native)
        self.artifacts = AsyncArtifacts(self.native)

    async def aclose(self) -> None:
        await self.native.aclose()

    async def __aenter__(self) -> AsyncRadMahClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
