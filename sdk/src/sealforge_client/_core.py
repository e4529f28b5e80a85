"""What the sync and async clients share, free of I/O: retry decisions, request bodies, SSE parsing,
and the bookkeeping of a resumable download.

Both `Client` and `AsyncClient` run the same decisions from here, so the two cannot drift: only
the sending and the sleeping differ between them.
"""

from __future__ import annotations

import email.utils
import json
import time
import urllib.parse
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from sealforge_client.errors import SealforgeError

TERMINAL = frozenset({"succeeded", "failed", "canceled"})
CHUNK = 1 << 20
USER_AGENT = "sealforge-client/0.2"
# An Idempotency-Key whose first request is still running answers 409 with this code: the answer
# will exist shortly, so it is retried like a 503.
IN_PROGRESS = "IDEMPOTENCY_IN_PROGRESS"


@dataclass(frozen=True)
class RetryPolicy:
    """When and how long to wait before sending a call again.

    A call is sent again on a 429, on a 5xx other than 501, on a 409 ``IDEMPOTENCY_IN_PROGRESS``,
    and when the connection fails, at most ``max_retries`` times. The wait is the server's
    ``Retry-After`` when it gives one (up to ``max_retry_after_s``; a longer one is returned to
    the caller as the error it is), else ``backoff_s`` doubled per attempt up to ``max_backoff_s``.
    POSTs carry one Idempotency-Key across all their attempts, so a retried submit never makes a
    second job.
    """

    max_retries: int = 4
    backoff_s: float = 0.5
    max_backoff_s: float = 8.0
    max_retry_after_s: float = 120.0

    def delay(self, attempt: int, retry_after: str | None = None) -> float | None:
        """Seconds to wait before attempt ``attempt + 1`` (0-based); None: do not retry."""
        if attempt >= self.max_retries:
            return None
        if retry_after:
            seconds = parse_retry_after(retry_after)
            if seconds is not None:
                return seconds if seconds <= self.max_retry_after_s else None
        return min(self.backoff_s * (2**attempt), self.max_backoff_s)

    def after(self, attempt: int, response: httpx.Response) -> float | None:
        """Seconds to wait before sending the call again after ``response``; None: it is final."""
        return self.delay(attempt, response.headers.get("Retry-After")) if retryable(response) else None


NO_RETRY = RetryPolicy(max_retries=0)


def parse_retry_after(value: str) -> float | None:
    """``Retry-After`` as seconds from now: a number of seconds, or an HTTP date."""
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(0.0, when.timestamp() - time.time())


def retryable(response: httpx.Response) -> bool:
    """Whether an answer is a passing condition worth sending the same call again for."""
    status = response.status_code
    if status == 429 or (status >= 500 and status != 501):
        return True
    if status == 409:
        try:
            body = response.json()
        except ValueError:
            return False
        error = body.get("error") if isinstance(body, dict) else None
        return isinstance(error, dict) and error.get("code") == IN_PROGRESS
    return False


def dropped(exc: httpx.TransportError) -> bool:
    """A connection that broke after it was made (reset, closed mid-answer): worth sending again.

    A connection that could not be made (refused, unresolvable, a certificate or pin refused) is
    not retried, so an unreachable appliance is reported at once; nor is a timeout, which already
    waited as long as the caller allowed."""
    return isinstance(exc, httpx.ReadError | httpx.WriteError | httpx.CloseError | httpx.RemoteProtocolError)


def with_idempotency(method: str, headers: dict[str, str] | None) -> dict[str, str]:
    """The call's headers; a POST gets a fresh Idempotency-Key unless it has one (either spelling)."""
    out = dict(headers or {})
    if method.upper() == "POST" and not any(k.lower() in ("idempotency-key", "x-idempotency-key") for k in out):
        out["Idempotency-Key"] = uuid.uuid4().hex
    return out


def error_of(response: httpx.Response) -> SealforgeError:
    """The error answer as an exception (the response must have been read)."""
    try:
        body = response.json()
    except ValueError:
        body = None
    return SealforgeError.from_response(response.status_code, body, response.text)


def auth_headers(api_key: str | None, token: str | None) -> dict[str, str]:
    headers = {"User-Agent": USER_AGENT}
    if api_key:
        headers["X-API-Key"] = api_key
    elif token:
        headers["Authorization"] = f"Bearer {token}"
    return headers


def submit_body(
    kind: str | None,
    params: dict[str, Any] | None,
    seed: int | None,
    inputs: list[str] | None,
    description: str,
    rows: int | None,
    queue: str | None,
) -> dict[str, Any]:
    """The POST /v1/jobs body. ``kind`` may be left out where the appliance infers it (a
    description with ``rows`` is a mock job on an appliance that takes the published form)."""
    body: dict[str, Any] = {"params": params or {}, "inputs": inputs or [], "description": description}
    for name, value in (("kind", kind), ("seed", seed), ("rows", rows), ("queue", queue)):
        if value is not None:
            body[name] = value
    return body


