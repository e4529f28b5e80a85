"""`CliClient`: the few calls the CLI needs beyond `Client`'s, built on its session.

Why here and not in `Client`: they are about a person at a terminal (heartbeat ticks to keep a
progress bar alive, a profile that is waited for, listings cut at `--limit`). They use only
`Client`'s session (`_http`, `_send`), so the library can absorb them later without the CLI
changing its behaviour. Downloads are the library's (`Client.download` resumes with Range).
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from typing import Any

from sealforge_client.client import TERMINAL, Client
from sealforge_client.errors import SealforgeError


class CliClient(Client):
    """`Client` plus event ticks, dataset preview/profile, paged listings and the trust file."""

    def get(self, path: str, **params: Any) -> Any:
        """GET ``path`` with the query ``params`` that are not None; the JSON answer."""
        query = {k: v for k, v in params.items() if v is not None}
        return self._json("GET", path, params=query)

    def page(self, path: str, limit: int, **params: Any) -> list[dict[str, Any]]:
        """Up to ``limit`` items of a paged listing, following `next_after`."""
        items: list[dict[str, Any]] = []
        after = ""
        while len(items) < limit:
            body = self.get(path, limit=min(200, limit - len(items)), after=after, **params)
            items.extend(body["data"])
            if not body.get("has_more"):
                break
            after = body["next_after"]
        return items

    # -- jobs ------------------------------------------------------------------------------------
    def ticks(self, job_id: str, after: int = 0) -> Iterator[dict[str, Any] | None]:
        """The job's events, and None for every heartbeat comment (the server sends one every few
        seconds while nothing happens), so a caller can redraw while it waits. Reconnects with
        Last-Event-ID when a stream ends before the job does."""
        while True:
            headers = {"Last-Event-ID": str(after), "Accept": "text/event-stream"}
            ended = False
            with self._http.stream("GET", f"/v1/jobs/{job_id}/events", headers=headers, timeout=None) as response:
                if response.status_code >= 400:
                    response.read()
                    json_answer = response.headers.get("content-type", "").startswith("application/json")
                    body = response.json() if json_answer else None
                    raise SealforgeError.from_response(response.status_code, body, response.text)
                fields: dict[str, str] = {}
                for line in response.iter_lines():
                    if line.startswith(":"):
                        yield None
                    elif line == "":
                        if fields.get("event") == "end":
                            ended = True
                        elif fields.get("event"):
                            after = int(fields.get("id", after))
                            yield {"id": after, "event": fields["event"], "data": json.loads(fields.get("data", "{}"))}
                        fields = {}
                    elif ": " in line:
                        key, value = line.split(": ", 1)
                        fields[key] = value
            if ended or self.job(job_id)["status"] in TERMINAL:
                return

    # -- datasets --------------------------------------------------------------------------------
    def dataset_preview(self, dataset_id: str, rows: int) -> dict[str, Any]:
        return dict(self.get(f"/v1/datasets/{dataset_id}/preview", rows=rows))

    def profile(
        self, dataset_id: str, wait: bool, on_pending: Callable[[dict[str, Any], float], None] | None = None,
        timeout: float = 3600.0,
    ) -> tuple[int, dict[str, Any]]:
        """(200, profile), or (202, the analyze job) when not waiting. Waiting follows the API's
        contract: call the 202's `Location` again after its `Retry-After` seconds."""
        path = f"/v1/datasets/{dataset_id}/profile"
        deadline = time.monotonic() + timeout
        while True:
            response = self._send("GET", path)
            body = response.json()
            if response.status_code != 202:
                return response.status_code, body
            if body.get("status") in ("failed", "canceled"):
                error = body.get("error") or {}
                raise SealforgeError(409, str(error.get("code") or "PROFILE_FAILED"),
                                     f"the analyze job {body['id']} {body['status']}: {error.get('message', '')}")
            if not wait:
                return 202, body
            delay = float(response.headers.get("Retry-After", "2"))
            if time.monotonic() + delay > deadline:
                raise TimeoutError(f"no profile for {dataset_id} after {timeout:.0f} s (job {body['id']})")
            if on_pending is not None:
                on_pending(body, delay)
            time.sleep(delay)
            path = response.headers.get("Location", path)

    # -- seals and evidence ----------------------------------------------------------------------
    def trust_file(self) -> str:
        return str(self.get("/v1/keys/signing")["trust_file"])
