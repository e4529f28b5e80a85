"""The appliance's error envelope as a Python exception."""

from __future__ import annotations

from typing import Any


class SealforgeError(Exception):
    """An error answer: code (e.g. VALIDATION_FAILED), HTTP status, message, hint, field details."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        hint: str = "",
        correlation_id: str = "",
        details: list[dict[str, str]] | None = None,
    ) -> None:
        super().__init__(f"{status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.hint = hint
        self.correlation_id = correlation_id
        self.details = details or []

    @classmethod
    def from_response(cls, status: int, body: Any, text: str) -> SealforgeError:
        error = body.get("error") if isinstance(body, dict) else None
        if not isinstance(error, dict):
            return cls(status, "HTTP_ERROR", text[:200] or f"HTTP {status}")
        return cls(
            status,
            str(error.get("code", "HTTP_ERROR")),
            str(error.get("message", "")),
            str(error.get("hint", "")),
            str(error.get("correlation_id", "")),
            list(error.get("details") or []),
        )