def synthesize_params(
    model_id: str | None,
    rows: int,
    conditions: dict[str, Any] | None,
    class_column: str | None,
    class_proportions: dict[str, float] | None,
    extra: dict[str, Any],
) -> dict[str, Any]:
    """The ``synthesize`` kind's params: from a model (``model_id``) or trained on the input first
    (``synthesizer`` and the like in ``extra``); by class with ``conditions`` on the class column
    (one class) or ``class_proportions`` (a share per class; the real proportions by default)."""
    params: dict[str, Any] = {"rows": rows, **extra}
    for name, value in (("model_id", model_id), ("conditions", conditions), ("class_column", class_column),
                        ("class_proportions", class_proportions)):
        if value is not None:
            params[name] = value
    return params


def evidence_target(dest: str | Path, job_id: str) -> Path:
    """Where a bundle goes: ``dest`` itself, or ``<job>.evidence.tar`` inside a folder."""
    target = Path(dest)
    return target / f"{job_id}.evidence.tar" if target.is_dir() else target


def evidence_params(include_artifacts: bool, witnessed: bool) -> dict[str, str]:
    """GET /v1/evidence's query; ``witnessed`` only when asked, so older appliances see the same call."""
    params = {"include_artifacts": str(include_artifacts).lower()}
    if witnessed:
        params["witnessed"] = "true"
    return params


def witness_path(key_id: str) -> str:
    """DELETE path of a witness: its ``name+keyid`` kept readable (``/`` and ``+`` as they are),
    anything a URL would misread (``?``, ``#``, ``%``) escaped."""
    return "/v1/seals/witnesses/" + urllib.parse.quote(key_id, safe="/+")


def user_path(user_id: str) -> str:
    """Path of one user of the tenant, its id escaped (an id is never more than letters and `_`)."""
    return "/v1/users/" + urllib.parse.quote(user_id, safe="")


def cosignature_body(note: str | None, tree_size: int | None, lines: list[str] | None) -> dict[str, Any]:
    """POST /v1/seals/cosignatures: the whole cosigned ``note``, or ``tree_size`` and its ``lines``."""
    if note is not None and tree_size is None and not lines:
        return {"note": note}
    if note is None and tree_size is not None and lines:
        return {"tree_size": tree_size, "cosignatures": lines}
    raise ValueError("give either the cosigned note, or a tree size and its cosignature lines")


class SseParser:
    """Server-sent events, one line at a time; `feed` returns an event when a blank line ends one."""

    def __init__(self) -> None:
        self._fields: dict[str, str] = {}

    def feed(self, line: str) -> dict[str, Any] | None:
        if line == "":
            fields, self._fields = self._fields, {}
            if fields.get("event") and fields["event"] != "end":
                return {
                    "id": int(fields.get("id", "0")),
                    "event": fields["event"],
                    "data": json.loads(fields.get("data", "{}")),
                }
            return None
        if not line.startswith(":") and ": " in line:
            key, value = line.split(": ", 1)
            self._fields[key] = value
        return None


@dataclass
class Resume:
    """A download into ``<target>.partial`` that continues where it stopped.

    After a cut connection the next request asks for ``Range: bytes=<have>-`` with ``If-Range``
    set to the ETag, so the server sends only the rest, and only if the content is still the same
    (else a full 200, which starts the file over). A ``.partial`` left by an earlier, interrupted
    call is continued too when the caller knows the content's ETag (an artifact's BLAKE3): a
    stale one then gets the full content instead of a wrong tail.
    """

    target: Path
    etag: str | None = None
    have: int = 0
    total: int | None = None

    def __post_init__(self) -> None:
        if self.etag and self.partial.exists():
            self.have = self.partial.stat().st_size
        else:
            self.partial.unlink(missing_ok=True)

    @property
    def partial(self) -> Path:
        return self.target.with_name(self.target.name + ".partial")

    def headers(self) -> dict[str, str]:
        """The next request's headers (identity encoding, so byte offsets are the file's)."""
        headers = {"Accept-Encoding": "identity"}
        if self.have:
            headers["Range"] = f"bytes={self.have}-"
            if self.etag:
                headers["If-Range"] = f'"{self.etag}"'
        return headers

    def complete_already(self, response: httpx.Response) -> bool:
        """A 416 to a Range from the very end: the partial file already holds everything."""
        if response.status_code != 416 or not self.have:
            return False
        total = response.headers.get("Content-Range", "").rpartition("/")[2]
        return total.isdigit() and int(total) == self.have

    def open_mode(self, response: httpx.Response) -> str:
        """``ab`` to append a 206 that starts where the file ends; ``wb`` to start over on a 200."""
        if response.status_code == 206:
            unit_range, _, total = response.headers.get("Content-Range", "").partition("/")
            start = unit_range.removeprefix("bytes ").partition("-")[0]
            if start.isdigit() and int(start) == self.have:
                self.total = int(total) if total.isdigit() else None
                return "ab"
            self.have = 0  # not the part asked for: the next attempt fetches the whole content
            raise httpx.RemoteProtocolError(f"asked for bytes {self.have}- and got {unit_range!r}")
        self.have = 0
        length = response.headers.get("Content-Length", "")
        self.total = int(length) if length.isdigit() else None
        if not self.etag:  # learnt from the first answer, so a resume after a cut can use If-Range
            self.etag = response.headers.get("ETag", "").removeprefix("W/").strip('"') or None
        return "wb"

    def finish(self) -> None:
        """Check the length against what the server announced, then move the file into place."""
        if self.total is not None and self.have != self.total:
            raise httpx.RemoteProtocolError(f"got {self.have} bytes of {self.total}")
        self.partial.replace(self.target)
