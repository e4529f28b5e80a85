"""What every ``sealforge-verify`` command shares: exit statuses, the one-line usage error and the
bounded read of a side file (trust file, checkpoint, proof, key).

Why a module of its own: ``cli`` (bundles) and ``witness_cli`` (the witness) both raise the same
:class:`UsageError`, and ``python -m sealforge_verify.cli`` runs ``cli`` as ``__main__``: were the
class defined there, the witness's errors would be another class and escape the handler.
"""

from __future__ import annotations

import argparse
from typing import NoReturn

__all__ = ["EXIT_FAIL", "EXIT_OK", "EXIT_USAGE", "MAX_SIDE_FILE", "PROG", "Parser", "UsageError", "read_side_file"]

PROG = "sealforge-verify"
EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2
MAX_SIDE_FILE = 1024 * 1024


class UsageError(Exception):
    """Bad invocation: reported on one line, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are :class:`UsageError` (one line, exit 2), not argparse's."""

    def error(self, message: str) -> NoReturn:
        raise UsageError(f"{message} (see {self.prog} --help)")


def read_side_file(path: str, what: str) -> bytes:
    """The bytes of a small input file; unreadable or over :data:`MAX_SIDE_FILE` is a UsageError."""
    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_SIDE_FILE + 1)
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_SIDE_FILE:
        raise UsageError(f"{what} {path} is larger than {MAX_SIDE_FILE} bytes")
    return data
