"""`Client`: the REST API as methods. Every call raises `SealforgeError` for an error answer.

Calls are sent again on a 429, a 5xx or a dropped connection (see `RetryPolicy`), POSTs with one
Idempotency-Key across their attempts; downloads continue where a cut connection stopped them.
`AsyncClient` (sealforge_client.aio) is the same client for asyncio.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import IO, Any

import httpx

from sealforge_client._core import (
    CHUNK,
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


class Client:
    """A session with one appliance. Give an API key (`sl_live_…`) or a bearer token.

    For an https:// appliance whose certificate no system CA vouches for, give ``ca_file`` (a PEM
    file to trust, e.g. the appliance's own certificate) or ``pin_sha256`` (its SHA-256
    fingerprint, as `sealforge admin bootstrap` prints it; checked before anything is sent).
    ``retry`` says how transient failures are retried (`RetryPolicy`; `NO_RETRY` for none).
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
        retry: RetryPolicy | None = None,
    ) -> None:
        verify = verify_setting(base_url, ca_file, pin_sha256)
        self.retry = retry or RetryPolicy()
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            headers=auth_headers(api_key, token),
            timeout=timeout,
            transport=transport,
            verify=verify,
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    # -- plumbing ------------------------------------------------------------------------------------
    def _send(
        self,
        method: str,
        path: str,
        *,
        body: Callable[[], Any] | None = None,
        headers: dict[str, str] | None = None,
        **kwargs: Any,
    ) -> httpx.Response:
        """One call, sent again while `RetryPolicy` says so; ``body`` makes a fresh upload body per attempt."""
        headers = with_idempotency(method, headers)
        attempt = 0
        while True:
            if body is not None:
                kwargs["content"] = body()
            try:
                response = self._http.request(method, path, headers=headers, **kwargs)
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
            time.sleep(wait)
            attempt += 1

    def _json(self, method: str, path: str, **kwargs: Any) -> Any:
        response = self._send(method, path, **kwargs)
        return response.json() if response.content else None

    def _pages(self, path: str, params: dict[str, Any], limit: int | None = None) -> Iterator[dict[str, Any]]:
        """Every item of a listing (or the first ``limit``), page by page."""
        after, left = "", limit
        while left is None or left > 0:
            size = 200 if left is None else min(left, 200)
            page = self._json("GET", path, params={**params, "limit": size, "after": after})
            items = page["data"]
            yield from items
            left = None if left is None else left - len(items)
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
        """Submit a job; retried safely with one Idempotency-Key (a fresh one unless given)."""
        body = submit_body(kind, params, seed, inputs, description, rows, queue)
        headers = {"Idempotency-Key": idempotency_key} if idempotency_key else None
        return dict(self._json("POST", "/v1/jobs", json=body, headers=headers))

    def synthesize(
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
        return self.submit("synthesize", body, seed=seed, inputs=inputs)

    def job(self, job_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/v1/jobs/{job_id}"))

    def jobs(
        self, status: str | None = None, kind: str | None = None, limit: int | None = None, order: str = "desc"
    ) -> Iterator[dict[str, Any]]:
        """The tenant's jobs, newest first (``order="asc"``: oldest first); at most ``limit``."""
        params = {k: v for k, v in (("status", status), ("kind", kind), ("order", order)) if v}
        return self._pages("/v1/jobs", params, limit)

    def cancel(self, job_id: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/v1/jobs/{job_id}/cancel"))

    def rerun(self, job_id: str) -> dict[str, Any]:
        return dict(self._json("POST", f"/v1/jobs/{job_id}/rerun"))

    def wait(
        self, job_id: str, timeout: float | None = 3600.0, poll: float = 0.2, max_poll: float = 2.0
    ) -> dict[str, Any]:
        """Block until the job ends; returns it. Raises TimeoutError after ``timeout`` seconds (None: never).

        Polls every ``poll`` seconds, growing to ``max_poll``."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            job = self.job(job_id)
            if job["status"] in TERMINAL:
                return job
            left = None if deadline is None else deadline - time.monotonic()
            if left is not None and left <= 0:
                raise TimeoutError(f"{job_id} is still {job['status']} after {timeout} s")
            time.sleep(poll if left is None else min(poll, left))
            poll = min(poll * 1.5, max_poll)

    def events(self, job_id: str, after: int = 0) -> Iterator[dict[str, Any]]:
        """The job's events (server-sent), replayed after ``after`` and followed until the job ends."""
        headers = {"Last-Event-ID": str(after), "Accept": "text/event-stream"}
        with self._http.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=None) as response:
            if response.status_code >= 400:
                response.read()
                raise error_of(response)
            parser = SseParser()
            for line in response.iter_lines():
                if (event := parser.feed(line)) is not None:
                    yield event

    # -- datasets and artifacts ----------------------------------------------------------------------
    def upload(self, source: str | Path | IO[bytes], name: str | None = None, fmt: str | None = None) -> dict[str, Any]:
        """Upload a file (streamed) as a dataset. A seekable source is sent again from its start on a retry."""
        params = {k: v for k, v in (("name", name), ("format", fmt)) if v}
        if isinstance(source, str | Path):
            path = Path(source)
            params.setdefault("name", path.name)
            with path.open("rb") as fh:
                return self._upload(params, fh)
        return self._upload(params, source)

    def _upload(self, params: dict[str, str], fh: IO[bytes]) -> dict[str, Any]:
        headers = {"Content-Type": "application/octet-stream"}
        start: int | None = None
        try:  # a known length lets any WSGI server read the streamed body, chunked or not
            here = fh.tell()
            headers["Content-Length"] = str(fh.seek(0, 2) - here)
            fh.seek(here)
            start = here
        except (OSError, ValueError):
            pass

        def chunks() -> Iterator[bytes]:
            if start is not None:
                fh.seek(start)
            while chunk := fh.read(CHUNK):
                yield chunk

        retry_body = chunks if start is not None else None
        if retry_body is None:  # a pipe can be read once: no second attempt
            return dict(self._json("POST", "/v1/datasets", params=params, content=chunks(), headers=headers))
        return dict(self._json("POST", "/v1/datasets", params=params, body=retry_body, headers=headers))

    def datasets(self) -> Iterator[dict[str, Any]]:
        return self._pages("/v1/datasets", {})

    def preview(self, schema: dict[str, Any], rows: int = 20, seed: int = 0) -> dict[str, list[dict[str, Any]]]:
        return dict(self._json("POST", "/v1/preview", json={"schema": schema, "rows": rows, "seed": seed})["tables"])

    def artifacts(self, job_id: str) -> list[dict[str, Any]]:
        return list(self._pages("/v1/artifacts", {"job_id": job_id}))

    def artifact(self, artifact_id: str) -> dict[str, Any]:
        return dict(self._json("GET", f"/v1/artifacts/{artifact_id}"))

    def download(self, artifact_id: str, dest: str | Path, progress: Progress | None = None) -> Path:
        """Stream an artifact to ``dest`` (a file or a folder), resuming after a cut connection.

        ``progress(bytes_so_far, total_or_None)`` is called after every chunk."""
        meta = self.artifact(artifact_id)
        target = Path(dest)
        if target.is_dir():
            target = target / meta["name"]
        self._stream_to(f"/v1/artifacts/{artifact_id}/download", Resume(target, meta.get("blake3")), {}, progress)
        return target

    def evidence(
        self, job_id: str, dest: str | Path, include_artifacts: bool = False, witnessed: bool = False
    ) -> Path:
        """Download a succeeded job's evidence bundle (.tar) for `sealforge-verify`. ``witnessed``
        proves the seal against the newest checkpoint witnesses cosigned (409 while there is none)."""
        target = evidence_target(dest, job_id)
        self._stream_to(f"/v1/evidence/{job_id}", Resume(target), evidence_params(include_artifacts, witnessed), None)
        return target

    # -- users of the tenant (`admin`) ---------------------------------------------------------------
    def users(self) -> Iterator[dict[str, Any]]:
        """The tenant's users, oldest first (never a password)."""
        return self._pages("/v1/users", {})

    def create_user(self, email: str, password: str, scopes: list[str] | None = None) -> dict[str, Any]:
        """A user who logs in to the web UI; ``scopes`` from `read`, `generate`, `admin` (default `read`)."""
        body = {"email": email, "password": password, "scopes": scopes or ["read"]}
        return dict(self._json("POST", "/v1/users", json=body))

    def disable_user(self, user_id: str) -> dict[str, Any]:
        """The user cannot log in, and its web UI sessions and refresh tokens end now."""
        return dict(self._json("POST", f"{user_path(user_id)}/disable"))

    def enable_user(self, user_id: str) -> dict[str, Any]:
        return dict(self._json("POST", f"{user_path(user_id)}/enable"))

    def set_user_password(self, user_id: str, password: str) -> dict[str, Any]:
        """A new password; the user's sessions and refresh tokens end now."""
        return dict(self._json("POST", f"{user_path(user_id)}/password", json={"password": password}))

    # -- witnesses of the seal log -------------------------------------------------------------------
    def witnesses(self) -> list[dict[str, Any]]:
        """The witnesses whose cosignatures the appliance accepts and serves."""
        return list(self._json("GET", "/v1/seals/witnesses")["data"])

    def add_witness(self, verifier_key: str, description: str = "") -> dict[str, Any]:
        """Register a witness's vkey (`sealforge-verify witness keygen`); needs `operator`."""
        body = {"verifier_key": verifier_key.strip(), "description": description}
        return dict(self._json("POST", "/v1/seals/witnesses", json=body))

    def remove_witness(self, key_id: str) -> dict[str, Any]:
        """Remove a witness by its ``name+keyid``; its stored cosignatures go too. Needs `operator`."""
        return dict(self._json("DELETE", witness_path(key_id)))

    def send_cosignatures(
        self, note: str | None = None, *, tree_size: int | None = None, lines: list[str] | None = None
    ) -> dict[str, Any]:
        """Hand the appliance a checkpoint its witnesses cosigned: the whole ``note`` that
        `witness cosign` printed, or ``tree_size`` with the lines of `witness cosign --line-only`."""
        return dict(self._json("POST", "/v1/seals/cosignatures", json=cosignature_body(note, tree_size, lines)))

    def _stream_to(self, path: str, resume: Resume, params: dict[str, str], progress: Progress | None) -> None:
        """GET into ``resume``'s partial file; on a cut connection or a transient answer, wait and
        ask for the rest. Attempts that brought bytes do not count against the retry budget."""
        attempt = 0
        while True:
            try:
                with self._http.stream("GET", path, params=params, headers=resume.headers(), timeout=None) as response:
                    if resume.complete_already(response):
                        break
                    if response.status_code >= 400:
                        response.read()
                        wait = self.retry.after(attempt, response)
                        if wait is None:
                            raise error_of(response)
                    else:
                        with resume.partial.open(resume.open_mode(response)) as out:
                            for chunk in response.iter_bytes():
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
            time.sleep(wait)
            attempt += 1
        resume.finish()

    def read_bytes(self, artifact_id: str) -> bytes:
        """An artifact's content in memory (for small artifacts; `download` streams to disk)."""
        return self._send("GET", f"/v1/artifacts/{artifact_id}/download").content

    def read_table(self, artifact_id: str) -> Any:
        """An artifact (Parquet, CSV or JSON Lines) as a pandas DataFrame (needs the dataframe extra)."""
        meta = self.artifact(artifact_id)
        return read_table_bytes(meta["name"], self.read_bytes(artifact_id))
