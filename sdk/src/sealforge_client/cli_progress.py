"""Progress on stderr for the CLI: a job's bar from its event stream, and byte counts for transfers.

Why a module of its own: every wait in the CLI (`jobs watch`, `--wait`, a dataset profile, an upload
or a download) must show that something is happening, and the same two renderers serve all of them.
On a terminal the line is redrawn in place; in a log (stderr not a terminal) a full line is written
whenever the stage changes and at least every `LOG_EVERY_S` seconds, so a long job is never silent.
"""

from __future__ import annotations

import sys
import time
from typing import IO, Any

LOG_EVERY_S = 10.0
BAR_WIDTH = 24


def _clock(seconds: float) -> str:
    seconds = max(0, int(seconds))
    hours, rest = divmod(seconds, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"


def _size(n: float) -> str:
    for unit in ("B", "KiB", "MiB", "GiB"):
        if n < 1024 or unit == "GiB":
            return f"{n:.0f} {unit}" if unit == "B" else f"{n:.1f} {unit}"
        n /= 1024
    return f"{n:.1f} GiB"


class _Line:
    """One status line on ``stream``: redrawn in place on a terminal, logged now and then elsewhere."""

    def __init__(self, stream: IO[str] | None = None, enabled: bool = True) -> None:
        self.stream = stream or sys.stderr
        self.enabled = enabled
        self.tty = bool(getattr(self.stream, "isatty", lambda: False)())
        self._last_text = ""
        self._last_key = ""
        self._last_at = 0.0
        self._width = 0

    def show(self, text: str, key: str, force: bool = False) -> None:
        """Show ``text``; off a terminal only when ``key`` (the stage) changed, ``force``, or time passed."""
        if not self.enabled:
            return
        now = time.monotonic()
        if self.tty:
            pad = max(0, self._width - len(text))
            self.stream.write("\r" + text + " " * pad)
            self._width = len(text)
        elif force or key != self._last_key or now - self._last_at >= LOG_EVERY_S:
            self.stream.write(text + "\n")
            self._last_at = now
        else:
            self._last_text = text
            return
        self._last_key, self._last_text = key, text
        self.stream.flush()

    def done(self, text: str = "") -> None:
        if not self.enabled:
            return
        if self.tty:
            self.stream.write("\r" + (text or self._last_text).ljust(self._width) + "\n")
        elif text:
            self.stream.write(text + "\n")
        self.stream.flush()


class JobProgress:
    """The bar for one job, fed with its events (dicts as `Client.events` yields) and heartbeats.

    Shows status, fraction, the stage message the kind reports, rows and an ETA: the rate between
    the first and the latest progress event, counted down from the latest one. (A rate measured up
    to *now* would climb while a kind that reports rarely is quiet: 5 % then silence read as hours.)
    Once the countdown passes zero the line shows the elapsed time instead."""

    def __init__(self, job_id: str, stream: IO[str] | None = None, enabled: bool = True) -> None:
        self.job_id = job_id
        self.line = _Line(stream, enabled)
        self.status = "queued"
        self.fraction = 0.0
        self.rows: int | None = None
        self.message = ""
        self.started = time.monotonic()
        self._first: tuple[float, float] | None = None  # (time, fraction) at the first progress event
        self._latest: tuple[float, float] | None = None  # (time, fraction) at the latest one

    def event(self, event: dict[str, Any]) -> None:
        data = event.get("data") or {}
        if event.get("event") == "status":
            self.status = str(data.get("status", self.status))
            if data.get("reason"):
                self.message = str(data["reason"])
        elif event.get("event") == "progress":
            self.status = "running"
            self.fraction = float(data.get("progress") or 0.0)
            self.rows = data.get("rows")
            self.message = str(data.get("message") or self.message)
            now = time.monotonic()
            if self._first is None:
                self._first = (now, self.fraction)
            self._latest = (now, self.fraction)
        elif event.get("event") == "log" and data.get("message"):
            self.message = str(data["message"])
        self.render(force=event.get("event") == "status")

    def heartbeat(self) -> None:
        """Nothing new from the server: redraw (the elapsed time moves) so the wait is visible."""
        self.render()

    def eta(self) -> float | None:
        if self._first is None or self._latest is None or self.fraction >= 1.0:
            return None
        (t0, f0), (t1, f1) = self._first, self._latest
        span, gained = t1 - t0, f1 - f0
        if gained <= 0 or span < 0.5:
            return None
        left = span / gained * (1.0 - f1) - (time.monotonic() - t1)
        return left if left > 0 else None

    def text(self) -> str:
        filled = int(BAR_WIDTH * min(1.0, max(0.0, self.fraction)))
        bar = "#" * filled + "-" * (BAR_WIDTH - filled)
        parts = [f"{self.job_id} [{bar}] {self.fraction * 100:5.1f}% {self.status}"]
        if self.message:
            parts.append(self.message[:60])
        if self.rows is not None:
            parts.append(f"{self.rows:,} rows")
        eta = self.eta()
        parts.append(f"ETA {_clock(eta)}" if eta is not None else f"{_clock(time.monotonic() - self.started)} elapsed")
        return "  ".join(parts)

    def render(self, force: bool = False) -> None:
        self.line.show(self.text(), f"{self.status}/{self.message}", force)

    def done(self) -> None:
        self.line.done(self.text())


class ByteProgress:
    """Bytes moved of a known (or unknown) total, with rate and ETA: uploads and downloads."""

    def __init__(self, label: str, total: int | None, start: int = 0, stream: IO[str] | None = None,
                 enabled: bool = True) -> None:
        self.label = label
        self.total = total
        self.done_bytes = start
        self.start_bytes = start
        self.started = time.monotonic()
        self.line = _Line(stream, enabled)

    def add(self, n: int) -> None:
        self.done_bytes += n
        self.line.show(self.text(), self.label)

    def text(self) -> str:
        elapsed = max(time.monotonic() - self.started, 1e-6)
        rate = (self.done_bytes - self.start_bytes) / elapsed
        text = f"{self.label}: {_size(self.done_bytes)}"
        if self.total:
            text += f" of {_size(self.total)} ({self.done_bytes / self.total * 100:.0f}%)"
        text += f"  {_size(rate)}/s"
        if self.total and rate > 0 and self.done_bytes < self.total:
            text += f"  ETA {_clock((self.total - self.done_bytes) / rate)}"
        return text

    def finish(self) -> None:
        self.line.done(self.text())


class ReadProgress:
    """A binary file that reports every read to a `ByteProgress`: what `Client.upload` streams.

    Delegates ``tell``/``seek`` so the client can still send a Content-Length."""

    def __init__(self, fh: IO[bytes], progress: ByteProgress) -> None:
        self._fh = fh
        self.progress = progress

    def read(self, size: int = -1) -> bytes:
        chunk = self._fh.read(size)
        if chunk:
            self.progress.add(len(chunk))
        return chunk

    def tell(self) -> int:
        return self._fh.tell()

    def seek(self, offset: int, whence: int = 0) -> int:
        return self._fh.seek(offset, whence)
