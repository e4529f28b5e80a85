"""Atomic file writes for the verifier: a reader sees the old file or the whole new one.

The verifier imports nothing from the rest of the repository, so it keeps this one helper of its
own (the appliance's is ``appliance/fsutil.py``); bundles and signer keys are both written with it.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import BinaryIO

__all__ = ["atomic_open"]


@contextmanager
def atomic_open(path: str | os.PathLike[str], mode: int = 0o666) -> Iterator[BinaryIO]:
    """A binary file to write that appears under ``path`` only once the block ends without error.

    It is a temp file beside ``path`` created with ``mode`` (less the umask), fsynced and renamed
    over ``path`` at the end; on an error it is removed and ``path`` is left as it was.
    """
    target = Path(path)
    tmp = target.with_name(f".{target.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        with os.fdopen(fd, "wb") as fh:
            yield fh
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, target)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
