"""`Client`: the REST API as methods. Every call raises `SealforgeError` for an error answer."""

from __future__ import annotations

import json
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import IO, Any

import httpx

from sealforge_client.errors import SealforgeError
from sealforge_client.tls import verify_setting

TERMINAL = frozenset({"succeeded", "failed", "canceled"})
CHUNK = 1 << 20


class Client:
    """A session with one appliance. Give an API key (`sl_live_…`) or a bearer token.

    For an https:// appliance whose certificate no system CA vouches for, give ``ca_file`` (a PEM
    file to trust, e.g. the appliance's own certificate) or ``pin_sha256`` (its SHA-256
    fingerprint, as `sealforge admin bootstrap` prints it; checked before anything is sent).
    """

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.BaseTransport | None = None,
        ca_file: str | Path | None = None,
        pin_sha256: str | None = None,
    ) -> None:
        verify = verify_setting(base_url, ca_file, pin_sha256)
        headers = {"User-Agent": "sealforge-client/0.1"}
        if api_key:
            headers["X-API-Key"] = api_key
        elif token:
            headers["Authorization"] = f"Bearer {token}"
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"), headers=headers, timeout=timeout, transport=transport, verify=verify
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------------
    def _check(self, response: httpx.Response) -> httpx.Response:
        if response.status_code >= 400:
            response.read()
            try:
                body = response.json()
            except ValueError:
                body = None
            raise SealforgeError.from_response(response.status_code, body, response.text)
        return response

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._check(self._http.request(method, path, **kwargs))
        return response.json() if response.content else None

    def _pages(self, path: str, params: dict[str, Any]) -> Iterator[dict[str, Any]]:
        after = ""
        while True:
            page = self._json("GET", path, params={**params, "limit": 200, "after": after})
            yield from page["data"]
            if not page["has_more"]:
                return
            after = page["next_after"]

    # -- identity and credits ------------------------------------------------------------------------
    def whoami(self) -> dict[str, Any]:
        return dict(self._json("GET", "/v1/auth/whoami"))

    def balance(self) -> float:
        return float(self._json("GET", "/v1/billing/balance")["credits"])

    def estimate(self, kind: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return dict(self._json("POST", "/v1/estimate", json={"kind": kind, "params": params or {}}))

    # -- jobs ----------------------------------------------------------------------------------------
    def submit(
        self,
        kind: str,
        params: dict[str, Any] | None = None,
        *,
        seed: int | None = None,
        inputs: list[str] | None = None,
        description: str = "",
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        """Submit a job; retried safely with one Idempotency-Key (a fresh one unless given)."""
        body: dict[str, Any] = {
            "kind": kind,
            "params": params or {},
            "inputs": inputs or [],
            "description": description,
        }
        if seed is not None:
            body["seed"] = seed
        headers = {"Idempotency-Key": idempotency_key or uuid.uuid4().hex}
        return dict(self._json("POST", "/v1/jobs", json=body, headers=headers))

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/v1/jobs/{job_id}"))

    def jobs(self, status: str | None = None, kind: str | None = None) -> Iterator[dict[str, Any]]:
        params = {k: v for k, v in (("status", status), ("kind", kind)) if v}
        return self._pages("/v1/jobs", params)

    def cancel(self, job_id: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/v1/jobs/{job_id}/cancel"))

    def rerun(self, job_id: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/v1/jobs/{job_id}/rerun"))

    def wait(self, job_id: str, timeout: float = 3600.0, poll: float = 0.2) -> dict[str, Any]:
        """Block until the job ends; returns it. Raises TimeoutError after ``timeout`` seconds."""
        deadline = time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in TERMINAL:
                return job
            if time.monotonic() > deadline:
                raise TimeoutError(f"{job_id} is still {job['status']} after {timeout} s")
            time.sleep(poll)
            poll = min(poll * 1.5, 2.0)

    def events(self, job_id: str, after: int = 0) -> Iterator[dict[str, Any]]:
        """The job's events (server-sent), replayed after ``after`` and followed until the job ends."""
        headers = {"Last-Event-ID": str(after), "Accept": "text/event-stream"}
        with self._http.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=None) as response:
            self._check(response)
            fields: dict[str, str] = {}
            for line in response.iter_lines():
                if line == "":
                    if fields.get("event") and fields["event"] != "end":
                        yield {
                            "id": int(fields.get("id", "0")),
                            "event": fields["event"],
                            "data": json.loads(fields.get("data", "{}")),
                        }
                    fields = {}
                elif not line.startswith(":") and ": " in line:
                    key, value = line.split(": ", 1)
                    fields[key] = value

    # -- datasets and artifacts ----------------------------------------------------------------------
    def upload(self, source: str | Path | IO[bytes], name: str | None = None, fmt: str | None = None) -> dict[str, Any]:
        """Upload a file (streamed) as a dataset."""
        params = {k: v for k, v in (("name", name), ("format", fmt)) if v}
        if isinstance(source, str | Path):
            path = Path(source)
            params.setdefault("name", path.name)
            with path.open("rb") as fh:
                return self._upload(params, fh)
        return self._upload(params, source)

    def _upload(self, params: dict[str, str], fh: IO[bytes]) -> dict[str, Any]:
        def chunks() -> Iterator[bytes]:
            while chunk := fh.read(CHUNK):
                yield chunk

        headers = {"Content-Type": "application/octet-stream"}
        try:  # a known length lets any WSGI server read the streamed body, chunked or not
            start = fh.tell()
            headers["Content-Length"] = str(fh.seek(0, 2) - start)
            fh.seek(start)
        except (OSError, ValueError):
            pass
        return dict(self._json("POST", "/v1/datasets", params=params, content=chunks(), headers=headers))

    def datasets(self) -> Iterator[dict[str, Any]]:
        return self._pages("/v1/datasets", {})

    def preview(self, schema: dict[str, Any], rows: int = 20, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
        return dict(self._json("POST", "/v1/preview", json={"schema": schema, "rows": rows, "seed": seed})["tables"])

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        return list(self._pages("/v1/artifacts", {"job_id": job_id}))

    def download(self, artifact_id: str, dest: str | Path) -> Path:
        """Stream an artifact to ``dest`` (a file or a folder)."""
        meta = self._json("GET", f"/v1/artifacts/{artifact_id}")
        target = Path(dest)
        if target.is_dir():
            target = target / meta["name"]
        self._stream_to(f"/v1/artifacts/{artifact_id}/download", target, {})
        return target

    def evidence(self, job_id: str, dest: str | Path, include_artifacts: bool = False) -> Path:
        """Download a succeeded job's evidence bundle (.tar) for `sealforge-verify`."""
        target = Path(dest)
        if target.is_dir():
            target = target / f"{job_id}.evidence.tar"
        self._stream_to(f"/v1/evidence/{job_id}", target, {"include_artifacts": str(include_artifacts).lower()})
        return target

    def _stream_to(self, path: str, target: Path, params: dict[str, str]) -> None:
        partial = target.with_name(target.name + ".partial")
        with self._http.stream("GET", path, params=params, timeout=None) as response:
            self._check(response)
            with partial.open("wb") as out:
                for chunk in response.iter_bytes(CHUNK):
                    out.write(chunk)
        partial.replace(target)

    def read_table(self, artifact_id: str) -> Any:
        """An artifact (Parquet, CSV or JSON Lines) as a pandas DataFrame (needs the pandas extra)."""
        import io

        import pandas as pd

        meta = self._json("GET", f"/v1/artifacts/{artifact_id}")
        data = self._check(self._http.get(f"/v1/artifacts/{artifact_id}/download")).content
        if meta["name"].endswith(".parquet"):
            return pd.read_parquet(io.BytesIO(data))
        if meta["name"].endswith(".csv"):
            return pd.read_csv(io.BytesIO(data))
        return pd.read_json(io.BytesIO(data), lines=True)
