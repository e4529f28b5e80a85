"""Remove filesystem paths and stack traces from text a client will read.

Library exceptions (pyarrow, sqlite3, OSError, SDV…) name the files they failed on, and those
live under the state dir: ``/var/lib/sealforge/blobs/bb/…``. Copied into an error message, they
tell a caller how the box is laid out. The API's error handler and the job runner pass every
message through ``scrub`` so no answer carries an absolute path, a ``File "…"`` frame or a
traceback. API routes (``/v1/…``, ``/metrics``…) are not filesystem paths and are kept, so hints
that point at a route still read well.
"""

from __future__ import annotations

import re

PLACEHOLDER = "<path>"
_TRACEBACK = re.compile(r"Traceback \(most recent call last\):.*", re.DOTALL)
_FRAME = re.compile(r'File "[^"\n]*"(?:, line \d+)?(?:, in [^\s,]+)?')
_PATH = re.compile(r"(?<![\w/.~}>-])(?<!::)/[^\s'\"`,;()\[\]{}<>|]+")  # not after `::`: an IPv6 prefix such as fc00::/7
_ROUTE = re.compile(r"/(?:v1|healthz|livez|metrics|openapi\.json|docs|redoc)(?:/.*)?")


def scrub(text: str) -> str:
    """``text`` with tracebacks cut, ``File "…"`` frames and absolute paths replaced by ``<path>``."""
    if "/" not in text and "Traceback" not in text and 'File "' not in text:
        return text
    out = _TRACEBACK.sub("", text)
    out = _FRAME.sub(PLACEHOLDER, out)
    return _PATH.sub(_keep_routes, out).rstrip()


def _keep_routes(match: re.Match[str]) -> str:
    found = match.group(0)
    return found if _ROUTE.fullmatch(found.rstrip(".:")) and ".." not in found else PLACEHOLDER
