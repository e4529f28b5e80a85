"""`RadMahClient`: ``client.jobs`` and ``client.artifacts`` as the published SDK page shows them."""

from __future__ import annotations

import builtins
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from sealforge_client import Client, RetryPolicy
from sealforge_client.tables import read_table_bytes, table_format, write_table

from radmah_sdk._common import DEFAULT_POLL_SECONDS, Artifact, create_body, pick_table, resolve


class Job:
    """A job as last seen; `refresh` or `wait` reads it again. ``data`` holds the whole record."""

    def __init__(self, client: Client, data: dict[str, Any]) -> None:
        self._client = client
        self.data = data

    def __repr__(self) -> str:
        return f"Job(id={self.id!r}, kind={self.kind!r}, status={self.status!r})"

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
    def rows(self) -> int:
        return int(self.data.get("rows") or 0)

    @property
    def progress(self) -> float:
        return float(self.data.get("progress") or 0.0)

    @property
    def error(self) -> dict[str, Any] | None:
        return self.data.get("error")

    def refresh(self) -> Job:
        self.data = self._client.job(self.id)
        return self

    def wait(self, timeout_seconds: float | None = None, poll_seconds: float = DEFAULT_POLL_SECONDS) -> Job:
        """Poll (every 2 s) until the job succeeds, fails or is canceled; this job, updated.

        Raises `TimeoutError` if it is still going after ``timeout_seconds`` (None: wait as long
        as it takes). A failed job is returned, not raised: look at ``status`` and ``error``."""
        self.data = self._client.wait(self.id, timeout=timeout_seconds, poll=poll_seconds, max_poll=poll_seconds)
        return self

    def artifacts(self) -> list[Artifact]:
        return [Artifact.from_dict(a) for a in self._client.artifacts(self.id)]

    def to_dataframe(self, table: str | None = None) -> Any:
        """The job's table as a pandas DataFrame (needs ``pip install 'sealforge-client[dataframe]'``).

        With several tables, ``table`` names one; without it, the largest (see `pick_table`)."""
        artifact = pick_table(self._client.artifacts(self.id), table, self.id)
        return read_table_bytes(artifact["name"], self._client.read_bytes(artifact["id"]))

    def download(self, path: str | Path, table: str | None = None) -> Path:
        """Write the job's table to ``path`` as CSV or Parquet, by its suffix (.csv, .parquet).

        When the table already is in that format its bytes are streamed (resumable, no pandas);
        otherwise it is converted with pandas."""
        target = Path(path)
        want = table_format(target)
        if want not in ("csv", "parquet", "jsonl"):
            raise ValueError(f"{target.name}: say the format with the suffix .csv or .parquet")
        artifact = pick_table(self._client.artifacts(self.id), table, self.id)
        if table_format(artifact["name"]) == want:
            return self._client.download(artifact["id"], target)
        return write_table(read_table_bytes(artifact["name"], self._client.read_bytes(artifact["id"])), target)


class Jobs:
    """``client.jobs``: create, get, list, cancel, rerun."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def create(
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
    ) -> Job:
        """Submit a job: ``rows`` and a ``description`` (a mock job), or ``dataset_id`` (synthesize
        from it), or any ``kind`` with its native ``params``. Sent with an Idempotency-Key."""
        body = create_body(rows, description, kind, dataset_id, params)
        data = self._client.submit(
            body["kind"],
            body["params"],
            seed=seed,
            inputs=body["inputs"],
            description=body["description"],
            rows=body["rows"],
            queue=queue,
            idempotency_key=idempotency_key,
        )
        return Job(self._client, data)

    def get(self, job_id: str) -> Job:
        return Job(self._client, self._client.job(job_id))

    def list(
        self, limit: int = 20, status: str | None = None, kind: str | None = None, order: str = "desc"
    ) -> builtins.list[Job]:
        """Up to ``limit`` of the tenant's jobs, most recent first (``order="asc"``: oldest first)."""
        return [Job(self._client, d) for d in self._client.jobs(status=status, kind=kind, limit=limit, order=order)]

    def cancel(self, job_id: str) -> Job:
        return Job(self._client, self._client.cancel(job_id))

    def rerun(self, job_id: str) -> Job:
        """A new job with the same sealed contract and seed: identical output for deterministic kinds."""
        return Job(self._client, self._client.rerun(job_id))

    def iter(self, status: str | None = None, kind: str | None = None, order: str = "desc") -> Iterator[Job]:
        """Every job, page by page, most recent first (``order="asc"``: oldest first)."""
        return (Job(self._client, d) for d in self._client.jobs(status=status, kind=kind, order=order))


class Artifacts:
    """``client.artifacts``: list a job's outputs, download one."""

    def __init__(self, client: Client) -> None:
        self._client = client

    def list(self, job_id: str) -> builtins.list[Artifact]:
        return [Artifact.from_dict(a) for a in self._client.artifacts(job_id)]

    def get(self, artifact_id: str) -> Artifact:
        return Artifact.from_dict(self._client.artifact(artifact_id))

    def download(self, artifact_id: str, path: str | Path) -> Path:
        """The artifact's bytes to ``path`` (a file or a folder); resumes after a cut connection."""
        return self._client.download(artifact_id, path)


class RadMahClient:
    """The published SDK's client for an appliance.

    ``base_url`` defaults to ``$RADMAH_BASE_URL``, then ``$SEALFORGE_URL``; ``api_key`` to
    ``$RADMAH_API_KEY``, then ``$SEALFORGE_API_KEY``. The remaining arguments are `Client`'s
    (``token`` for a bearer token, ``retry``, ``ca_file`` / ``pin_sha256`` for HTTPS). ``native``
    is the underlying `sealforge_client.Client`, for the calls the published SDK does not have.
    """

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
        self.native = Client(url, key, token, timeout, ca_file=ca_file, pin_sha256=pin_sha256, retry=retry)
        self.jobs = Jobs(self.native)
        self.artifacts = Artifacts(self.native)

    def close(self) -> None:
        self.native.close()

    def __enter__(self) -> RadMahClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()
