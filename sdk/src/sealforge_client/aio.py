"""`AsyncClient`: `Client` for asyncio, call for call, with the same retries and resumable downloads.

The decisions (what to retry, how long to wait, the request bodies, Range bookkeeping) come from
`sealforge_client._core`, shared with the sync client; only sending and sleeping differ here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import httpx

from sealforge_client._core import (
    TERMINAL,
    Resume,
    RetryPolicy,
    SseParser,
    auth_headers,
    cosignature_body,
    dropped,
    error_of,
    evidence_params,
    evidence_target,
    submit_body,
    synthesize_params,
    user_path,
    with_idempotency,
    witness_path,
)
from sealforge_client.tables import read_table_bytes
from sealforge_client.tls import verify_setting

Progress = Callable[[int, "int | None"], None]


class AsyncClient:
    """An asyncio session with one appliance; the arguments are `Client`'s. Use ``async with``."""

    def __init__(
        self,
        base_url: str,
        api_key: str | None = None,
        token: str | None = None,
        timeout: float = 30.0,
        transport: httpx.AsyncBaseTransport | None = None,
        ca_file: str | Path | None = None,
        pin_sha256: str | None = None,
        retry: RetryPolicy | None = None,
    ) -> None:
        verify = verify_setting(base_url, ca_file, pin_sha256)
        self.retry = retry or RetryPolicy()
        self._http = httpx.AsyncClient(
            base_url=base_url.rstrip("/"),
            headers=auth_headers(api_key, token),
            timeout=timeout,
            transport=transport,
            verify=verify,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    # -- plumbing ------------------------------------------------------------------------------------
    async def _send(
        self, method: str, path: str, *, headers: dict[str, str] | None = None, **kwargs: Any
    ) -> httpx.Response:
        headers = with_idempotency(method, headers)
        attempt = 0
        while True:
            try:
                response = await self._http.request(method, path, headers=headers, **kwargs)
            except httpx.TransportError as exc:
                wait = self.retry.delay(attempt) if dropped(exc) else None
                if wait is None:
                    raise
            else:
                wait = self.retry.after(attempt, response)
                if wait is None:
                    if response.status_code >= 400:
                        raise error_of(response)
                    return response
            await asyncio.sleep(wait)
            attempt += 1

    async def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = await self._send(method, path, **kwargs)
        return response.json() if response.content else None

    async def _pages(
        self, path: str, params: dict[str, Any], limit: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        after, left = "", limit
        while left is None or left > 0:
            size = 200 if left is None else min(left, 200)
            page = await self._json("GET", path, params={**params, "limit": size, "after": after})
            for item in page["data"]:
                yield item
            left = None if left is None else left - len(page["data"])
            if not page["has_more"]:
                return
            after = page["next_after"]

    # -- identity and credits ------------------------------------------------------------------------
    async def whoami(self) -> dict[str, Any]:
        return dict(await self._json("GET", "/v1/auth/whoami"))

    async def balance(self) -> float:
        return float((await self._json("GET", "/v1/billing/balance"))["credits"])

    async def estimate(self, kind: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        return dict(await self._json("POST", "/v1/estimate", json={"kind": kind, "params": params or {}}))

    # -- jobs ----------------------------------------------------------------------------------------
    async def submit(
        self,
        kind: str | None,
        params: dict[str, Any] | None = None,
        *,
        seed: int | None = None,
        inputs: list[str] | None = None,
        description: str = "",
        rows: int | None = None,
        queue: str | None = None,
        idempotency_key: str | None = None,
    ) -> dict[str, Any]:
        body = submit_body(kind, params, seed, inputs, description, rows, queue)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(await self._json("POST", "/v1/jobs", json=body, headers=headers))

    async def synthesize(
        self,
        rows: int,
        *,
        model_id: str | None = None,
        dataset_id: str | None = None,
        conditions: dict[str, Any] | None = None,
        class_column: str | None = None,
        class_proportions: dict[str, float] | None = None,
        seed: int | None = None,
        **params: Any,
    ) -> dict[str, Any]:
        """Submit a ``synthesize`` job: ``rows`` from ``model_id``, or trained on ``dataset_id``
        first (``synthesizer=...`` and other training params as keywords). By class: a condition
        on the class column samples one class (``conditions={"attack": 1}``); ``class_column`` (when
        training here) fits a model per class and ``class_proportions`` sets each class's share."""
        body = synthesize_params(model_id, rows, conditions, class_column, class_proportions, params)
        inputs = [dataset_id] if dataset_id else None
        return await self.submit("synthesize", body, seed=seed, inputs=inputs)

    async def job(self, job_id: str) -> dict[str, Any]:
        return dict(await self._json("GET", f"/v1/jobs/{job_id}"))

    def jobs(
        self, status: str | None = None, kind: str | None = None, limit: int | None = None, order: str = "desc"
    ) -> AsyncIterator[dict[str, Any]]:
        """The tenant's jobs, newest first (``order="asc"``: oldest first); at most ``limit``."""
        params = {k: v for k, v in (("status", status), ("kind", kind), ("order", order)) if v}
        return self._pages("/v1/jobs", params, limit)

    async def cancel(self, job_id: str) -> dict[str, Any]:
        return dict(await self._json("POST", f"/v1/jobs/{job_id}/cancel"))

    async def rerun(self, job_id: str) -> dict[str, Any]:
        return dict(await self._json("POST", f"/v1/jobs/{job_id}/rerun"))

    async def wait(
        self, job_id: str, timeout: float | None = 3600.0, poll: float = 0.2, max_poll: float = 2.0
    ) -> dict[str, Any]:
        """Until the job ends; raises TimeoutError after ``timeout`` seconds (None: never)."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = await self.job(job_id)
            if job["status"] in TERMINAL:
                return job
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"{job_id} is still {job['status']} after {timeout} s")
            await asyncio.sleep(poll if left is None else min(poll, left))
            poll = min(poll * 1.5, max_poll)

    async def events(self, job_id: str, after: int = 0) -> AsyncIterator[dict[str, Any]]:
        headers = {"Last-Event-ID": str(after), "Accept": "text/event-stream"}
        async with self._http.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=None) as response:
            if response.status_code >= 400:
                await response.aread()
                raise error_of(response)
            parser = SseParser()
            async for line in response.aiter_lines():
                if (event := parser.feed(line)) is not None:
                    yield event

    # -- artifacts -----------------------------------------------------------------------------------
    async def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        return [item async for item in self._pages("/v1/artifacts", {"job_id": job_id})]

    async def artifact(self, artifact_id: str) -> dict[str, Any]:
        return dict(await self._json("GET", f"/v1/artifacts/{artifact_id}"))

    async def download(self, artifact_id: str, dest: str | Path, progress: Progress | None = None) -> Path:
        """Stream an artifact to ``dest`` (a file or a folder), resuming after a cut connection."""
        meta = await self.artifact(artifact_id)
        target = Path(dest)
        if target.is_dir():
            target = target / meta["name"]
        await self._stream_to(f"/v1/artifacts/{artifact_id}/download", Resume(target, meta.get("blake3")), {}, progress)
        return target

    async def evidence(
        self, job_id: str, dest: str | Path, include_artifacts: bool = False, witnessed: bool = False
    ) -> Path:
        target = evidence_target(dest, job_id)
        params = evidence_params(include_artifacts, witnessed)
        await self._stream_to(f"/v1/evidence/{job_id}", Resume(target), params, None)
        return target

    # -- users of the tenant (`admin`) ---------------------------------------------------------------
    def users(self) -> AsyncIterator[dict[str, Any]]:
        return self._pages("/v1/users", {})

    async def create_user(self, email: str, password: str, scopes: list[str] | None = None) -> dict[str, Any]:
        body = {"email": email, "password": password, "scopes": scopes or ["read"]}
        return dict(await self._json("POST", "/v1/users", json=body))

    async def disable_user(self, user_id: str) -> dict[str, Any]:
        return dict(await self._json("POST", f"{user_path(user_id)}/disable"))

    async def enable_user(self, user_id: str) -> dict[str, Any]:
        return dict(await self._json("POST", f"{user_path(user_id)}/enable"))

    async def set_user_password(self, user_id: str, password: str) -> dict[str, Any]:
        return dict(await self._json("POST", f"{user_path(user_id)}/password", json={"password": password}))

    # -- witnesses of the seal log -------------------------------------------------------------------
    async def witnesses(self) -> list[dict[str, Any]]:
        return list((await self._json("GET", "/v1/seals/witnesses"))["data"])

    async def add_witness(self, verifier_key: str, description: str = "") -> dict[str, Any]:
        body = {"verifier_key": verifier_key.strip(), "description": description}
        return dict(await self._json("POST", "/v1/seals/witnesses", json=body))

    async def remove_witness(self, key_id: str) -> dict[str, Any]:
        return dict(await self._json("DELETE", witness_path(key_id)))

    async def send_cosignatures(
        self, note: str | None = None, *, tree_size: int | None = None, lines: list[str] | None = None
    ) -> dict[str, Any]:
        body = cosignature_body(note, tree_size, lines)
        return dict(await self._json("POST", "/v1/seals/cosignatures", json=body))

    async def _stream_to(self, path: str, resume: Resume, params: dict[str, str], progress: Progress | None) -> None:
        """`Client._stream_to` for asyncio (the file writes are small and local, so they stay sync)."""
        attempt = 0
        while True:
            try:
                async with self._http.stream(
                    "GET", path, params=params, headers=resume.headers(), timeout=None
                ) as response:
                    if resume.complete_already(response):
                        break
                    if response.status_code >= 400:
                        await response.aread()
                        wait = self.retry.after(attempt, response)
                        if wait is None:
                            raise error_of(response)
                    else:
                        with resume.partial.open(resume.open_mode(response)) as out:
                            async for chunk in response.aiter_bytes():
                                out.write(chunk)
                                resume.have += len(chunk)
                                attempt = 0
                                if progress:
                                    progress(resume.have, resume.total)
                        break
            except httpx.TransportError as exc:
                wait = self.retry.delay(attempt) if dropped(exc) else None
                if wait is None:
                    raise
            await asyncio.sleep(wait)
            attempt += 1
        resume.finish()

    async def read_bytes(self, artifact_id: str) -> bytes:
        return (await self._send("GET", f"/v1/artifacts/{artifact_id}/download")).content

    async def read_table(self, artifact_id: str) -> Any:
        meta = await self.artifact(artifact_id)
        return read_table_bytes(meta["name"], await self.read_bytes(artifact_id))
